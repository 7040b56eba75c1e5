import { and, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { attachments, members, messages, users, type AttachmentRow } from '../schema.js';

export type NewAttachment = typeof attachments.$inferInsert;

export async function insertAttachment(db: Executor, values: NewAttachment) {
  const [row] = await db.insert(attachments).values(values).returning();
  return row!;
}

export async function findAttachment(db: Executor, id: string) {
  const [row] = await db.select().from(attachments).where(eq(attachments.id, id)).limit(1);
  return row;
}

/** The checked facts of an upload whose bytes are now stored; only while it is still pending. */
export async function markAttachmentReady(
  db: Executor,
  id: string,
  values: Pick<AttachmentRow, 'contentType' | 'kind' | 'size' | 'width' | 'height' | 'durationMs' | 'thumbnailKey'>,
) {
  const [row] = await db
    .update(attachments)
    .set({ ...values, state: 'ready' })
    .where(and(eq(attachments.id, id), eq(attachments.state, 'pending')))
    .returning();
  return row;
}

/**
 * Claims ready, unsent uploads of the sender in that conversation for one message id. All or
 * nothing: answers null (and claims none) unless every id qualifies.
 */
export async function claimAttachments(
  db: Executor,
  ids: string[],
  claim: { uploaderId: string; conversationId: string; messageId: string },
): Promise<AttachmentRow[] | null> {
  return db
    .transaction(async (tx) => {
      const rows = await tx
        .update(attachments)
        .set({ messageId: claim.messageId })
        .where(
          and(
            inArray(attachments.id, ids),
            eq(attachments.uploaderId, claim.uploaderId),
            eq(attachments.conversationId, claim.conversationId),
            eq(attachments.purpose, 'message'),
            eq(attachments.state, 'ready'),
            isNull(attachments.messageId),
          ),
        )
        .returning();
      // Thrown to roll the claim back: not every id qualified.
      if (rows.length !== new Set(ids).size) throw new NotAllClaimed();
      return rows;
    })
    .catch((err: unknown) => {
      if (err instanceof NotAllClaimed) return null;
      throw err;
    });
}

class NotAllClaimed extends Error {}

/** Gives back a claim whose message was not written (a duplicate send). */
export async function releaseAttachments(db: Executor, messageId: string) {
  await db.update(attachments).set({ messageId: null }).where(eq(attachments.messageId, messageId));
}

/** The attachments of these messages, in upload order. */
export async function attachmentsOfMessages(db: Executor, messageIds: string[]) {
  if (messageIds.length === 0) return [];
  return db
    .select()
    .from(attachments)
    .where(inArray(attachments.messageId, messageIds))
    .orderBy(attachments.createdAt, attachments.id);
}

/**
 * The attachment if `userId` may download it: its uploader (before it is sent, for previews),
 * a member of the conversation its message is in, or, for an avatar in use, anyone signed in.
 */
export async function findDownloadable(db: Executor, id: string, userId: string) {
  const [row] = await db
    .select()
    .from(attachments)
    .where(
      and(
        eq(attachments.id, id),
        eq(attachments.state, 'ready'),
        sql`(
          ${attachments.uploaderId} = ${userId}
          or (${attachments.messageId} is not null and exists (
            select 1 from ${members} m join ${messages} x on x.conversation_id = m.conversation_id
            where x.id = ${attachments.messageId} and m.conversation_id = ${attachments.conversationId}
              and m.user_id = ${userId}))
          or (${attachments.purpose} = 'avatar' and exists (
            select 1 from ${users} u where u.avatar_attachment_id = ${attachments.id}))
        )`,
      ),
    )
    .limit(1);
  return row;
}

/** Deletes the rows and answers their storage keys (the caller deletes the bytes). */
export async function deleteAttachmentRows(
  db: Executor,
  where: { messageIds: string[] } | { uploaderId: string } | { ids: string[] },
): Promise<string[]> {
  const cond =
    'messageIds' in where
      ? where.messageIds.length === 0
        ? sql`false`
        : inArray(attachments.messageId, where.messageIds)
      : 'ids' in where
        ? where.ids.length === 0
          ? sql`false`
          : inArray(attachments.id, where.ids)
        : eq(attachments.uploaderId, where.uploaderId);
  const rows = await db
    .delete(attachments)
    .where(cond)
    .returning({ storageKey: attachments.storageKey, thumbnailKey: attachments.thumbnailKey });
  return rows.flatMap((r) => (r.thumbnailKey ? [r.storageKey, r.thumbnailKey] : [r.storageKey]));
}

/**
 * Uploads created before `before` that no message holds and no one uses as an avatar, and
 * claims whose message never got written (the process stopped in between).
 */
export async function orphanAttachmentIds(db: Executor, before: string, limit: number): Promise<string[]> {
  const rows = await db
    .select({ id: attachments.id })
    .from(attachments)
    .where(
      and(
        lt(attachments.createdAt, before),
        sql`(
          (${attachments.messageId} is null and not exists (
            select 1 from ${users} u where u.avatar_attachment_id = ${attachments.id}))
          or (${attachments.messageId} is not null and not exists (
            select 1 from ${messages} x where x.id = ${attachments.messageId}))
        )`,
      ),
    )
    .limit(limit);
  return rows.map((r) => r.id);
}

/** Sets the user's avatar to a ready avatar upload of theirs; answers the previous one's id. */
export async function setAvatar(db: Executor, userId: string, attachmentId: string | null) {
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ id: users.avatarAttachmentId })
      .from(users)
      .where(eq(users.id, userId))
      .for('update');
    if (!before) return { ok: false as const };
    if (attachmentId !== null) {
      const [ok] = await tx
        .select({ id: attachments.id })
        .from(attachments)
        .where(
          and(
            eq(attachments.id, attachmentId),
            eq(attachments.uploaderId, userId),
            eq(attachments.purpose, 'avatar'),
            eq(attachments.state, 'ready'),
            eq(attachments.kind, 'image'),
          ),
        );
      if (!ok) return { ok: false as const };
    }
    await tx.update(users).set({ avatarAttachmentId: attachmentId }).where(eq(users.id, userId));
    return { ok: true as const, previous: before.id === attachmentId ? null : before.id };
  });
}

/** The account is going: no picture any more (its file is deleted by the same eraser). */
export async function clearAvatar(db: Executor, userId: string) {
  await db.update(users).set({ avatarAttachmentId: null }).where(eq(users.id, userId));
}
