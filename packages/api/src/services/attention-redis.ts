import type { RedisClient } from '../events/bus.js';
import type { Logger } from '../logger.js';
import type { Attention } from './push.js';

/** How long an instance's word that a user looks at Parley holds without renewal (a crashed instance's lapses). */
const LEASE_MS = 30_000;

/**
 * Who has Parley open and visible on any instance, in Redis: `<prefix><userId>` is a hash of
 * instance id → lease end (ms). Each instance writes its own field when a user's first visible
 * socket appears there, renews its fields every LEASE_MS / 3 and deletes the field when the last
 * one goes; a field of a dead instance simply runs out. Without this, a push would be sent while
 * the member reads the conversation on a socket held by another instance.
 */
export class RedisAttention implements Attention {
  private readonly local = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly deps: {
      redis: RedisClient;
      prefix: string;
      instanceId: string;
      logger: Logger;
      /** This instance's sockets: asked first, no round trip. */
      here: { isAttending(userId: string): boolean };
    },
  ) {
    this.timer = setInterval(() => void this.renew(), LEASE_MS / 3).unref();
  }

  /** Called when a user's first visible socket here appears (true) or the last one goes (false). */
  async changed(userId: string, attending: boolean): Promise<void> {
    const key = this.deps.prefix + userId;
    const op = attending
      ? this.deps.redis
          .multi()
          .hset(key, this.deps.instanceId, String(Date.now() + LEASE_MS))
          .pexpire(key, LEASE_MS)
          .exec()
      : this.deps.redis.hdel(key, this.deps.instanceId);
    if (attending) this.local.add(userId);
    else this.local.delete(userId);
    await op.then(
      () => undefined,
      (err: Error) => this.deps.logger.warn({ err: err.message }, 'Recording attention in Redis failed'),
    );
  }

  async attendingAmong(userIds: string[]): Promise<Set<string>> {
    const found = new Set(userIds.filter((id) => this.deps.here.isAttending(id)));
    const rest = userIds.filter((id) => !found.has(id));
    if (rest.length === 0) return found;
    try {
      // One command per user, not a pipeline: on a cluster the users' keys lie on different shards
      // (ioredis sends commands issued together in one write per connection anyway).
      const results = await Promise.all(rest.map((id) => this.deps.redis.hvals(this.deps.prefix + id)));
      const now = Date.now();
      results.forEach((leases, i) => {
        if (leases.some((l) => Number(l) > now)) found.add(rest[i]!);
      });
    } catch (err) {
      // Redis down: better a push too many than a message nobody hears about.
      this.deps.logger.warn({ err: (err as Error).message }, 'Reading attention from Redis failed');
    }
    return found;
  }

  private async renew() {
    if (this.local.size === 0) return;
    const until = String(Date.now() + LEASE_MS);
    // Per user (each key may be on another shard of a cluster); the two commands of one key together.
    await Promise.all(
      [...this.local].map((id) =>
        this.deps.redis
          .multi()
          .hset(this.deps.prefix + id, this.deps.instanceId, until)
          .pexpire(this.deps.prefix + id, LEASE_MS)
          .exec(),
      ),
    ).catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'Renewing attention in Redis failed'));
  }

  close() {
    clearInterval(this.timer);
    for (const id of this.local)
      void this.deps.redis.hdel(this.deps.prefix + id, this.deps.instanceId).catch(() => undefined);
  }
}
