import { and, asc, eq, exists, inArray, ne, or } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../client.js';
import { blocks, conversations, members, users } from '../schema.js';

export async function insertBlock(db: Executor, blockerId: string, blockedId: string) {
  await db.insert(blocks).values({ blockerId, blockedId }).onConflictDoNothing();
}

export async function deleteBlock(db: Executor, blockerId: string, blockedId: string) {
  await db.delete(blocks).where(and(eq(blocks.blockerId, blockerId), eq(blocks.blockedId, blockedId)));
}

/** The users `blockerId` has blocked, oldest block first. */
export async function listBlocked(db: Executor, blockerId: string) {
  return db
    .select({ user: users, blockedAt: blocks.createdAt })
    .from(blocks)
    .innerJoin(users, eq(users.id, blocks.blockedId))
    .where(eq(blocks.blockerId, blockerId))
    .orderBy(asc(blocks.createdAt), asc(blocks.blockedId));
}

/** Which of the pair blocked the other: `aBlockedB`, `bBlockedA`. */
export async function blocksBetween(db: Executor, a: string, b: string) {
  const rows = await db
    .select({ blockerId: blocks.blockerId })
    .from(blocks)
    .where(
      or(and(eq(blocks.blockerId, a), eq(blocks.blockedId, b)), and(eq(blocks.blockerId, b), eq(blocks.blockedId, a))),
    );
  return { aBlockedB: rows.some((r) => r.blockerId === a), bBlockedA: rows.some((r) => r.blockerId === b) };
}

/** Of `candidateIds`, those who have blocked `userId` (they hide their presence from them). */
export async function blockersAmong(db: Executor, userId: string, candidateIds: string[]): Promise<Set<string>> {
  if (candidateIds.length === 0) return new Set();
  const rows = await db
    .select({ id: blocks.blockerId })
    .from(blocks)
    .where(and(eq(blocks.blockedId, userId), inArray(blocks.blockerId, candidateIds)));
  return new Set(rows.map((r) => r.id));
}

/** Everyone `userId` has blocked (the client hides their messages in groups). */
export async function blockedIdsOf(db: Executor, userId: string): Promise<string[]> {
  const rows = await db.select({ id: blocks.blockedId }).from(blocks).where(eq(blocks.blockerId, userId));
  return rows.map((r) => r.id);
}

/**
 * In one statement (it runs before every send): in the direct conversation `conversationId`,
 * whether the other member blocked `userId`, and whether `userId` blocked them. Groups: neither.
 */
export async function directBlocks(db: Executor, conversationId: string, userId: string) {
  const mine = alias(members, 'mine');
  const rows = await db
    .select({ blockerId: blocks.blockerId })
    .from(members)
    .innerJoin(conversations, and(eq(conversations.id, members.conversationId), eq(conversations.kind, 'direct')))
    .innerJoin(
      blocks,
      or(
        and(eq(blocks.blockerId, members.userId), eq(blocks.blockedId, userId)),
        and(eq(blocks.blockerId, userId), eq(blocks.blockedId, members.userId)),
      ),
    )
    .where(
      and(
        eq(members.conversationId, conversationId),
        ne(members.userId, userId),
        // Only for a member: a stranger learns nothing about someone else's conversation.
        exists(
          db
            .select()
            .from(mine)
            .where(and(eq(mine.conversationId, conversationId), eq(mine.userId, userId))),
        ),
      ),
    );
  return { blockedMe: rows.some((r) => r.blockerId !== userId), iBlocked: rows.some((r) => r.blockerId === userId) };
}
