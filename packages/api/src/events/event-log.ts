import { appendEvent, eventsBetween, latestEventId, type Db, type Tx } from '@parley/db';
import { storedEvent, type StoredEvent } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { UserListeners } from './listeners.js';
import { loggedEnvelope, parseWire, type LoggedEvent } from './wire.js';

export type { LoggedEvent } from './wire.js';

type Listener = (event: LoggedEvent) => void;
/** A position of the log as the reader takes it in; `event` null for a row that no longer parses. */
type Ingested = { id: number; recipients: string[]; event: StoredEvent | null };

/** A stored payload as its schema reads it, or null (logged) for one that does not parse. */
export function parseStored(payload: unknown, id: number, logger: Logger): StoredEvent | null {
  const parsed = storedEvent.safeParse(payload);
  if (parsed.success) return parsed.data;
  logger.error({ eventId: id, issue: parsed.error.issues[0]?.message }, 'Stored event does not match the protocol; skipped');
  return null;
}

/**
 * The event log: how services emit events, and this instance's reader of them.
 *
 * Writing: `transaction(work)` runs `work` in a transaction in which `emit(tx, recipients, event)`
 * appends events; once it commits, they are published (delivered here, and announced on the bus).
 * The event is parsed with its schema once, when emitted, and that one object is what is stored
 * and what is published: replay and live delivery hand out the same thing.
 *
 * Reading: ids are dense (see `events` in the schema), so the reader knows when it has missed one:
 * it then reads the gap from PostgreSQL before going on, and a periodic look at the clock catches
 * notifications that Redis dropped. Listeners thus see every event once, in id order.
 */
export class EventLog {
  private head = 0;
  private readonly pending = new Map<number, Ingested>();
  private readonly listeners = new UserListeners<LoggedEvent>();
  private readonly outboxes = new WeakMap<Tx, LoggedEvent[]>();
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: { db: Db; bus: Bus; logger: Logger; pollIntervalMs?: number }) {}

  async start() {
    this.head = await latestEventId(this.deps.db);
    this.unsubscribe = this.deps.bus.subscribe('events', (raw) => {
      const event = parseWire(loggedEnvelope, raw, (msg) => this.deps.logger.warn(msg));
      if (event) this.ingest(event);
    });
    this.pollTimer = setInterval(() => this.catchUp(), this.deps.pollIntervalMs ?? 1000).unref();
  }

  /** The id of the newest event delivered to this instance's listeners. */
  get position() {
    return this.head;
  }

  /** Runs `work` in a transaction; the events it emitted are published once it has committed. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const outbox: LoggedEvent[] = [];
    const result = await this.deps.db.transaction(async (tx) => {
      this.outboxes.set(tx, outbox);
      return work(tx);
    });
    for (const event of outbox) this.published(event);
    return result;
  }

  /**
   * Appends an event inside a transaction of `transaction()`; it is published after commit. Call
   * it last in the transaction: from here to commit it holds the log's clock row.
   */
  async emit(tx: Tx, recipients: string[], event: StoredEvent): Promise<LoggedEvent> {
    const outbox = this.outboxes.get(tx);
    if (!outbox) throw new Error('emit() needs a transaction opened by EventLog.transaction()');
    const parsed = storedEvent.parse(event);
    const unique = [...new Set(recipients)];
    const logged: LoggedEvent = { id: await appendEvent(tx, unique, parsed), recipients: unique, event: parsed };
    outbox.push(logged);
    return logged;
  }

  /**
   * Publishes an event committed by a statement of its own (the sends' group commit, which
   * appends in SQL): delivers here at once and tells the other instances.
   */
  published(event: LoggedEvent) {
    this.ingest(event);
    this.deps.bus.publish('events', JSON.stringify(event));
  }

  /** Listens to one user's events; returns the function that stops listening. */
  listen(userId: string, listener: Listener): () => void {
    return this.listeners.add(userId, listener);
  }

  private ingest(event: Ingested) {
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

  private dispatch({ id, recipients, event }: Ingested) {
    this.head = id;
    if (event) this.listeners.deliver(recipients, { id, recipients, event });
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
        for (const row of rows) {
          this.ingest({ id: row.id, recipients: row.recipients, event: parseStored(row.payload, row.id, this.deps.logger) });
        }
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
