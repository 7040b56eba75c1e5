import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { conversations, members, messages } from '../schema.js';

export async function findMessageByClientId(tx: Executor, conversationId: string, senderId: string, clientId: string) {
  const [row] = await tx
    .select()
    .from(messages)
    .where(
      and(eq(messages.conversationId, conversationId), eq(messages.senderId, senderId), eq(messages.clientId, clientId)),
    );
  return row;
}

/**
 * Stores a message with the conversation's next seq. The caller holds the conversation's row
 * lock (lockConversation), so seqs are dense and assigned in commit order.
 */
export async function insertMessage(
  tx: Tx,
  values: { conversationId: string; senderId: string; clientId: string; body: string },
) {
  const [conv] = await tx
    .update(conversations)
    .set({ lastSeq: sql`${conversations.lastSeq} + 1`, updatedAt: sql`now()` })
    .where(eq(conversations.id, values.conversationId))
    .returning({ lastSeq: conversations.lastSeq });
  const [message] = await tx
    .insert(messages)
    .values({ ...values, seq: conv!.lastSeq })
    .returning();
  // The sender has read what they wrote.
  await tx
    .update(members)
    .set({ lastReadSeq: conv!.lastSeq })
    .where(and(eq(members.conversationId, values.conversationId), eq(members.userId, values.senderId)));
  return message!;
}

/** Up to `limit` messages before `beforeSeq` (or the newest), in ascending seq. */
export async function listMessages(db: Executor, conversationId: string, beforeSeq: number | undefined, limit: number) {
  const rows = await db
    .select()
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), beforeSeq ? lt(messages.seq, beforeSeq) : undefined))
    .orderBy(desc(messages.seq))
    .limit(limit + 1);
  const hasMore = rows.length > limit;
  return { items: rows.slice(0, limit).reverse(), hasMore };
}

/** Moves the member's read position forward only, never past the last message. */
export async function advanceReadSeq(db: Executor, conversationId: string, userId: string, seq: number) {
  const [row] = await db
    .update(members)
    .set({
      lastReadSeq: sql`greatest(${members.lastReadSeq}, least(${seq}, (select ${conversations.lastSeq} from ${conversations} where ${conversations.id} = ${conversationId})))`,
    })
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ lastReadSeq: members.lastReadSeq });
  return row?.lastReadSeq;
}
