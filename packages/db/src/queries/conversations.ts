import { and, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Executor, Tx } from '../client.js';
import { conversations, members, messages, users } from '../schema.js';
import { messageColumns } from './messages.js';

export type ConversationKind = 'direct' | 'group';

/** The conversation if `userId` is a member, with that member's read position. */
export async function findConversationForMember(db: Executor, conversationId: string, userId: string) {
  const [row] = await db
    .select({ conversation: conversations, lastReadSeq: members.lastReadSeq })
    .from(members)
    .innerJoin(conversations, eq(conversations.id, members.conversationId))
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .limit(1);
  return row;
}

/** Locks the conversation row for the rest of the transaction (membership and seq changes). */
export async function lockConversation(tx: Tx, conversationId: string) {
  const [row] = await tx.select().from(conversations).where(eq(conversations.id, conversationId)).for('update');
  return row;
}

export async function findConversation(db: Executor, conversationId: string) {
  const [row] = await db.select().from(conversations).where(eq(conversations.id, conversationId));
  return row;
}

export async function isMember(db: Executor, conversationId: string, userId: string) {
  const [row] = await db
    .select({ userId: members.userId })
    .from(members)
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)));
  return row !== undefined;
}

export async function memberIds(db: Executor, conversationId: string): Promise<string[]> {
  const rows = await db
    .select({ userId: members.userId })
    .from(members)
    .where(eq(members.conversationId, conversationId));
  return rows.map((r) => r.userId);
}

/** Members with their profiles and read positions, for several conversations at once. */
export async function membersOf(db: Executor, conversationIds: string[]) {
  if (conversationIds.length === 0) return [];
  return db
    .select({
      conversationId: members.conversationId,
      lastReadSeq: members.lastReadSeq,
      id: users.id,
      displayName: users.displayName,
      about: users.about,
      lastSeenAt: users.lastSeenAt,
      mutedUntil: members.mutedUntil,
      avatarAttachmentId: users.avatarAttachmentId,
    })
    .from(members)
    .innerJoin(users, eq(users.id, members.userId))
    .where(inArray(members.conversationId, conversationIds))
    .orderBy(members.joinedAt, users.id);
}

/** Get-or-create on the unique direct key: concurrent callers from either side get one row. */
export async function getOrCreateDirect(tx: Tx, a: string, b: string) {
  const directKey = [a, b].sort().join(':');
  const [created] = await tx
    .insert(conversations)
    .values({ kind: 'direct', directKey })
    .onConflictDoNothing({ target: conversations.directKey })
    .returning();
  if (created) {
    await tx.insert(members).values([
      { conversationId: created.id, userId: a },
      { conversationId: created.id, userId: b },
    ]);
    return { conversation: created, created: true };
  }
  const [existing] = await tx.select().from(conversations).where(eq(conversations.directKey, directKey));
  return { conversation: existing!, created: false };
}

export async function createGroup(tx: Tx, title: string, memberIdList: string[]) {
  const [conversation] = await tx.insert(conversations).values({ kind: 'group', title }).returning();
  await tx.insert(members).values(memberIdList.map((userId) => ({ conversationId: conversation!.id, userId })));
  return conversation!;
}

export async function addMembers(tx: Tx, conversationId: string, userIds: string[]) {
  if (userIds.length === 0) return [];
  const added = await tx
    .insert(members)
    .values(userIds.map((userId) => ({ conversationId, userId })))
    .onConflictDoNothing()
    .returning({ userId: members.userId });
  await membersChanged(tx, conversationId);
  return added.map((r) => r.userId);
}

export async function removeMember(tx: Tx, conversationId: string, userId: string) {
  const removed = await tx
    .delete(members)
    .where(and(eq(members.conversationId, conversationId), eq(members.userId, userId)))
    .returning({ userId: members.userId });
  await membersChanged(tx, conversationId);
  return removed.length > 0;
}

export async function renameConversation(tx: Tx, conversationId: string, title: string) {
  await tx.update(conversations).set({ title, updatedAt: sql`now()` }).where(eq(conversations.id, conversationId));
}

async function membersChanged(tx: Tx, conversationId: string) {
  await tx
    .update(conversations)
    .set({ updatedAt: sql`now()`, memberVersion: sql`${conversations.memberVersion} + 1` })
    .where(eq(conversations.id, conversationId));
}

export async function countExistingUsers(db: Executor, ids: string[]) {
  if (ids.length === 0) return 0;
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(users).where(inArray(users.id, ids));
  return Number(row!.n);
}

export interface ConversationCursor {
  updatedAt: string;
  id: string;
}

/**
 * A member's conversations, newest activity first, keyset-paged on (updated_at, id). The cursor
 * keeps PostgreSQL's own timestamp text so no microseconds are lost between pages.
 */
export async function listConversationsForMember(
  db: Executor,
  userId: string,
  limit: number,
  cursor: ConversationCursor | null,
) {
  return db
    .select({ conversation: conversations, lastReadSeq: members.lastReadSeq, lastMessage: messageColumns })
    .from(members)
    .innerJoin(conversations, eq(conversations.id, members.conversationId))
    .leftJoin(messages, and(eq(messages.conversationId, conversations.id), eq(messages.seq, conversations.lastSeq)))
    .where(
      and(
        eq(members.userId, userId),
        cursor
          ? or(
              lt(conversations.updatedAt, cursor.updatedAt),
              and(eq(conversations.updatedAt, cursor.updatedAt), lt(conversations.id, cursor.id)),
            )
          : undefined,
      ),
    )
    .orderBy(desc(conversations.updatedAt), desc(conversations.id))
    .limit(limit);
}

export async function lastMessageOf(db: Executor, conversationId: string, seq: number) {
  if (seq === 0) return undefined;
  const [row] = await db
    .select(messageColumns)
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), eq(messages.seq, seq)));
  return row;
}
