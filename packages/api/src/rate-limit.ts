import type { Redis } from 'ioredis';

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export interface RateLimiter {
  /** Counts one hit on `key`; `retryAfterMs` is set once the limit is exceeded. */
  hit(key: string, window: RateWindow): Promise<{ count: number; retryAfterMs: number | null }>;
  /** Hits so far in the current window, without counting one. */
  count(key: string): Promise<{ count: number; retryAfterMs: number }>;
  reset(key: string): Promise<void>;
}

/** Fixed windows in memory: enough for one instance. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  async hit(key: string, { limit, windowMs }: RateWindow) {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { count: w.count, retryAfterMs: w.count > limit ? w.resetAt - now : null };
  }

  async count(key: string) {
    const now = Date.now();
    const w = this.windows.get(key);
    if (!w || w.resetAt <= now) return { count: 0, retryAfterMs: 0 };
    return { count: w.count, retryAfterMs: w.resetAt - now };
  }

  async reset(key: string) {
    this.windows.delete(key);
  }

  private sweep() {
    const now = Date.now();
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }

  close() {
    clearInterval(this.sweeper);
  }
}

/** Fixed windows in Redis, shared by every instance. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  async hit(key: string, { limit, windowMs }: RateWindow) {
    const k = this.prefix + key;
    const res = await this.redis.multi().set(k, 0, 'PX', windowMs, 'NX').incr(k).pttl(k).exec();
    const count = Number(res?.[1]?.[1] ?? 0);
    const ttl = Number(res?.[2]?.[1] ?? windowMs);
    return { count, retryAfterMs: count > limit ? Math.max(ttl, 0) : null };
  }

  async count(key: string) {
    const k = this.prefix + key;
    const res = await this.redis.multi().get(k).pttl(k).exec();
    return { count: Number(res?.[0]?.[1] ?? 0), retryAfterMs: Math.max(Number(res?.[1]?.[1] ?? 0), 0) };
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}
