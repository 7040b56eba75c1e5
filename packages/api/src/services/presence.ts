import { EventEmitter } from 'node:events';
import { setLastSeen, type Db } from '@parley/db';
import type { PresenceState } from '@parley/protocol';

/** A user came online or went offline (on any instance). */
export type PresenceChange = PresenceState;

/** Who is online: at least one live socket on any instance. */
export interface Presence {
  connected(userId: string): void;
  disconnected(userId: string): void;
  onlineAmong(userIds: string[]): Promise<Set<string>>;
  onChange(listener: (change: PresenceChange) => void): () => void;
  /** Starts background work (heartbeats); the in-process tracker has none. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Who is online: at least one live socket. This implementation counts this instance's sockets;
 * the cross-instance tracker (RedisPresence) replaces it when REDIS_URL is set.
 */
export class PresenceService implements Presence {
  private readonly counts = new Map<string, number>();
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  constructor(private readonly db: Db) {}

  connected(userId: string) {
    const n = (this.counts.get(userId) ?? 0) + 1;
    this.counts.set(userId, n);
    if (n === 1) this.emit({ userId, online: true, lastSeenAt: null });
  }

  disconnected(userId: string) {
    const n = (this.counts.get(userId) ?? 1) - 1;
    if (n > 0) {
      this.counts.set(userId, n);
      return;
    }
    this.counts.delete(userId);
    const lastSeenAt = new Date().toISOString();
    void setLastSeen(this.db, [userId], lastSeenAt).catch(() => {});
    this.emit({ userId, online: false, lastSeenAt });
  }

  async onlineAmong(userIds: string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.counts.has(id)));
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    this.emitter.on('change', listener);
    return () => void this.emitter.off('change', listener);
  }

  async start() {}

  async close() {
    this.emitter.removeAllListeners();
  }

  private emit(change: PresenceChange) {
    this.emitter.emit('change', change);
  }
}
