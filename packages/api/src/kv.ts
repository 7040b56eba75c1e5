import type { RedisClient } from './events/bus.js';

/**
 * Small expiring values shared by every instance (Redis when configured, memory otherwise): the
 * refresh-token grace results and the sign-in throttle's marks (usual IPs, slow-down gates).
 */
export interface KeyValue {
  /** Stores `value` for `ttlMs`; with `onlyIfAbsent`, only when the key holds nothing (then says whether it stored). */
  put(key: string, value: string, ttlMs: number, onlyIfAbsent?: boolean): Promise<boolean>;
  get(key: string): Promise<string | null>;
  /** Milliseconds the key still lives, or 0. */
  ttl(key: string): Promise<number>;
  del(key: string): Promise<void>;
}

export class MemoryKeyValue implements KeyValue {
  private readonly values = new Map<string, { value: string; expiresAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), 60_000).unref();

  private live(key: string) {
    const v = this.values.get(key);
    if (v && v.expiresAt <= Date.now()) {
      this.values.delete(key);
      return undefined;
    }
    return v;
  }

  async put(key: string, value: string, ttlMs: number, onlyIfAbsent = false) {
    if (onlyIfAbsent && this.live(key)) return false;
    this.values.set(key, { value, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }

  async ttl(key: string) {
    const v = this.live(key);
    return v ? v.expiresAt - Date.now() : 0;
  }

  async del(key: string) {
    this.values.delete(key);
  }

  private sweep() {
    const now = Date.now();
    for (const [k, v] of this.values) if (v.expiresAt <= now) this.values.delete(k);
  }

  close() {
    clearInterval(this.sweeper);
  }
}

export class RedisKeyValue implements KeyValue {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async put(key: string, value: string, ttlMs: number, onlyIfAbsent = false) {
    const k = this.prefix + key;
    const ms = Math.max(1, Math.ceil(ttlMs));
    const res = onlyIfAbsent
      ? await this.redis.set(k, value, 'PX', ms, 'NX')
      : await this.redis.set(k, value, 'PX', ms);
    return res === 'OK';
  }

  async get(key: string) {
    return this.redis.get(this.prefix + key);
  }

  async ttl(key: string) {
    return Math.max(0, await this.redis.pttl(this.prefix + key));
  }

  async del(key: string) {
    await this.redis.del(this.prefix + key);
  }
}
