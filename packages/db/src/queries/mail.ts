import { and, asc, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { mailOutbox } from '../schema.js';

/** Queues a mail job; due at once. */
export async function insertMailJob(db: Executor, kind: string, payload: unknown) {
  const [row] = await db.insert(mailOutbox).values({ kind, payload }).returning({ id: mailOutbox.id });
  return row!.id;
}

/**
 * Claims the oldest due job for `owner` for `leaseMs`: unclaimed, or left by an instance whose
 * lease ran out. SKIP LOCKED lets two instances claim at once without waiting for, or taking,
 * each other's row.
 */
export async function claimMailJob(db: Executor, owner: string, leaseMs: number) {
  const due = db
    .select({ id: mailOutbox.id })
    .from(mailOutbox)
    .where(
      and(
        lte(mailOutbox.runAt, sql`now()`),
        or(isNull(mailOutbox.claimedUntil), lt(mailOutbox.claimedUntil, sql`now()`)),
      ),
    )
    .orderBy(asc(mailOutbox.runAt))
    .limit(1)
    .for('update', { skipLocked: true });
  const [row] = await db
    .update(mailOutbox)
    .set({
      claimedBy: owner,
      claimedUntil: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
      attempts: sql`${mailOutbox.attempts} + 1`,
    })
    .where(eq(mailOutbox.id, sql`(${due})`))
    .returning();
  return row;
}

/** Marks the job as being sent, if `owner` still holds it; false when its lease was lost. */
export async function markMailSending(db: Executor, id: string, owner: string): Promise<boolean> {
  const rows = await db
    .update(mailOutbox)
    .set({ sendingAt: sql`now()` })
    .where(and(eq(mailOutbox.id, id), eq(mailOutbox.claimedBy, owner), gt(mailOutbox.claimedUntil, sql`now()`)))
    .returning({ id: mailOutbox.id });
  return rows.length > 0;
}

/** A job done (sent, nothing to send, or given up on). */
export async function deleteMailJob(db: Executor, id: string) {
  await db.delete(mailOutbox).where(eq(mailOutbox.id, id));
}

/** Releases the job to run again after `delayMs` (0: as soon as anyone looks). */
export async function retryMailJob(db: Executor, id: string, delayMs: number, lastError: string | null) {
  await db
    .update(mailOutbox)
    .set({
      claimedBy: null,
      claimedUntil: null,
      sendingAt: null,
      lastError,
      runAt: sql`now() + make_interval(secs => ${delayMs / 1000})`,
    })
    .where(eq(mailOutbox.id, id));
}
