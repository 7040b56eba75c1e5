import { and, eq, ne } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../client.js';
import { members, users } from '../schema.js';

/** Everyone who shares at least one conversation with `userId` (not the user), with the last sighting. */
export async function contactsOf(db: Executor, userId: string): Promise<{ id: string; lastSeenAt: string | null }[]> {
  const mine = alias(members, 'mine');
  return db
    .selectDistinct({ id: users.id, lastSeenAt: users.lastSeenAt })
    .from(mine)
    .innerJoin(members, and(eq(members.conversationId, mine.conversationId), ne(members.userId, userId)))
    .innerJoin(users, eq(users.id, members.userId))
    .where(eq(mine.userId, userId))
    .orderBy(users.id);
}

