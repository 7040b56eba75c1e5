import { and, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, Executor } from '../client.js';
import { refreshTokens, sessions } from '../schema.js';

const activeSession = () => and(isNull(sessions.revokedAt), gt(sessions.expiresAt, sql`now()`));

export async function createSession(
  db: Db,
  values: { userId: string; userAgent: string | null; expiresAt: string; tokenHash: string },
) {
  return db.transaction(async (tx) => {
    const [session] = await tx
      .insert(sessions)
      .values({ userId: values.userId, userAgent: values.userAgent, expiresAt: values.expiresAt })
      .returning();
    await tx.insert(refreshTokens).values({ tokenHash: values.tokenHash, sessionId: session!.id });
    return session!;
  });
}

export type RotateResult =
  | { kind: 'ok'; session: typeof sessions.$inferSelect }
  | { kind: 'reused'; sessionId: string }
  | { kind: 'invalid' };

/**
 * Marks the presented refresh token used and issues its successor, atomically: of two requests
 * racing with one token, exactly one wins. A token that was already used revokes its session.
 */
export async function rotateRefreshToken(
  db: Db,
  presentedHash: string,
  nextHash: string,
  nextExpiresAt: string,
): Promise<RotateResult> {
  return db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(refreshTokens)
      .set({ usedAt: sql`now()` })
      .where(and(eq(refreshTokens.tokenHash, presentedHash), isNull(refreshTokens.usedAt)))
      .returning({ sessionId: refreshTokens.sessionId });
    if (!claimed) {
      const [known] = await tx
        .select({ sessionId: refreshTokens.sessionId })
        .from(refreshTokens)
        .where(eq(refreshTokens.tokenHash, presentedHash));
      if (!known) return { kind: 'invalid' } as const;
      await tx
        .update(sessions)
        .set({ revokedAt: sql`now()` })
        .where(and(eq(sessions.id, known.sessionId), isNull(sessions.revokedAt)));
      return { kind: 'reused', sessionId: known.sessionId } as const;
    }
    const [session] = await tx
      .update(sessions)
      .set({ lastUsedAt: sql`now()`, expiresAt: nextExpiresAt })
      .where(and(eq(sessions.id, claimed.sessionId), activeSession()))
      .returning();
    if (!session) return { kind: 'invalid' } as const;
    await tx.insert(refreshTokens).values({ tokenHash: nextHash, sessionId: session.id });
    return { kind: 'ok', session } as const;
  });
}

export async function findActiveSession(db: Executor, id: string) {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), activeSession()))
    .limit(1);
  return row;
}

export async function revokeSession(db: Executor, id: string) {
  await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.id, id), isNull(sessions.revokedAt)));
}

/** Revokes one active session of this user; false when there is none with that id. */
export async function revokeUserSession(db: Executor, userId: string, id: string): Promise<boolean> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.id, id), eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.length > 0;
}

export async function revokeUserSessions(db: Executor, userId: string): Promise<string[]> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.map((r) => r.id);
}

export async function listActiveSessions(db: Executor, userId: string) {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), activeSession()))
    .orderBy(desc(sessions.lastUsedAt));
}

/** Of the given session ids, those that are no longer active. */
export async function findInactiveSessionIds(db: Executor, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: sessions.id })
    .from(sessions)
    .where(and(inArray(sessions.id, ids), activeSession()));
  const active = new Set(rows.map((r) => r.id));
  return ids.filter((id) => !active.has(id));
}

/** The user whose active session holds this unused refresh token, or null (the sign-in throttle's "known device"). */
export async function findRefreshTokenOwner(db: Executor, tokenHash: string): Promise<string | null> {
  const [row] = await db
    .select({ userId: sessions.userId })
    .from(refreshTokens)
    .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
    .where(and(eq(refreshTokens.tokenHash, tokenHash), isNull(refreshTokens.usedAt), activeSession()));
  return row?.userId ?? null;
}
