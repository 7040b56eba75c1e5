import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/** One channel per event-log partition (so a sharded bus spreads them), and one per kind of notice. */
export type Channel = `events.${number}` | 'sessions' | 'typing' | 'calls' | 'presence' | 'blocks';

/**
 * How instances tell each other that something happened. At most once, and it forgets: anything
 * that must not be lost is in PostgreSQL first, and the bus only says "there is something new".
 */
export interface Bus {
  publish(channel: Channel, payload: string): void;
  subscribe(channel: Channel, handler: (payload: string) => void): () => void;
  /** False while a Redis bus is disconnected (what /readyz reports). */
  isHealthy(): boolean;
  close(): Promise<void>;
}

export class LocalBus implements Bus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(channel: Channel, payload: string) {
    // Asynchronous like Redis, so callers never depend on re-entrant delivery.
    queueMicrotask(() => this.emitter.emit(channel, payload));
  }

  subscribe(channel: Channel, handler: (payload: string) => void) {
    this.emitter.on(channel, handler);
    return () => void this.emitter.off(channel, handler);
  }

  isHealthy() {
    return true;
  }

  async close() {
    this.emitter.removeAllListeners();
  }
}

export class RedisBus implements Bus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly prefix: string;

  constructor(url: string, logger: Logger, prefix: string) {
    this.prefix = prefix;
    const options = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false } as const;
    this.pub = new Redis(url, { ...options, connectionName: 'parley-pub' });
    // No ready check (INFO) on the subscriber: subscriptions made while it connects race with it,
    // Redis refuses INFO in subscriber mode, and ioredis 5 then loops on errors and misses
    // messages (redis/ioredis#2037).
    this.sub = new Redis(url, { ...options, connectionName: 'parley-sub', enableReadyCheck: false });
    for (const [name, conn] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      conn.on('error', (err) => logger.warn({ err: err.message }, `Redis ${name} connection error; retrying`));
      conn.on('ready', () => logger.info(`Redis ${name} connected`));
    }
    this.sub.on('message', (channel: string, payload: string) => {
      const set = this.handlers.get(channel);
      if (set) for (const h of set) h(payload);
    });
  }

  publish(channel: Channel, payload: string) {
    this.pub.publish(this.prefix + channel, payload).catch(() => {
      // Lost notifications are tolerated by design: readers catch up from PostgreSQL.
    });
  }

  subscribe(channel: Channel, handler: (payload: string) => void) {
    const key = this.prefix + channel;
    let set = this.handlers.get(key);
    if (!set) {
      set = new Set();
      this.handlers.set(key, set);
      void this.sub.subscribe(key);
    }
    set.add(handler);
    return () => void set.delete(handler);
  }

  isHealthy() {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /** A separate connection for commands (rate limits, presence), sharing nothing with pub/sub. */
  get commands(): Redis {
    return this.pub;
  }

  async close() {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
