import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** `limit` hits per `windowMs`, sustained; a burst of at most `limit` after a quiet spell. */
export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  /**
   * Spends one hit on `key` when the budget allows it. `count` is how full the budget is with this
   * hit (above `limit` when refused); `retryAfterMs` is set when refused: the wait until one more fits.
   * A refused hit spends nothing, so a client that waits as told always gets in.
   */
  hit(key: string, window: RateWindow): Promise<{ count: number; retryAfterMs: number | null }>;
  /** How full the budget is now, without spending; `retryAfterMs` is the wait until it is below `limit`. */
  count(key: string, window: RateWindow): Promise<{ count: number; retryAfterMs: number }>;
  reset(key: string): Promise<void>;
}

/*
 * GCRA (the generic cell rate algorithm): each key stores one number, its theoretical arrival time
 * (TAT). Every hit moves it on by the emission interval T = window / limit; a hit fits while TAT
 * stays within one window of now. Unlike fixed windows, no window edge exists where two full
 * bursts can follow each other: over any span of time d, at most limit + d / T hits get in.
 */
const EPSILON = 1e-6;

interface Decision {
  allowed: boolean;
  count: number;
  retryAfterMs: number;
  /** The TAT to store when allowed. */
  tat: number;
}

function decide(storedTat: number | null, now: number, { limit, windowMs }: RateWindow): Decision {
  const interval = windowMs / limit;
  const tat = Math.max(storedTat ?? now, now) + interval;
  const level = tat - now;
  const count = Math.ceil(level / interval - EPSILON);
  if (level > windowMs + EPSILON) return { allowed: false, count, retryAfterMs: Math.ceil(level - windowMs), tat };
  return { allowed: true, count, retryAfterMs: 0, tat };
}

function level(storedTat: number | null, now: number, { limit, windowMs }: RateWindow) {
  const interval = windowMs / limit;
  const left = Math.max(0, (storedTat ?? now) - now);
  const count = Math.max(0, Math.ceil(left / interval - EPSILON));
  // Below `limit` once the TAT is within (limit - 1) intervals of now.
  return { count, retryAfterMs: Math.max(0, Math.ceil(left - (limit - 1) * interval)) };
}

/** GCRA in memory: enough for one instance. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, number>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  async hit(key: string, window: RateWindow) {
    const d = decide(this.tats.get(key) ?? null, Date.now(), window);
    if (d.allowed) this.tats.set(key, d.tat);
    return { count: d.count, retryAfterMs: d.allowed ? null : d.retryAfterMs };
  }

  async count(key: string, window: RateWindow) {
    return level(this.tats.get(key) ?? null, Date.now(), window);
  }

  async reset(key: string) {
    this.tats.delete(key);
  }

  private sweep() {
    const now = Date.now();
    for (const [k, tat] of this.tats) if (tat <= now) this.tats.delete(k);
  }

  close() {
    clearInterval(this.sweeper);
  }
}

/**
 * GCRA in Redis, shared by every instance. One key per budget, so it works unchanged on a cluster.
 * The script reads the clock of Redis, so instances whose clocks differ still agree.
 */
const HIT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
local tat = math.max(stored or now, now) + interval
local level = tat - now
local count = math.ceil(level / interval - 1e-6)
if level > window + 1e-6 then
  return {0, count, math.ceil(level - window)}
end
-- At least 1 ms: with huge limits (RATE_LIMIT_SCALE) the interval is below a double's resolution at now.
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.max(1, math.ceil(level)))
return {1, count, 0}
`;

const LEVEL_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local stored = tonumber(redis.call('GET', KEYS[1]) or '')
if not stored or stored <= now then return '0' end
return string.format('%.3f', stored - now)
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: Redis | Cluster,
    private readonly prefix: string,
  ) {}

  /** EVALSHA; when this Redis node has not seen the script yet, EVAL (which also caches it there). */
  private async run(script: string, key: string, args: (string | number)[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(sha1(script), 1, key, ...args);
    } catch (err) {
      if (!String(err).includes('NOSCRIPT')) throw err;
      return this.redis.eval(script, 1, key, ...args);
    }
  }

  async hit(key: string, { limit, windowMs }: RateWindow) {
    const res = await this.run(HIT_SCRIPT, this.prefix + key, [windowMs / limit, windowMs]);
    const [allowed, count, retryAfterMs] = Array.isArray(res) ? res.map(Number) : [];
    return { count: count ?? 0, retryAfterMs: allowed === 1 ? null : Math.max(1, retryAfterMs ?? 1) };
  }

  async count(key: string, window: RateWindow) {
    const left = Number(await this.run(LEVEL_SCRIPT, this.prefix + key, []));
    // `level` wants a TAT; measured from a notional now of 0, the TAT is what is left.
    return level(left, 0, window);
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}
