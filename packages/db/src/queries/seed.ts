import { sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { conversations, members, refreshTokens, sessions, users } from '../schema.js';

/** Rows per statement: well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 500;

function* chunks<T>(items: T[]) {
  for (let i = 0; i < items.length; i += CHUNK) yield items.slice(i, i + CHUNK);
}

/**
 * The benchmark's seeding path (apps/bench) and nothing else's: many users, each with a session,
 * in a few multi-row statements, instead of a bcrypt hash and several round trips per user
 * through the API. The caller brings the password hash and the refresh-token hashes.
 */
export async function seedUsersWithSessions(
  db: Db,
  rows: {
    email: string;
    displayName: string;
    passwordHash: string;
    sessionExpiresAt: string;
    refreshTokenHash: string;
  }[],
) {
  const seeded: { userId: string; sessionId: string; email: string }[] = [];
  for (const chunk of chunks(rows)) {
    await db.transaction(async (tx) => {
      const inserted = await tx
        .insert(users)
        .values(chunk.map((r) => ({ email: r.email, displayName: r.displayName, passwordHash: r.passwordHash })))
        .returning({ id: users.id, email: users.email });
      // RETURNING's order is not promised: match by email.
      const idByEmail = new Map(inserted.map((u) => [u.email, u.id]));
      const opened = await tx
        .insert(sessions)
        .values(
          chunk.map((r) => ({
            userId: idByEmail.get(r.email)!,
            userAgent: 'bench seed',
            expiresAt: r.sessionExpiresAt,
          })),
        )
        .returning({ id: sessions.id, userId: sessions.userId });
      const sessionByUser = new Map(opened.map((s) => [s.userId, s.id]));
      await tx
        .insert(refreshTokens)
        .values(
          chunk.map((r) => ({ tokenHash: r.refreshTokenHash, sessionId: sessionByUser.get(idByEmail.get(r.email)!)! })),
        );
      for (const r of chunk) {
        const userId = idByEmail.get(r.email)!;
        seeded.push({ userId, sessionId: sessionByUser.get(userId)!, email: r.email });
      }
    });
  }
  return seeded;
}

/** Group conversations (unique titles) with their members, in a few statements (the benchmark's seeding path). */
export async function seedGroups(db: Db, groups: { title: string; memberIds: string[] }[]) {
  const ids: string[] = [];
  for (const chunk of chunks(groups)) {
    await db.transaction(async (tx) => {
      const created = await tx
        .insert(conversations)
        .values(chunk.map((g) => ({ kind: 'group' as const, title: g.title })))
        .returning({ id: conversations.id, title: conversations.title });
      // RETURNING's order is not promised: match by title (the caller makes them unique).
      const idByTitle = new Map(created.map((c) => [c.title, c.id]));
      const rows = chunk.flatMap((g) =>
        g.memberIds.map((userId) => ({ conversationId: idByTitle.get(g.title)!, userId })),
      );
      await tx.insert(members).values(rows);
      ids.push(...chunk.map((g) => idByTitle.get(g.title)!));
    });
  }
  return ids;
}

/**
 * `perConversation` messages in each conversation (the search benchmark's seeding path): bodies
 * of 4-24 words drawn from `words` inside PostgreSQL, senders taken in turn from the members,
 * dense seqs, timestamps a second apart, and each conversation's last_seq set to match. The
 * search vector is computed by the database as for any insert.
 */
export async function seedMessages(db: Db, conversationIds: string[], perConversation: number, words: string[]) {
  const vocabulary = JSON.stringify(words);
  for (const conversationId of conversationIds) {
    await db.execute(sql`
      with vocab as (select array(select jsonb_array_elements_text(${vocabulary}::jsonb)) as w),
      senders as (select array_agg(user_id order by user_id) as ids from conversation_members where conversation_id = ${conversationId})
      insert into messages (conversation_id, sender_id, client_id, seq, body, created_at)
      select ${conversationId}::uuid, s.ids[1 + (n % array_length(s.ids, 1))], gen_random_uuid(), n,
        -- "+ k * 0" ties the aggregate to the inner query (with outer columns only, it would be the outer query's).
        (select string_agg(v.w[1 + floor(random() * array_length(v.w, 1))::int + k * 0], ' ')
           from generate_series(1, 4 + (random() * 20)::int + n * 0) as k),
        now() - make_interval(secs => ${perConversation} - n)
      from generate_series(1, ${perConversation}) as n, vocab v, senders s`);
    await db.execute(sql`update conversations set last_seq = ${perConversation} where id = ${conversationId}`);
  }
}
