import {
  appendEvents,
  ensureEventPartitions,
  eventsBetween,
  eventsForUserAfter,
  latestEventIds,
  prunedThrough,
  pruneEvents,
  type Db,
  type Tx,
} from '@parley/db';
import { eventScope, storedEvent, type StoredEvent } from '@parley/protocol';
import type { Logger } from '../logger.js';
import type { Bus } from './bus.js';
import { UserListeners } from './listeners.js';
import { partitionOf } from './partitions.js';
import { loggedEnvelope, parseWire, type LoggedEvent } from './wire.js';

export type { LoggedEvent } from './wire.js';

type Listener = (event: LoggedEvent) => void;
/** A position of a partition as the reader takes it in; `event` null for a row that no longer parses. */
type Ingested = { partition: number; id: number; recipients: string[]; event: StoredEvent | null };
/** An event emitted in a transaction, appended when the transaction's work is done. */
type Emitted = { partition: number; recipients: string[]; event: StoredEvent };

/** A stored payload as its schema reads it, or null (logged) for one that does not parse. */
export function parseStored(payload: unknown, id: number, logger: Logger): StoredEvent | null {
  const parsed = storedEvent.safeParse(payload);
  if (parsed.success) return parsed.data;
  logger.error(
    { eventId: id, issue: parsed.error.issues[0]?.message },
    'Stored event does not match the protocol; skipped',
  );
  return null;
}

const RETENTION_BATCH = 500;
const CATCH_UP_PAGE = 1000;

export interface EventLogOptions {
  db: Db;
  bus: Bus;
  logger: Logger;
  /** Partitions to create for a new log (EVENT_PARTITIONS); an existing log keeps its own. */
  partitions?: number;
  pollIntervalMs?: number;
  /** Events older than this are deleted (EVENT_RETENTION_DAYS); none when unset. */
  retentionMs?: number;
  retentionIntervalMs?: number;
}

/**
 * The event log: how services emit events, and this instance's reader of them.
 *
 * Writing: `transaction(work)` runs `work` in a transaction in which `emit(tx, recipients, event)`
 * collects events; when `work` is done they are appended, still inside the transaction, to the
 * partition of each event's scope (its conversation, or user), and once it commits they are
 * published (delivered here, and announced on the bus, one channel per partition). The event is
 * parsed with its schema once, when emitted, and that one object is what is stored and what is
 * published: replay and live delivery hand out the same thing.
 *
 * Reading: ids are dense within a partition (see `events` in the schema), so the reader knows
 * when it has missed one: it then reads the gap from PostgreSQL before going on, and a periodic
 * look at the counters catches notifications that Redis dropped. Listeners thus see every event
 * once, in id order within its partition: a conversation's events in the order they were logged.
 */
export class EventLog {
  private heads: number[] = [];
  private pending: Map<number, Ingested>[] = [];
  private partitions = 0;
  private readonly listeners = new UserListeners<LoggedEvent>();
  private readonly gapListeners = new Set<(partition: number, head: number) => void>();
  private readonly outboxes = new WeakMap<Tx, Emitted[]>();
  private catchingUp: Promise<void> | null = null;
  private catchUpAgain = false;
  private pruning: Promise<number> | null = null;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: (() => void)[] = [];

  constructor(private readonly deps: EventLogOptions) {}

  async start() {
    const wanted = this.deps.partitions ?? 16;
    this.partitions = await ensureEventPartitions(this.deps.db, wanted);
    if (this.partitions !== wanted) {
      this.deps.logger.warn(
        { partitions: this.partitions, configured: wanted },
        'The event log keeps the number of partitions it was created with; EVENT_PARTITIONS applies to a new log',
      );
    }
    this.heads = await latestEventIds(this.deps.db);
    this.pending = this.heads.map(() => new Map());
    for (let p = 0; p < this.partitions; p++) {
      this.unsubscribe.push(
        this.deps.bus.subscribe(`events.${p}`, (raw) => {
          if (this.alreadyDelivered(raw)) return;
          const event = parseWire(loggedEnvelope, raw, (msg) => this.deps.logger.warn(msg));
          if (event && event.partition < this.partitions) this.ingest(event);
        }),
      );
    }
    this.timers.push(setInterval(() => this.catchUp(), this.deps.pollIntervalMs ?? 1000).unref());
    if (this.deps.retentionMs) {
      const every = this.deps.retentionIntervalMs ?? 600_000;
      this.timers.push(setInterval(() => void this.pruneOlderThan(this.deps.retentionMs!), every).unref());
    }
  }

  /** How many partitions the log has. */
  get partitionCount() {
    return this.partitions;
  }

  /** The partition an event goes to. */
  partitionOf(event: StoredEvent): number {
    return partitionOf(eventScope(event), this.partitions);
  }

  /** The id of the newest event delivered to this instance's listeners, by partition. */
  get positions(): number[] {
    return [...this.heads];
  }

  /** Runs `work` in a transaction; the events it emitted are appended at its end and published once it has committed. */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const appended: LoggedEvent[] = [];
    const result = await this.deps.db.transaction(async (tx) => {
      const outbox: Emitted[] = [];
      this.outboxes.set(tx, outbox);
      const value = await work(tx);
      this.outboxes.delete(tx);
      const ids = await appendEvents(
        tx,
        outbox.map((e) => ({ partition: e.partition, recipients: e.recipients, payload: e.event })),
      );
      for (const [i, e] of outbox.entries()) appended.push({ ...e, id: ids[i]! });
      return value;
    });
    for (const event of appended) this.published(event);
    return result;
  }

  /**
   * Emits an event from a transaction of `transaction()`: it is logged when the transaction's work
   * is done (so the partition's counter row is held only from there to commit) and published
   * after commit.
   */
  async emit(tx: Tx, recipients: string[], event: StoredEvent): Promise<void> {
    const outbox = this.outboxes.get(tx);
    if (!outbox) throw new Error('emit() needs a transaction opened by EventLog.transaction()');
    const parsed = storedEvent.parse(event);
    outbox.push({ partition: this.partitionOf(parsed), recipients: [...new Set(recipients)], event: parsed });
  }

  /**
   * Publishes an event committed by a statement of its own (the sends' group commit, which
   * appends in SQL): delivers here at once and tells the other instances.
   */
  published(event: LoggedEvent) {
    this.ingest(event);
    // Alone, this instance would only hear its own announcement back and drop it.
    if (!this.deps.bus.reachesOthers) return;
    // Partition and id first, always: a reader can tell one it already has (alreadyDelivered).
    const { partition, id, recipients, event: payload } = event;
    this.deps.bus.publish(`events.${partition}`, JSON.stringify({ partition, id, recipients, event: payload }));
  }

  /**
   * Whether a bus message announces an event this instance has delivered already, read off its
   * start without parsing it: an instance hears its own announcements back (Redis delivers to
   * every subscriber; the local bus has no one else), and each would otherwise be parsed with
   * the event schema only for ingest to drop it. Anything else is parsed in full.
   */
  private alreadyDelivered(raw: string): boolean {
    const m = /^\{"partition":(\d{1,9}),"id":(\d{1,15}),/.exec(raw);
    if (!m) return false;
    const head = this.heads[Number(m[1])];
    return head !== undefined && Number(m[2]) <= head;
  }

  /** Listens to one user's events; returns the function that stops listening. */
  listen(userId: string, listener: Listener): () => void {
    return this.listeners.add(userId, listener);
  }

  /**
   * Called when this instance skipped events that retention deleted before it could read them
   * (it was that far behind): listeners may have missed some and must resync.
   */
  onGap(listener: (partition: number, head: number) => void): () => void {
    this.gapListeners.add(listener);
    return () => void this.gapListeners.delete(listener);
  }

  /** A user's logged events after `after` (a position per partition), parsed; see eventsForUserAfter. */
  async replay(userId: string, after: number[], limit: number) {
    const rows = await eventsForUserAfter(this.deps.db, userId, after, limit);
    return rows.map((row) => ({
      partition: row.partition,
      id: row.id,
      event: parseStored(row.payload, row.id, this.deps.logger),
    }));
  }

  /** Through which id retention has deleted each partition. */
  horizon(): Promise<number[]> {
    return prunedThrough(this.deps.db);
  }

  /**
   * Retention: deletes the events older than `ageMs`, partition by partition in small batches
   * (short transactions that take no lock a send waits for). One run at a time per instance.
   */
  pruneOlderThan(ageMs: number): Promise<number> {
    if (this.pruning) return this.pruning;
    this.pruning = (async () => {
      const cutoff = new Date(Date.now() - ageMs).toISOString();
      let total = 0;
      for (let p = 0; p < this.partitions; p++) {
        for (;;) {
          const n = await pruneEvents(this.deps.db, p, cutoff, RETENTION_BATCH);
          total += n;
          if (n < RETENTION_BATCH) break;
        }
      }
      if (total > 0) this.deps.logger.info({ deleted: total }, 'Event retention');
      return total;
    })()
      .catch((err: Error) => {
        this.deps.logger.warn({ err: err.message }, 'Event retention failed; will retry');
        return 0;
      })
      .finally(() => {
        this.pruning = null;
      });
    return this.pruning;
  }

  private ingest(event: Ingested) {
    const { partition, id } = event;
    const head = this.heads[partition]!;
    if (id <= head) return;
    const pending = this.pending[partition]!;
    if (id === head + 1 && pending.size === 0) {
      this.dispatch(event);
      return;
    }
    pending.set(id, event);
    this.drain(partition);
    if (pending.size > 0) this.catchUp();
  }

  private drain(partition: number) {
    const pending = this.pending[partition]!;
    for (let next = pending.get(this.heads[partition]! + 1); next; next = pending.get(this.heads[partition]! + 1)) {
      pending.delete(next.id);
      this.dispatch(next);
    }
  }

  private dispatch({ partition, id, recipients, event }: Ingested) {
    this.heads[partition] = id;
    if (event) this.listeners.deliver(recipients, { partition, id, recipients, event });
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
        const latest = await latestEventIds(this.deps.db);
        for (let p = 0; p < this.partitions; p++) {
          const head = this.heads[p]!;
          const to = Math.min(latest[p] ?? 0, head + CATCH_UP_PAGE);
          if (to <= head) continue;
          const rows = await eventsBetween(this.deps.db, p, head, to);
          if ((rows[0]?.id ?? to + 1) > head + 1) await this.skipPruned(p, head);
          for (const row of rows) {
            this.ingest({
              partition: p,
              id: row.id,
              recipients: row.recipients,
              event: parseStored(row.payload, row.id, this.deps.logger),
            });
          }
          if ((latest[p] ?? 0) > this.heads[p]!) this.catchUpAgain = true;
        }
      } while (this.catchUpAgain);
    })()
      .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'Event log catch-up failed; will retry'))
      .finally(() => {
        this.catchingUp = null;
      });
  }

  /** The events after `head` are gone (retention deleted them before this instance read them): go on after them, and say so. */
  private async skipPruned(partition: number, head: number) {
    const pruned = (await prunedThrough(this.deps.db))[partition] ?? 0;
    if (pruned <= head) return;
    this.deps.logger.warn(
      { partition, from: head, to: pruned },
      'Events were deleted before this instance read them; its subscribers resync',
    );
    const pending = this.pending[partition]!;
    for (const id of pending.keys()) if (id <= pruned) pending.delete(id);
    this.heads[partition] = pruned;
    for (const listener of this.gapListeners) listener(partition, pruned);
    this.drain(partition);
  }

  stop() {
    for (const u of this.unsubscribe) u();
    for (const t of this.timers) clearInterval(t);
  }
}
