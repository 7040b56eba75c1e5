/** Edits, deletes and reactions, and what a presented message needs beside its row. */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { messageReactions, messages, type AttachmentRow } from '../schema.js';
import { attachmentsOfMessages } from './attachments.js';
import { EXCERPT_LENGTH, messageColumns, type StoredReplyTo } from './messages.js';

/**
 * The message, locked for the rest of the transaction (edits, deletes and reactions of one
 * message then take turns), with whether `userId` is a member of its conversation.
 */
export async function lockMessage(tx: Tx, messageId: string, userId: string) {
  const [row] = await tx
    .select({
      message: messageColumns,
      // Spelled out: drizzle leaves columns unqualified in a select list, which inside this
      // subquery would compare conversation_members with itself.
      isMember: sql<boolean>`exists (select 1 from conversation_members cm where cm.conversation_id = "messages"."conversation_id" and cm.user_id = ${userId})`,
    })
    .from(messages)
    .where(eq(messages.id, messageId))
    .for('update');
  return row;
}

export async function setMessageBody(tx: Tx, messageId: string, body: string) {
  const [row] = await tx
    .update(messages)
    .set({ body, editedAt: sql`now()` })
    .where(eq(messages.id, messageId))
    .returning(messageColumns);
  return row!;
}

/** Deletes for everyone: the row stays (its seq keeps the sequence dense), its content goes. */
export async function tombstoneMessage(tx: Tx, messageId: string) {
  await tx.delete(messageReactions).where(eq(messageReactions.messageId, messageId));
  const [row] = await tx
    .update(messages)
    .set({ body: '', deletedAt: sql`now()`, replyToId: null })
    .where(eq(messages.id, messageId))
    .returning(messageColumns);
  return row!;
}

export type ReactionChange = 'added' | 'unchanged' | 'too-many';

/**
 * Adds one user's reaction; a second identical one changes nothing. A new emoji on a message that
 * already has `maxDistinct` different ones is refused. Call with the message locked (lockMessage).
 */
export async function addReaction(
  tx: Tx,
  messageId: string,
  userId: string,
  emoji: string,
  maxDistinct: number,
): Promise<ReactionChange> {
  const existing = await tx
    .select({ emoji: messageReactions.emoji, mine: sql<boolean>`bool_or(${messageReactions.userId} = ${userId})` })
    .from(messageReactions)
    .where(eq(messageReactions.messageId, messageId))
    .groupBy(messageReactions.emoji);
  const same = existing.find((r) => r.emoji === emoji);
  if (same?.mine) return 'unchanged';
  if (!same && existing.length >= maxDistinct) return 'too-many';
  await tx.insert(messageReactions).values({ messageId, userId, emoji }).onConflictDoNothing();
  return 'added';
}

export async function removeReaction(tx: Tx, messageId: string, userId: string, emoji: string) {
  const removed = await tx
    .delete(messageReactions)
    .where(
      and(
        eq(messageReactions.messageId, messageId),
        eq(messageReactions.userId, userId),
        eq(messageReactions.emoji, emoji),
      ),
    )
    .returning({ emoji: messageReactions.emoji });
  return removed.length > 0;
}

export interface MessageDetails {
  replyTo: StoredReplyTo | null;
  /** In upload order. */
  attachments: AttachmentRow[];
  /** In the order each emoji was first used; users in the order they reacted. */
  reactions: { emoji: string; userIds: string[] }[];
}

/**
 * The replies' quoted messages (as they are now: edits show, a deleted one has no excerpt) and the
 * reactions of several messages, in two queries.
 */
export async function messageDetails(
  db: Executor,
  rows: { id: string; replyToId: string | null }[],
): Promise<Map<string, MessageDetails>> {
  const out = new Map<string, MessageDetails>();
  if (rows.length === 0) return out;
  const replyIds = [...new Set(rows.flatMap((r) => (r.replyToId ? [r.replyToId] : [])))];
  const quoted = replyIds.length
    ? await db
        .select({
          id: messages.id,
          seq: messages.seq,
          senderId: messages.senderId,
          excerpt: sql<
            string | null
          >`case when ${messages.deletedAt} is null then left(${messages.body}, ${sql.raw(String(EXCERPT_LENGTH))}) end`,
        })
        .from(messages)
        .where(inArray(messages.id, replyIds))
    : [];
  const byId = new Map(quoted.map((q) => [q.id, q]));
  const reactions = await db
    .select({ messageId: messageReactions.messageId, emoji: messageReactions.emoji, userId: messageReactions.userId })
    .from(messageReactions)
    .where(
      inArray(
        messageReactions.messageId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(messageReactions.createdAt), asc(messageReactions.userId));
  const files = await attachmentsOfMessages(
    db,
    rows.map((r) => r.id),
  );
  for (const r of rows) {
    out.set(r.id, {
      replyTo: (r.replyToId && byId.get(r.replyToId)) || null,
      reactions: [],
      attachments: files.filter((f) => f.messageId === r.id),
    });
  }
  for (const r of reactions) {
    const list = out.get(r.messageId)!.reactions;
    const entry = list.find((e) => e.emoji === r.emoji);
    if (entry) entry.userIds.push(r.userId);
    else list.push({ emoji: r.emoji, userIds: [r.userId] });
  }
  return out;
}
