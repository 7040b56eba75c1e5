import { and, asc, eq, gt, lte, sql, type SQL } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { eventClock, eventHorizon, eventPartitions, events } from '../schema.js';

/** One event to append: its partition, who receives it, and its payload (JSON). */
export interface NewEvent {
  partition: number;
  recipients: string[];
  payload: unknown;
}

/**
 * Appends events inside the caller's transaction and returns their ids, in input order. Call it
 * last: from here to commit the transaction holds the counter rows of these partitions, which is
 * what makes ids dense and visible in order. The rows are locked in partition order, so two
 * writers never deadlock on them.
 */
export async function appendEvents(tx: Tx, batch: NewEvent[]): Promise<number[]> {
  const counts = new Map<number, number>();
  for (const e of batch) counts.set(e.partition, (counts.get(e.partition) ?? 0) + 1);
  const next = new Map<number, number>();
  for (const partition of [...counts.keys()].sort((a, b) => a - b)) {
    const n = counts.get(partition)!;
    const [row] = await tx
      .update(eventPartitions)
      .set({ value: sql`${eventPartitions.value} + ${n}` })
      .where(eq(eventPartitions.partition, partition))
      .returning({ value: eventPartitions.value });
    if (!row) throw new Error(`Event partition ${partition} does not exist`);
    next.set(partition, Number(row.value) - n + 1);
  }
  const ids = batch.map((e) => {
    const id = next.get(e.partition)!;
    next.set(e.partition, id + 1);
    return id;
  });
  if (batch.length > 0) {
    await tx
      .insert(events)
      .values(
        batch.map((e, i) => ({ partition: e.partition, id: ids[i]!, recipients: e.recipients, payload: e.payload })),
      );
  }
  return ids;
}

/**
 * The partitions of the log: creates `wanted` of them if the log has none yet (partition 0 goes
 * on from the single clock of a log older than partitions; its events are partition 0's), and
 * answers how many the log has. The number is fixed when they are created: changing it would move
 * conversations between partitions, and their order with them.
 */
export async function ensureEventPartitions(db: Executor, wanted: number): Promise<number> {
  const [clock] = await db.select({ value: eventClock.value }).from(eventClock).where(eq(eventClock.id, 1));
  const rows = Array.from({ length: wanted }, (_, partition) => ({ partition }));
  const [existing] = await db.select({ n: sql<number>`count(*)::int` }).from(eventPartitions);
  if (Number(existing!.n) === 0) {
    await db
      .insert(eventPartitions)
      .values(rows.map((r) => ({ ...r, value: r.partition === 0 ? Number(clock?.value ?? 0) : 0 })))
      .onConflictDoNothing();
    await db.insert(eventHorizon).values(rows).onConflictDoNothing();
  }
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(eventPartitions);
  return Number(row!.n);
}

/** The id of this database's event log (see `eventClock.logId`). */
export async function eventLogId(db: Executor): Promise<string> {
  const [row] = await db.select({ logId: eventClock.logId }).from(eventClock).where(eq(eventClock.id, 1));
  return row!.logId;
}

/** The id of the newest committed event of every partition, by partition. */
export async function latestEventIds(db: Executor): Promise<number[]> {
  const rows = await db.select().from(eventPartitions).orderBy(asc(eventPartitions.partition));
  return rows.map((r) => Number(r.value));
}

/** Through which id retention has deleted each partition, by partition. */
export async function prunedThrough(db: Executor): Promise<number[]> {
  const rows = await db.select().from(eventHorizon).orderBy(asc(eventHorizon.partition));
  return rows.map((r) => Number(r.prunedThrough));
}

/**
 * A user's events after `after` (one position per partition), oldest first within each
 * partition, partition by partition: a page is a prefix of every partition's events, so the
 * positions of its last rows are where the next page starts.
 */
export async function eventsForUserAfter(db: Executor, userId: string, after: number[], limit: number) {
  const beyond: SQL[] = after.map(
    (id, partition) => sql`(${events.partition} = ${partition} and ${events.id} > ${id})`,
  );
  return db
    .select({ partition: events.partition, id: events.id, payload: events.payload })
    .from(events)
    .where(and(sql`(${sql.join(beyond, sql` or `)})`, sql`${events.recipients} @> array[${userId}]::uuid[]`))
    .orderBy(asc(events.partition), asc(events.id))
    .limit(limit);
}

/** Every event of a partition with `afterId < id <= toId`, oldest first (an instance catching up). */
export async function eventsBetween(db: Executor, partition: number, afterId: number, toId: number) {
  return db
    .select({ id: events.id, recipients: events.recipients, payload: events.payload })
    .from(events)
    .where(and(eq(events.partition, partition), gt(events.id, afterId), lte(events.id, toId)))
    .orderBy(asc(events.id));
}

/**
 * Retention, one small step: deletes up to `batch` of the partition's oldest events, those
 * created before `cutoff`, and moves the partition's horizon past them, in one short
 * transaction that touches neither the counters nor newer events (sends never wait for it).
 * Answers how many it deleted (fewer than `batch`: this partition is done for now).
 */
export async function pruneEvents(db: Executor, partition: number, cutoff: string, batch: number): Promise<number> {
  const result = await db.execute(sql`
    with
      horizon as (select pruned_through from event_horizon where partition = ${partition}),
      oldest as (
        select id, created_at from events
        where partition = ${partition} and id > (select pruned_through from horizon)
        order by id limit ${batch}
      ),
      -- The oldest events up to the first one that is still young: ids stay a prefix.
      bound as (
        select coalesce(
          (select min(id) - 1 from oldest where created_at >= ${cutoff}::timestamptz),
          (select max(id) from oldest)
        ) as id
      ),
      deleted as (
        delete from events where partition = ${partition}
          and id > (select pruned_through from horizon) and id <= (select id from bound)
        returning id
      ),
      moved as (
        update event_horizon set pruned_through = greatest(pruned_through, (select max(id) from deleted))
        where partition = ${partition} and exists (select 1 from deleted)
        returning 1
      )
    select count(*)::int as n from deleted
  `);
  const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { n: number }[];
  return Number(rows[0]?.n ?? 0);
}
