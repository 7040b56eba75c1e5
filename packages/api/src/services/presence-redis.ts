import { EventEmitter } from 'node:events';
import { setLastSeen, type Db } from '@parley/db';
import type { Bus, RedisClient } from '../events/bus.js';
import { parseWire, presenceChange } from '../events/wire.js';
import type { Logger } from '../logger.js';
import type { Presence, PresenceChange } from './presence.js';

/*
 * Presence across instances, in Redis:
 *
 *   <prefix>instances        sorted set: instance id → the time (ms) after which it counts as dead.
 *                            Each instance re-scores itself every heartbeat to now + deadAfterMs.
 *   <prefix>inst:<instance>  set: the users with at least one socket on that instance.
 *   <prefix>count            hash: user id → on how many live instances the user has a socket.
 *
 * A user is online while their count is above zero. Every instance runs a sweeper with its
 * heartbeat: an instance whose score lies in the past (no heartbeat for deadAfterMs, default
 * 15 s: PRESENCE_DEAD_AFTER_MS) is dead, and the one sweeper that removes it from the sorted set
 * decrements its users' counts; those that reach zero go offline: their lastSeenAt is stored and
 * an offline update is published. Every count change is one Lua script, so two instances can
 * never both decide that a user came online or went offline. Changes travel on the bus's
 * 'presence' channel to every instance, the publishing one included.
 *
 * Every key carries the same hash tag (in the prefix), so on a Redis Cluster they share a slot,
 * as the scripts need (SWEEP also reaches the `inst:` sets it names from ARGV).
 *
 * The deadline is written by the instance itself, so instances with different bounds coexist.
 * The clocks of the instances must agree to well within the bound.
 */

/** KEYS: my set, count. ARGV: user. Returns 1 when the user just came online everywhere. */
const CONNECT = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
end
return -1`;

/** KEYS: my set, count. ARGV: user. Returns 0 when the user just went offline everywhere. */
const DISCONNECT = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  local n = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
  if n <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) return 0 end
  return n
end
return -1`;

/**
 * KEYS: instances, my set, count. ARGV: deadline, my id, my users...
 * If this instance had been swept as dead (or is new), registers its users again and returns
 * those who came online by it.
 */
const HEARTBEAT = `
if redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) == 0 then return {} end
local online = {}
for i = 3, #ARGV do
  if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then
    if redis.call('HINCRBY', KEYS[3], ARGV[i], 1) == 1 then table.insert(online, ARGV[i]) end
  end
end
return online`;

/**
 * KEYS: instances, count. ARGV: now, set-key prefix, [one instance id].
 * Removes the instances whose deadline passed (or the given one: a goodbye) and returns the
 * users who went offline with them.
 */
const SWEEP = `
local dead
if ARGV[3] then dead = { ARGV[3] } else dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1]) end
local offline = {}
for _, id in ipairs(dead) do
  local removed = redis.call('ZREM', KEYS[1], id)
  if removed == 1 or ARGV[3] then
    local key = ARGV[2] .. id
    for _, u in ipairs(redis.call('SMEMBERS', key)) do
      local n = redis.call('HINCRBY', KEYS[2], u, -1)
      if n <= 0 then redis.call('HDEL', KEYS[2], u) table.insert(offline, u) end
    end
    redis.call('DEL', key)
  end
end
return offline`;

const CLOSE_TIMEOUT_MS = 2000;

/** The promise's value, or undefined when it takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RedisPresenceOptions {
  db: Db;
  redis: RedisClient;
  bus: Bus;
  logger: Logger;
  instanceId: string;
  heartbeatMs: number;
  deadAfterMs: number;
  /** Where its keys live in Redis (under the deployment's namespace). */
  prefix: string;
}

export class RedisPresence implements Presence {
  private readonly local = new Map<string, number>();
  private readonly emitter = new EventEmitter().setMaxListeners(0);
  private readonly pending = new Set<Promise<unknown>>();
  private readonly unsubscribe: () => void;
  private readonly keys: { instances: string; mine: string; count: string; setPrefix: string };
  private timer: NodeJS.Timeout | null = null;
  /** Set by close(): from then on this instance writes nothing. */
  private stopped = false;

  constructor(private readonly opts: RedisPresenceOptions) {
    const prefix = opts.prefix;
    this.keys = {
      instances: `${prefix}instances`,
      setPrefix: `${prefix}inst:`,
      mine: `${prefix}inst:${opts.instanceId}`,
      count: `${prefix}count`,
    };
    this.unsubscribe = opts.bus.subscribe('presence', (raw) => {
      const change = parseWire(presenceChange, raw, (msg) => opts.logger.warn(msg));
      if (change) this.emitter.emit('change', change);
    });
  }

  async start() {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  connected(userId: string) {
    const n = (this.local.get(userId) ?? 0) + 1;
    this.local.set(userId, n);
    if (n === 1 && !this.stopped) {
      this.track(async () => {
        const result = await this.opts.redis.eval(CONNECT, 2, this.keys.mine, this.keys.count, userId);
        if (result === 1) this.publish({ userId, online: true, lastSeenAt: null });
      });
    }
  }

  disconnected(userId: string) {
    const n = (this.local.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.local.set(userId, n);
      return;
    }
    this.local.delete(userId);
    if (this.stopped) return;
    this.track(async () => {
      const result = await this.opts.redis.eval(DISCONNECT, 2, this.keys.mine, this.keys.count, userId);
      if (result === 0) await this.wentOffline([userId]);
    });
  }

  async onlineAmong(userIds: string[]): Promise<Set<string>> {
    if (userIds.length === 0) return new Set();
    const counts = await this.opts.redis.hmget(this.keys.count, ...userIds);
    return new Set(userIds.filter((_, i) => Number(counts[i] ?? 0) > 0));
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => void this.emitter.off('change', listener);
  }

  /** Goodbye: this instance's users go offline now (unless online elsewhere) instead of after the bound. */
  async close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const wasStopped = this.stopped;
    this.stopped = true;
    // With Redis down, commands wait in ioredis's offline queue: never let them hold up shutdown.
    await withTimeout(Promise.allSettled([...this.pending]), CLOSE_TIMEOUT_MS);
    if (!wasStopped) {
      try {
        const goodbye = this.opts.redis.eval(
          SWEEP,
          2,
          this.keys.instances,
          this.keys.count,
          String(Date.now()),
          this.keys.setPrefix,
          this.opts.instanceId,
        ) as Promise<string[]>;
        const offline = await withTimeout(goodbye, CLOSE_TIMEOUT_MS);
        if (!offline) throw new Error('Redis did not answer');
        await this.wentOffline(offline);
      } catch (err) {
        this.opts.logger.warn(
          { err: (err as Error).message },
          'Presence goodbye failed; peers will sweep this instance',
        );
      }
    }
    this.unsubscribe();
    this.emitter.removeAllListeners();
  }

  /** One heartbeat, then one sweep of dead instances. */
  private async tick() {
    if (this.stopped) return;
    try {
      const now = Date.now();
      const back = (await this.opts.redis.eval(
        HEARTBEAT,
        3,
        this.keys.instances,
        this.keys.mine,
        this.keys.count,
        String(now + this.opts.deadAfterMs),
        this.opts.instanceId,
        ...this.local.keys(),
      )) as string[];
      for (const userId of back) this.publish({ userId, online: true, lastSeenAt: null });
      const offline = (await this.opts.redis.eval(
        SWEEP,
        2,
        this.keys.instances,
        this.keys.count,
        String(Date.now()),
        this.keys.setPrefix,
      )) as string[];
      if (offline.length > 0) {
        this.opts.logger.info({ users: offline.length }, 'Presence: swept users of dead instances');
        await this.wentOffline(offline);
      }
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'Presence heartbeat failed; will retry');
    }
  }

  /** Publishes at once (so that a quick reconnect's "online" cannot overtake it); stores lastSeenAt alongside. */
  private async wentOffline(userIds: string[]) {
    if (userIds.length === 0) return;
    const lastSeenAt = new Date().toISOString();
    for (const userId of userIds) this.publish({ userId, online: false, lastSeenAt });
    try {
      await setLastSeen(this.opts.db, userIds, lastSeenAt);
    } catch (err) {
      this.opts.logger.warn({ err: (err as Error).message }, 'Could not store lastSeenAt');
    }
  }

  private publish(change: PresenceChange) {
    this.opts.bus.publish('presence', JSON.stringify(change));
  }

  private track(work: () => Promise<void>) {
    const p = work().catch((err: unknown) => {
      this.opts.logger.warn({ err: (err as Error).message }, 'Presence update failed');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}
