import { and, eq, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { users } from '../schema.js';

export async function insertUser(db: Executor, values: { email: string; displayName: string; passwordHash: string }) {
  const [row] = await db.insert(users).values(values).returning();
  return row!;
}

export async function findUserByEmail(db: Executor, email: string) {
  const [row] = await db.select().from(users).where(sql`lower(${users.email}) = lower(${email})`).limit(1);
  return row;
}

export async function findUserById(db: Executor, id: string) {
  const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return row;
}

export async function findUsersByIds(db: Executor, ids: string[]) {
  if (ids.length === 0) return [];
  return db.select().from(users).where(inArray(users.id, ids));
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Any part of the display name (a word, the middle of a word) or the exact email, both
 * case-insensitive; never the caller. Names that start with the query come first, then those
 * where it appears earliest. The trigram index (users_display_name_trgm_idx) serves the
 * `like '%...%'` from three characters on.
 */
export async function searchUsers(db: Executor, query: string, excludeUserId: string, limit: number) {
  const q = query.toLowerCase();
  const anywhere = `%${escapeLike(q)}%`;
  return db
    .select()
    .from(users)
    .where(
      and(
        ne(users.id, excludeUserId),
        isNull(users.deletedAt),
        or(sql`lower(${users.displayName}) like ${anywhere}`, sql`lower(${users.email}) = lower(${query})`),
      ),
    )
    .orderBy(
      sql`nullif(strpos(lower(${users.displayName}), ${q}), 0) asc nulls last`,
      sql`lower(${users.displayName})`,
      users.id,
    )
    .limit(limit);
}

export async function updateUser(db: Executor, id: string, values: { displayName?: string; about?: string }) {
  const [row] = await db.update(users).set(values).where(eq(users.id, id)).returning();
  return row;
}

export async function setLastSeen(db: Executor, ids: string[], at: string) {
  if (ids.length === 0) return;
  await db.update(users).set({ lastSeenAt: at }).where(inArray(users.id, ids));
}
