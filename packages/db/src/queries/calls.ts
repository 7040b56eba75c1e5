import { and, asc, desc, eq, inArray, isNull, lt, lte, ne, or, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { callParticipants, calls, members } from '../schema.js';

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
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`call:${id}`}, 0))`);
  }
}

/**
 * The calls ringing for `userId` (to ring a device that subscribes late): direct calls where they
 * are the callee, and group calls of their conversations still within the ring time that they
 * neither started nor joined and were not busy for.
 */
export async function ringingCallsFor(db: Executor, userId: string) {
  const direct = await db
    .select()
    .from(calls)
    .where(and(eq(calls.calleeId, userId), eq(calls.state, 'ringing'), sql`${calls.ringDeadline} > now()`));
  const group = await db
    .select({ call: calls })
    .from(calls)
    .innerJoin(members, and(eq(members.conversationId, calls.conversationId), eq(members.userId, userId)))
    .where(
      and(
        eq(calls.kind, 'group'),
        ne(calls.state, 'ended'),
        sql`${calls.ringDeadline} > now()`,
        ne(calls.callerId, userId),
        sql`not (${userId}::uuid = any(${calls.busyUserIds}))`,
        sql`not exists (select 1 from ${callParticipants} p where p.call_id = ${calls.id} and p.user_id = ${userId})`,
      ),
    );
  return [...direct, ...group.map((r) => r.call)];
}

/**
 * Which of `userIds` are busy: in a live call (a participant who has not left), or rung by a
 * direct call. Being rung by a group call is not busy. `exceptCallId` is not counted.
 */
export async function busyAmong(db: Executor, userIds: string[], exceptCallId?: string): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const live = and(
    ne(calls.state, 'ended'),
    sql`not (${calls.state} = 'ringing' and ${calls.ringDeadline} <= now())`,
    exceptCallId ? ne(calls.id, exceptCallId) : undefined,
  );
  const inCall = await db
    .select({ userId: callParticipants.userId })
    .from(callParticipants)
    .innerJoin(calls, eq(calls.id, callParticipants.callId))
    .where(and(inArray(callParticipants.userId, userIds), isNull(callParticipants.leftAt), live));
  const rung = await db
    .select({ userId: calls.calleeId })
    .from(calls)
    .where(and(inArray(calls.calleeId, userIds), live));
  return new Set([...inCall, ...rung].map((r) => r.userId).filter((id): id is string => id !== null));
}

/** The live group call of a conversation, if there is one. */
export async function liveGroupCallIn(db: Executor, conversationId: string) {
  const [row] = await db
    .select()
    .from(calls)
    .where(
      and(
        eq(calls.conversationId, conversationId),
        eq(calls.kind, 'group'),
        ne(calls.state, 'ended'),
        sql`not (${calls.state} = 'ringing' and ${calls.ringDeadline} <= now())`,
      ),
    )
    .limit(1);
  return row;
}

/** Serializes group call starts in one conversation (two members pressing call at once get one call). */
export async function lockConversationCalls(tx: Tx, conversationId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`callconv:${conversationId}`}, 0))`);
}

/** The call row, locked until the transaction ends (joins and leaves of one call in turn). */
export async function lockCall(tx: Tx, callId: string) {
  const [row] = await tx
    .select({ call: calls, overdue: sql<boolean>`${calls.ringDeadline} <= now()` })
    .from(calls)
    .where(eq(calls.id, callId))
    .for('update')
    .limit(1);
  return row;
}

export async function insertGroupCall(
  db: Executor,
  values: {
    conversationId: string;
    callerId: string;
    media: 'audio' | 'video';
    busyUserIds: string[];
    ringTimeoutMs: number;
  },
) {
  const [row] = await db
    .insert(calls)
    .values({
      conversationId: values.conversationId,
      callerId: values.callerId,
      calleeId: null,
      kind: 'group',
      busyUserIds: values.busyUserIds,
      media: values.media,
      state: 'ringing',
      ringDeadline: sql`now() + ${values.ringTimeoutMs} * interval '1 millisecond'`,
    })
    .returning();
  return row!;
}

/** Puts a person in a call on one device (again, if they had left). */
export async function joinParticipant(db: Executor, callId: string, userId: string, deviceId: string) {
  await db
    .insert(callParticipants)
    .values({ callId, userId, deviceId })
    .onConflictDoUpdate({
      target: [callParticipants.callId, callParticipants.userId],
      set: { deviceId, leftAt: null },
    });
}

/** Marks a participant as gone; false if they were not in the call. */
export async function leaveParticipant(db: Executor, callId: string, userId: string) {
  const rows = await db
    .update(callParticipants)
    .set({ leftAt: sql`now()` })
    .where(
      and(eq(callParticipants.callId, callId), eq(callParticipants.userId, userId), isNull(callParticipants.leftAt)),
    )
    .returning({ userId: callParticipants.userId });
  return rows.length > 0;
}

/** Everyone still in the given calls leaves them (the calls ended). */
export async function closeParticipants(db: Executor, callIds: string[]) {
  if (callIds.length === 0) return;
  await db
    .update(callParticipants)
    .set({ leftAt: sql`now()` })
    .where(and(inArray(callParticipants.callId, callIds), isNull(callParticipants.leftAt)));
}

export async function participantsOf(db: Executor, callIds: string[]) {
  if (callIds.length === 0) return [];
  return db
    .select()
    .from(callParticipants)
    .where(inArray(callParticipants.callId, callIds))
    .orderBy(asc(callParticipants.joinedAt), asc(callParticipants.userId));
}

/** A group call → active once a second person is in it (answeredAt = when that happened). */
export async function markGroupCallActive(db: Executor, callId: string) {
  const [row] = await db
    .update(calls)
    .set({ state: 'active', answeredAt: sql`now()` })
    .where(and(eq(calls.id, callId), eq(calls.state, 'ringing')))
    .returning();
  return row;
}

/** A group call that nobody is in any more ends: 'hangup' if it ever connected two people, else 'missed'. */
export async function endEmptyGroupCall(db: Executor, callId: string) {
  const [row] = await db
    .update(calls)
    .set({
      state: 'ended',
      endedAt: sql`now()`,
      endReason: sql`case when ${calls.answeredAt} is null then 'missed' else 'hangup' end`,
    })
    .where(
      and(
        eq(calls.id, callId),
        ne(calls.state, 'ended'),
        sql`not exists (select 1 from ${callParticipants} p where p.call_id = ${calls.id} and p.left_at is null)`,
      ),
    )
    .returning();
  return row;
}

/** The live group calls `userId` is still in (to take them out when they have gone away). */
export async function liveGroupCallsJoinedBy(db: Executor, userId: string) {
  const rows = await db
    .select({ id: calls.id })
    .from(callParticipants)
    .innerJoin(calls, eq(calls.id, callParticipants.callId))
    .where(
      and(
        eq(callParticipants.userId, userId),
        isNull(callParticipants.leftAt),
        eq(calls.kind, 'group'),
        ne(calls.state, 'ended'),
      ),
    );
  return rows.map((r) => r.id);
}

/** A conversation's calls, newest first (its call history). */
export async function callsInConversation(
  db: Executor,
  conversationId: string,
  before: string | undefined,
  limit: number,
) {
  return db
    .select()
    .from(calls)
    .where(and(eq(calls.conversationId, conversationId), before ? lt(calls.createdAt, before) : undefined))
    .orderBy(desc(calls.createdAt), desc(calls.id))
    .limit(limit);
}

export async function insertRingingCall(
  db: Executor,
  values: {
    conversationId: string;
    callerId: string;
    calleeId: string;
    media: 'audio' | 'video';
    ringTimeoutMs: number;
  },
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
      and(
        eq(calls.id, callId),
        eq(calls.calleeId, calleeId),
        eq(calls.state, 'ringing'),
        sql`${calls.ringDeadline} > now()`,
      ),
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
    .where(
      and(eq(calls.id, callId), ne(calls.state, 'ended'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))),
    )
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
      and(
        eq(calls.kind, 'direct'),
        or(
          and(eq(calls.state, 'active'), or(eq(calls.callerId, userId), eq(calls.calleeId, userId))),
          and(eq(calls.state, 'ringing'), eq(calls.callerId, userId)),
        ),
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
