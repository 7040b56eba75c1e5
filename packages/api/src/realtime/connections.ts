import { findInactiveSessionIds, type Db } from '@parley/db';
import { CLOSE_SESSION_REVOKED, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_MANY_SOCKETS } from '@parley/protocol';
import type { Bus } from '../events/bus.js';
import { parseWire, revokedSessions } from '../events/wire.js';
import type { Logger } from '../logger.js';

export { CLOSE_GOING_AWAY, CLOSE_SESSION_REVOKED, CLOSE_TOKEN_EXPIRED, CLOSE_TOO_MANY_SOCKETS } from '@parley/protocol';

export interface LiveConnection {
  userId: string;
  sessionId: string;
  /** When the access token that opened this socket expires (ms since the epoch). */
  expiresAt: number;
  close(code: number, reason: string): void;
}

interface Entry extends LiveConnection {
  expiryTimer: NodeJS.Timeout;
  /** The client said its page is visible (notifications.setVisibility). */
  visible: boolean;
}

/**
 * The authenticated sockets of this instance. A socket is closed when its access token expires
 * (tRPC builds a socket's context once) and when its session is revoked anywhere.
 */
export class ConnectionRegistry {
  private readonly bySession = new Map<string, Set<Entry>>();
  private readonly perUser = new Map<string, number>();
  /** Users with at least one visible socket here, and how many: they get no pushes. */
  private readonly visibleSockets = new Map<string, number>();
  private readonly entries = new WeakMap<LiveConnection, Entry>();
  /** Told when a user's first visible socket here appears or the last one goes (cross-instance attention). */
  onAttentionChange: ((userId: string, attending: boolean) => Promise<void>) | null = null;
  private readonly unsubscribe: () => void;
  private readonly auditTimer: NodeJS.Timeout;
  private listeners: { connected: (userId: string) => void; disconnected: (userId: string) => void }[] = [];

  constructor(
    private readonly deps: { db: Db; bus: Bus; logger: Logger },
    auditIntervalMs = 30_000,
  ) {
    this.unsubscribe = deps.bus.subscribe('sessions', (payload) => {
      const ids = parseWire(revokedSessions, payload, (msg) => deps.logger.warn(msg));
      if (ids) this.closeSessions(ids, CLOSE_SESSION_REVOKED, 'Session ended');
    });
    // A revocation notice can be lost (Redis down); the audit catches what it missed.
    this.auditTimer = setInterval(() => void this.audit(), auditIntervalMs).unref();
  }

  onPresence(listener: { connected: (userId: string) => void; disconnected: (userId: string) => void }) {
    this.listeners.push(listener);
  }

  /**
   * Registers an authenticated socket and returns its removal, or closes it with
   * CLOSE_TOO_MANY_SOCKETS and returns null when the user already holds `maxPerUser` sockets here
   * (config MAX_SOCKETS_PER_USER, passed by the server that owns the sockets).
   */
  add(conn: LiveConnection, maxPerUser = Infinity): (() => void) | null {
    const held = this.perUser.get(conn.userId) ?? 0;
    if (held >= maxPerUser) {
      this.deps.logger.warn({ userId: conn.userId, held }, 'Too many sockets for one user; closing the newest');
      conn.close(CLOSE_TOO_MANY_SOCKETS, `Too many connections (at most ${maxPerUser})`);
      return null;
    }
    this.perUser.set(conn.userId, held + 1);
    const delay = Math.max(0, conn.expiresAt - Date.now());
    const entry: Entry = {
      ...conn,
      expiryTimer: setTimeout(() => conn.close(CLOSE_TOKEN_EXPIRED, 'Access token expired'), delay),
      visible: false,
    };
    this.entries.set(conn, entry);
    let set = this.bySession.get(conn.sessionId);
    if (!set) {
      set = new Set();
      this.bySession.set(conn.sessionId, set);
    }
    set.add(entry);
    for (const l of this.listeners) l.connected(conn.userId);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      void this.setVisible(conn, false);
      this.entries.delete(conn);
      clearTimeout(entry.expiryTimer);
      set.delete(entry);
      if (set.size === 0) this.bySession.delete(conn.sessionId);
      const left = (this.perUser.get(conn.userId) ?? 1) - 1;
      if (left > 0) this.perUser.set(conn.userId, left);
      else this.perUser.delete(conn.userId);
      for (const l of this.listeners) l.disconnected(conn.userId);
    };
  }

  /** Records whether the page behind this socket is visible; a socket starts as not visible. */
  /** Resolves once every instance can see the change (Redis written, when there is Redis). */
  async setVisible(conn: LiveConnection, visible: boolean): Promise<void> {
    const entry = this.entries.get(conn);
    if (!entry || entry.visible === visible) return;
    entry.visible = visible;
    const n = (this.visibleSockets.get(conn.userId) ?? 0) + (visible ? 1 : -1);
    if (n > 0) this.visibleSockets.set(conn.userId, n);
    else this.visibleSockets.delete(conn.userId);
    if (n === 0 || (n === 1 && visible)) await this.onAttentionChange?.(conn.userId, n > 0);
  }

  async attendingAmong(userIds: string[]): Promise<Set<string>> {
    return new Set(userIds.filter((id) => this.visibleSockets.has(id)));
  }

  /** Whether the user has Parley open and visible on a socket of this instance. */
  isAttending(userId: string) {
    return this.visibleSockets.has(userId);
  }

  /** Announces revoked sessions to every instance, this one included. */
  revoke(sessionIds: string[]) {
    if (sessionIds.length === 0) return;
    // On the next turn (the bus, when local, closes at once): a logout sent over the socket it
    // ends gets its answer before the close.
    setImmediate(() => {
      this.closeSessions(sessionIds, CLOSE_SESSION_REVOKED, 'Session ended');
      this.deps.bus.publish('sessions', JSON.stringify(sessionIds));
    });
  }

  closeAll(code: number, reason: string) {
    for (const set of this.bySession.values()) for (const e of set) e.close(code, reason);
  }

  get size() {
    let n = 0;
    for (const set of this.bySession.values()) n += set.size;
    return n;
  }

  private closeSessions(ids: string[], code: number, reason: string) {
    for (const id of ids) {
      const set = this.bySession.get(id);
      if (set) for (const e of [...set]) e.close(code, reason);
    }
  }

  private async audit() {
    try {
      const inactive = await findInactiveSessionIds(this.deps.db, [...this.bySession.keys()]);
      this.closeSessions(inactive, CLOSE_SESSION_REVOKED, 'Session ended');
    } catch (err) {
      this.deps.logger.warn({ err: (err as Error).message }, 'Session audit failed; will retry');
    }
  }

  close() {
    this.unsubscribe();
    clearInterval(this.auditTimer);
  }
}
