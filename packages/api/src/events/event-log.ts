import { eventsBetween, latestEventId, type Db } from '@parley/db';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { UserListeners } from './listeners.js';

/** An event of the log of record, as it travels between instances. */
export interface LoggedEvent {
  id: number;
  recipients: string[];
  payload: unknown;
}

type Listener = (event: LoggedEvent) => void;

/**
 * This instance's reader of the event log. Ids are dense (see `events` in the schema), so the
 * reader knows when it has missed one: it then reads the gap from PostgreSQL before going on,
 * and a periodic look at the clock catches notifications that Redis dropped. Listeners thus see
 * every event once, in id order.
 */
export class EventLog {
  private head = 0;
  private readonly pending = new Map<number, LoggedEvent>();
  private readonly listeners = new UserListeners<LoggedEvent>();
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: { db: Db; bus: Bus; logger: Logger; pollIntervalMs?: number }) {}

  async start() {
    this.head = await latestEventId(this.deps.db);
    this.unsubscribe = this.deps.bus.subscribe('events', (raw) => this.ingest(JSON.parse(raw) as LoggedEvent));
    this.pollTimer = setInterval(() => this.catchUp(), this.deps.pollIntervalMs ?? 1000).unref();
  }

  /** The id of the newest event delivered to this instance's listeners. */
  get position() {
    return this.head;
  }

  /** Called after commit: delivers here at once and tells the other instances. */
  published(event: LoggedEvent) {
    this.ingest(event);
    this.deps.bus.publish('events', JSON.stringify(event));
  }

  /** Listens to one user's events; returns the function that stops listening. */
  listen(userId: string, listener: Listener): () => void {
    return this.listeners.add(userId, listener);
  }

  private ingest(event: LoggedEvent) {
    if (event.id <= this.head) return;
    if (event.id === this.head + 1 && this.pending.size === 0) {
      this.dispatch(event);
      return;
    }
    this.pending.set(event.id, event);
    this.drain();
    if (this.pending.size > 0) this.catchUp();
  }

  private drain() {
    for (let next = this.pending.get(this.head + 1); next; next = this.pending.get(this.head + 1)) {
      this.pending.delete(next.id);
      this.dispatch(next);
    }
  }

  private dispatch(event: LoggedEvent) {
    this.head = event.id;
    this.listeners.deliver(event.recipients, event);
  }

  /** Reads from PostgreSQL whatever this instance has not seen yet. One reader at a time. */
  private catchUp() {
    if (this.catchingUp) {
      this.catchUpAgain = true;
      return;
    }
    this.catchingUp = (async () => {
      do {
        this.catchUpAgain = false;
        const latest = await latestEventId(this.deps.db);
        if (latest <= this.head) continue;
        const rows = await eventsBetween(this.deps.db, this.head, Math.min(latest, this.head + 1000));
        for (const row of rows) this.ingest({ id: row.id, recipients: row.recipients, payload: row.payload });
        if (latest > this.head) this.catchUpAgain = true;
      } while (this.catchUpAgain);
    })()
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'Event log catch-up failed; will retry'))
      .finally(() => {
        this.catchingUp = null;
      });
  }

  stop() {
    this.unsubscribe?.();
    clearInterval(this.pollTimer);
  }
}
