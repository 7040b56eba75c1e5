import { and, asc, eq, gt, lte, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { eventClock, events } from '../schema.js';

/**
 * Appends an event inside the caller's transaction. Call it last: from here to commit the
 * transaction holds the clock row, which is what makes ids dense and visible in order.
 */
export async function appendEvent(tx: Tx, recipients: string[], payload: unknown): Promise<number> {
  const [clock] = await tx
    .update(eventClock)
    .set({ value: sql`${eventClock.value} + 1` })
    .where(eq(eventClock.id, 1))
    .returning({ value: eventClock.value });
  const id = Number(clock!.value);
  await tx.insert(events).values({ id, recipients, payload });
  return id;
}

/** The id of this database's event log (see `eventClock.logId`). */
export async function eventLogId(db: Executor): Promise<string> {
  const [row] = await db.select({ logId: eventClock.logId }).from(eventClock).where(eq(eventClock.id, 1));
  return row!.logId;
}

/** The id of the newest committed event. */
export async function latestEventId(db: Executor): Promise<number> {
  const [row] = await db.select({ value: eventClock.value }).from(eventClock).where(eq(eventClock.id, 1));
  return Number(row?.value ?? 0);
}

/** A user's events after `afterId`, oldest first (the replay of a resuming subscriber). */
export async function eventsForUserAfter(db: Executor, userId: string, afterId: number, limit: number) {
  return db
    .select({ id: events.id, payload: events.payload })
    .from(events)
    .where(and(gt(events.id, afterId), sql`${events.recipients} @> array[${userId}]::uuid[]`))
    .orderBy(asc(events.id))
    .limit(limit);
}

/** Every event with `afterId < id <= toId`, oldest first (an instance catching up). */
export async function eventsBetween(db: Executor, afterId: number, toId: number) {
  return db
    .select({ id: events.id, recipients: events.recipients, payload: events.payload })
    .from(events)
    .where(and(gt(events.id, afterId), lte(events.id, toId)))
    .orderBy(asc(events.id));
}
