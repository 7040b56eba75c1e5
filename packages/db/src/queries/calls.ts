import { and, eq, inArray, lte, ne, or, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { calls } from '../schema.js';

/**
 * Call state lives in PostgreSQL. Every transition is one conditional UPDATE whose WHERE states
 * the state it leaves, so that two racing transitions (two devices accepting, accept vs. hangup,
 * the ring sweeper vs. accept) cannot both win: the loser updates no row.
 */

export async function findCall(db: Executor, callId: string) {
  const [row] = await db.select().from(calls).where(eq(calls.id, callId)).limit(1);
  return row;
}

/**
 * Serializes call starts that involve the same users until the transaction ends (advisory locks
 * taken in a fixed order, so two starts in opposite directions cannot deadlock).
 */
export async function lockCallParticipants(tx: Tx, userIds: string[]) {
  for (const id of [...new Set(userIds)].sort()) {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${'call:' + id}, 0))`);
  }
}

/**
 * The calls not ended in which any of `userIds` takes part. A ringing call past its deadline no
 * longer counts: the sweeper is about to end it as missed.
 */
export async function liveCallsOf(db: Executor, userIds: string[]) {
  if (userIds.length === 0) return [];
  return db
    .select()
    .from(calls)
    .where(
      and(
        ne(calls.state, 'ended'),
        or(inArray(calls.callerId, userIds), inArray(calls.calleeId, userIds)),
        sql`not (${calls.state} = 'ringing' and ${calls.ringDeadline} <= now())`,
      ),
    );
}

/** Ringing calls where `userId` is the callee (to ring a device that subscribes late). */
export async function ringingCallsFor(db: Executor, userId: string) {
  return db
    .select()
    .from(calls)
    .where(and(eq(calls.calleeId, userId), eq(calls.state, 'ringing'), sql`${calls.ringDeadline} > now()`));
}

export async function insertRingingCall(
  db: Executor,
  values: { conversationId: string; callerId: string; calleeId: string; media: 'audio' | 'video'; ringTimeoutMs: number },
) {
  const [row] = await db
    .insert(calls)
    .values({
      conversationId: values.conversationId,
      callerId: values.callerId,
      calleeId: values.calleeId,
      media: values.media,
      state: 'ringing',
      ringDeadline: sql`now() + ${values.ringTimeoutMs} * interval '1 millisecond'`,
    })
    .returning();
  return row!;
}

/** A refused attempt, stored already ended (endReason 'busy') so that it shows in call history. */
export async function insertBusyCall(
  db: Executor,
  values: { conversationId: string; callerId: string; calleeId: string; media: 'audio' | 'video' },
) {
  const [row] = await db
    .insert(calls)
    .values({ ...values, state: 'ended', endReason: 'busy', endedAt: sql`now()`, ringDeadline: sql`now()` })
    .returning();
  return row!;
}

/** ringing → active, by the callee, before the ring deadline. */
export async function acceptCall(db: Executor, callId: string, calleeId: string) {
  const [row] = await db
    .update(calls)
    .set({ state: 'active', answeredAt: sql`now()` })
    .where(
      and(eq(calls.id, callId), eq(calls.calleeId, calleeId), eq(calls.state, 'ringing'), sql`${calls.ringDeadline} > now()`),
    )
    .returning();
  return row;
}

/** ringing → ended/declined, by the callee. */
export async function declineCall(db: Executor, callId: string, calleeId: string) {
  const [row] = await db
    .update(calls)
    .set({ state: 'ended', endReason: 'declined', endedAt: sql`now()` })
    .where(and(eq(calls.id, callId), eq(calls.calleeId, calleeId), eq(calls.state, 'ringing')))
    .returning();
  return row;
}

/**
 * Any live call → ended, by either participant: an active call ends as 'hangup'; a ringing call
 * cancelled by the caller ends as 'missed' (the callee missed it), and one hung up by the callee
 * as 'declined'.
 */
export async function hangupCall(db: Executor, callId: string, userId: string) {
  const [row] = await db
    .update(calls)
    .set({
      state: 'ended',
      endedAt: sql`now()`,
      endReason: sql`case when ${calls.state} = 'active' then 'hangup'
                          when ${calls.callerId} = ${userId} then 'missed'
                          else 'declined' end`,
    })
    .where(and(eq(calls.id, callId), ne(calls.state, 'ended'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))))
    .returning();
  return row;
}

/**
 * The live calls of a participant who has gone away: an active call ends as 'failed', a call they
 * are ringing out as 'missed' (a call ringing FOR them keeps ringing until its deadline: they may
 * come back). Each row is won by exactly one instance.
 */
export async function endCallsAbandonedBy(db: Executor, userId: string) {
  return db
    .update(calls)
    .set({
      state: 'ended',
      endedAt: sql`now()`,
      endReason: sql`case when ${calls.state} = 'active' then 'failed' else 'missed' end`,
    })
    .where(
      or(
        and(eq(calls.state, 'active'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))),
        and(eq(calls.state, 'ringing'), eq(calls.callerId, userId)),
      ),
    )
    .returning();
}

/** Ends every ringing call past its deadline as missed; each row is won by exactly one sweeper. */
export async function endOverdueRingingCalls(db: Executor) {
  return db
    .update(calls)
    .set({ state: 'ended', endReason: 'missed', endedAt: sql`now()` })
    .where(and(eq(calls.state, 'ringing'), lte(calls.ringDeadline, sql`now()`)))
    .returning();
}
