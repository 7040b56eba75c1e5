import { and, eq, ne, notExists } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../client.js';
import { blocks, members, users } from '../schema.js';

/** Everyone who shares at least one conversation with `userId` (not the user), with the last sighting. */
export async function contactsOf(db: Executor, userId: string): Promise<{ id: string; lastSeenAt: string | null }[]> {
  const mine = alias(members, 'mine');
  return db
    .selectDistinct({ id: users.id, lastSeenAt: users.lastSeenAt })
    .from(mine)
    .innerJoin(members, and(eq(members.conversationId, mine.conversationId), ne(members.userId, userId)))
    .innerJoin(users, eq(users.id, members.userId))
    .where(
      and(
        eq(mine.userId, userId),
        // Someone who blocked this user hides their presence from them.
        notExists(
          db
            .select()
            .from(blocks)
            .where(and(eq(blocks.blockerId, users.id), eq(blocks.blockedId, userId))),
        ),
      ),
    )
    .orderBy(users.id);
}
