import { EventEmitter } from 'node:events';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';

/** One Redis or a Redis Cluster: the commands every user of Redis here needs exist on both. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: `url` alone for one Redis; with `clusterNodes`, a cluster (url: its credentials and scheme). */
export interface RedisTarget {
  url: string;
  clusterNodes: { host: string; port: number }[];
}

/** One channel per event-log partition (so a sharded bus spreads them), and one per kind of notice. */
export type Channel = `events.${number}` | 'sessions' | 'typing' | 'calls' | 'presence' | 'blocks';

/**
 * How instances tell each other that something happened. At most once, and it forgets: anything
 * that must not be lost is in PostgreSQL first, and the bus only says "there is something new".
 */
export interface Bus {
  /** Whether other instances hear what this one publishes (false: the in-process bus, one instance). */
  readonly reachesOthers: boolean;
  publish(channel: Channel, payload: string): void;
  subscribe(channel: Channel, handler: (payload: string) => void): () => void;
  /** False while a Redis bus is disconnected (what /readyz reports). */
  isHealthy(): boolean;
  close(): Promise<void>;
}

export class LocalBus implements Bus {
  readonly reachesOthers = false;
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

/**
 * The bus over Redis. On one Redis: PUBLISH/SUBSCRIBE. On a cluster: sharded pub/sub
 * (SPUBLISH/SSUBSCRIBE), where a channel lives on the shard that owns its slot, so the
 * partitions' channels (`events.<p>`) spread over the shards instead of every message crossing
 * the whole cluster bus as classic pub/sub does.
 */
export class RedisBus implements Bus {
  readonly reachesOthers = true;
  private readonly pub: RedisClient;
  private readonly sub: RedisClient;
  private readonly sharded: boolean;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly prefix: string;

  constructor(target: RedisTarget, logger: Logger, prefix: string) {
    this.prefix = prefix;
    this.sharded = target.clusterNodes.length > 0;
    const options = { maxRetriesPerRequest: null, enableOfflineQueue: true, lazyConnect: false } as const;
    if (this.sharded) {
      const cluster = (connectionName: string, extra: Partial<ClusterOptions> = {}) =>
        new Cluster(target.clusterNodes, {
          redisOptions: { ...clusterCredentials(target.url), ...options, connectionName },
          enableOfflineQueue: true,
          // Ride out a master's restart or failover (~10 s) as one Redis's offline queue does,
          // instead of failing the calls after ioredis's default 16 × 100 ms.
          retryDelayOnClusterDown: 200,
          retryDelayOnTryAgain: 200,
          maxRedirections: 50,
          ...extra,
        });
      this.pub = cluster('parley-pub');
      // One subscriber connection per master, each holding the channels of its slots.
      this.sub = cluster('parley-sub', { shardedSubscribers: true });
    } else {
      this.pub = new Redis(target.url, { ...options, connectionName: 'parley-pub' });
      // No ready check (INFO) on the subscriber: subscriptions made while it connects race with it,
      // Redis refuses INFO in subscriber mode, and ioredis 5 then loops on errors and misses
      // messages (redis/ioredis#2037).
      this.sub = new Redis(target.url, { ...options, connectionName: 'parley-sub', enableReadyCheck: false });
    }
    for (const [name, conn] of [
      ['publisher', this.pub],
      ['subscriber', this.sub],
    ] as const) {
      conn.on('error', (err: Error) => logger.warn({ err: err.message }, `Redis ${name} connection error; retrying`));
      conn.on('ready', () => logger.info(`Redis ${name} connected`));
    }
    this.sub.on(this.sharded ? 'smessage' : 'message', (channel: string, payload: string) => {
      const set = this.handlers.get(channel);
      if (set) for (const h of set) h(payload);
    });
  }

  publish(channel: Channel, payload: string) {
    const key = this.prefix + channel;
    (this.sharded ? this.pub.spublish(key, payload) : this.pub.publish(key, payload)).catch(() => {
      // Lost notifications are tolerated by design: readers catch up from PostgreSQL.
    });
  }

  subscribe(channel: Channel, handler: (payload: string) => void) {
    const key = this.prefix + channel;
    let set = this.handlers.get(key);
    if (!set) {
      set = new Set();
      this.handlers.set(key, set);
      void (this.sharded ? this.sub.ssubscribe(key) : this.sub.subscribe(key)).catch(() => {
        // Resubscribed on reconnect; meanwhile readers poll PostgreSQL.
      });
    }
    set.add(handler);
    return () => void set.delete(handler);
  }

  isHealthy() {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /** A separate connection for commands (rate limits, presence), sharing nothing with pub/sub. */
  get commands(): RedisClient {
    return this.pub;
  }

  async close() {
    this.sub.disconnect();
    this.pub.disconnect();
  }
}

/** What REDIS_URL says about how to talk to every node of a cluster (its host is only a seed). */
function clusterCredentials(url: string): RedisOptions {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}
