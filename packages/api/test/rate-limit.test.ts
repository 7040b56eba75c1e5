/**
 * The rate limiter (GCRA), in memory and in Redis. The window-edge case is the one fixed windows
 * fail: a client that spends one hit, waits until just before the window ends, and then bursts on
 * both sides of the edge, got two full budgets within moments.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from '@parley/test-helpers';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter, type RateWindow } from '../src/rate-limit.js';

const REDIS_URL = process.env.PARLEY_TEST_REDIS_URL || '';
const redis = REDIS_URL ? new Redis(REDIS_URL) : null;
const memory = new MemoryRateLimiter();
afterAll(() => {
  memory.close();
  redis?.disconnect();
});

const limiters: { name: string; make: () => RateLimiter; skip: boolean }[] = [
  { name: 'memory', make: () => memory, skip: false },
  { name: 'Redis', make: () => new RedisRateLimiter(redis!, `test:${randomUUID()}:`), skip: !redis },
];

async function burst(limiter: RateLimiter, key: string, window: RateWindow, n: number) {
  let allowed = 0;
  for (let i = 0; i < n; i++) if ((await limiter.hit(key, window)).retryAfterMs === null) allowed++;
  return allowed;
}

for (const { name, make, skip } of limiters) {
  describe.skipIf(skip)(`rate limiter in ${name}`, () => {
    it('allows a burst of `limit`, then refuses with the wait until one more fits, spending nothing', async () => {
      const limiter = make();
      const key = randomUUID();
      const window = { limit: 5, windowMs: 60_000 };
      expect(await burst(limiter, key, window, 5)).toBe(5);
      const refused = await limiter.hit(key, window);
      expect(refused.count).toBe(6);
      // One more fits after one emission interval (12 s), less the moments the burst took.
      expect(refused.retryAfterMs).toBeGreaterThan(10_000);
      expect(refused.retryAfterMs).toBeLessThanOrEqual(12_000);
      // Refused hits spend nothing: the wait does not grow.
      for (let i = 0; i < 20; i++) await limiter.hit(key, window);
      expect((await limiter.hit(key, window)).retryAfterMs).toBeLessThanOrEqual(12_000);
    });

    it('counts without spending, and forgets on reset', async () => {
      const limiter = make();
      const key = randomUUID();
      const window = { limit: 3, windowMs: 60_000 };
      expect(await limiter.count(key, window)).toEqual({ count: 0, retryAfterMs: 0 });
      await burst(limiter, key, window, 2);
      expect((await limiter.count(key, window)).count).toBe(2);
      expect((await limiter.count(key, window)).retryAfterMs).toBe(0);
      await burst(limiter, key, window, 1);
      const full = await limiter.count(key, window);
      expect(full.count).toBe(3);
      expect(full.retryAfterMs).toBeGreaterThan(0);
      expect(full.retryAfterMs).toBeLessThanOrEqual(20_000);
      await limiter.reset(key);
      expect((await limiter.count(key, window)).count).toBe(0);
    });

    it('lets no double burst through at a window edge', async () => {
      const limiter = make();
      const key = randomUUID();
      const window = { limit: 10, windowMs: 2_000 };
      const interval = window.windowMs / window.limit;
      await limiter.hit(key, window);
      // Just before a fixed window opened by that hit would end, burst; then again just after it.
      await sleep(window.windowMs - 150);
      const started = performance.now();
      const before = await burst(limiter, key, window, window.limit);
      await sleep(300);
      const after = await burst(limiter, key, window, window.limit);
      const elapsed = performance.now() - started;
      // Fixed windows allow 19 here; GCRA allows the budget plus what refilled meanwhile.
      expect(before + after).toBeLessThanOrEqual(window.limit + Math.ceil(elapsed / interval) + 1);
      expect(before + after).toBeLessThan(2 * window.limit - 2);
    });

    it("allows everything under a huge limit (RATE_LIMIT_SCALE), where the interval is below the clock's resolution", async () => {
      const limiter = make();
      const key = randomUUID();
      const window = { limit: 30_000_000, windowMs: 10_000 };
      expect(await burst(limiter, key, window, 50)).toBe(50);
    });

    it('refills steadily: a client that waits as told always gets in', async () => {
      const limiter = make();
      const key = randomUUID();
      const window = { limit: 4, windowMs: 800 };
      await burst(limiter, key, window, 4);
      for (let i = 0; i < 3; i++) {
        const refused = await limiter.hit(key, window);
        expect(refused.retryAfterMs).not.toBeNull();
        await sleep(refused.retryAfterMs! + 5);
        expect((await limiter.hit(key, window)).retryAfterMs).toBeNull();
      }
    });
  });
}
