import { and, asc, eq, gt, isNull, lt, ne, or, sql } from 'drizzle-orm';
import type { Executor } from '../client.js';
import { blocks, emailTokens, passkeys, recoveryCodes, sessions, users, webauthnChallenges } from '../schema.js';

export type EmailTokenPurpose = 'verify' | 'reset';

export async function insertEmailToken(
  db: Executor,
  values: { userId: string; purpose: EmailTokenPurpose; email: string; tokenHash: string; expiresAt: string },
) {
  const [row] = await db.insert(emailTokens).values(values).returning({ id: emailTokens.id });
  return row!.id;
}

export async function findEmailToken(db: Executor, id: string) {
  const [row] = await db.select().from(emailTokens).where(eq(emailTokens.id, id)).limit(1);
  return row;
}

/** Marks an unused, unexpired token used; false when another request got there first (or it expired). */
export async function claimEmailToken(db: Executor, id: string): Promise<boolean> {
  const rows = await db
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(emailTokens.id, id), isNull(emailTokens.usedAt), gt(emailTokens.expiresAt, sql`now()`)))
    .returning({ id: emailTokens.id });
  return rows.length > 0;
}

/** Ends every outstanding token of this purpose (a reset makes the other reset links worthless). */
export async function expireEmailTokens(db: Executor, userId: string, purpose: EmailTokenPurpose) {
  await db
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt)));
}

/** Verifies the address only if it is still the account's address. */
export async function markEmailVerified(db: Executor, userId: string, email: string) {
  const [row] = await db
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())` })
    .where(and(eq(users.id, userId), sql`lower(${users.email}) = lower(${email})`, isNull(users.deletedAt)))
    .returning();
  return row;
}

export async function setPasswordHash(db: Executor, userId: string, passwordHash: string) {
  await db.update(users).set({ passwordHash }).where(eq(users.id, userId));
}

export async function setTotpPending(db: Executor, userId: string, secret: string) {
  await db.update(users).set({ totpPendingSecret: secret }).where(eq(users.id, userId));
}

/** Turns the pending secret on and replaces the recovery codes, in one transaction (the caller's). */
export async function enableTotp(db: Executor, userId: string, secret: string, step: number, codeHashes: string[]) {
  const rows = await db
    .update(users)
    .set({ totpSecret: secret, totpPendingSecret: null, totpLastStep: step })
    .where(and(eq(users.id, userId), eq(users.totpPendingSecret, secret)))
    .returning({ id: users.id });
  if (rows.length === 0) return false;
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await db.insert(recoveryCodes).values(codeHashes.map((codeHash) => ({ codeHash, userId })));
  return true;
}

export async function disableTotp(db: Executor, userId: string) {
  await db
    .update(users)
    .set({ totpSecret: null, totpPendingSecret: null, totpLastStep: null })
    .where(eq(users.id, userId));
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
}

/**
 * Takes TOTP time step `step` for the user, atomically: only a step later than the last one
 * accepted wins, so a code (or an earlier one) cannot be used twice, even by two racing requests.
 */
export async function claimTotpStep(db: Executor, userId: string, step: number): Promise<boolean> {
  const rows = await db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
    .returning({ id: users.id });
  return rows.length > 0;
}

export async function unusedRecoveryCodes(db: Executor, userId: string) {
  return db
    .select({ codeHash: recoveryCodes.codeHash })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)));
}

export async function claimRecoveryCode(db: Executor, userId: string, codeHash: string): Promise<boolean> {
  const rows = await db
    .update(recoveryCodes)
    .set({ usedAt: sql`now()` })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .returning({ codeHash: recoveryCodes.codeHash });
  return rows.length > 0;
}

export async function insertPasskey(
  db: Executor,
  values: {
    userId: string;
    credentialId: string;
    publicKey: string;
    counter: number;
    transports: string[];
    name: string;
  },
) {
  const [row] = await db.insert(passkeys).values(values).returning();
  return row!;
}

export async function listPasskeys(db: Executor, userId: string) {
  return db
    .select()
    .from(passkeys)
    .where(eq(passkeys.userId, userId))
    .orderBy(asc(passkeys.createdAt), asc(passkeys.id));
}

export async function findPasskeyByCredentialId(db: Executor, credentialId: string) {
  const [row] = await db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId)).limit(1);
  return row;
}

export async function markPasskeyUsed(db: Executor, id: string, counter: number) {
  await db.update(passkeys).set({ counter, lastUsedAt: sql`now()` }).where(eq(passkeys.id, id));
}

export async function deletePasskey(db: Executor, userId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(passkeys)
    .where(and(eq(passkeys.id, id), eq(passkeys.userId, userId)))
    .returning({ id: passkeys.id });
  return rows.length > 0;
}

export async function insertChallenge(
  db: Executor,
  values: { challenge: string; userId: string | null; purpose: 'register' | 'login'; expiresAt: string },
) {
  // Old unanswered challenges go as new ones arrive, so the table stays small without a sweeper.
  await db.delete(webauthnChallenges).where(lt(webauthnChallenges.expiresAt, sql`now()`));
  await db.insert(webauthnChallenges).values(values);
}

/** Removes and returns an unexpired challenge: each one is answered at most once. */
export async function takeChallenge(db: Executor, challenge: string, purpose: 'register' | 'login') {
  const [row] = await db
    .delete(webauthnChallenges)
    .where(
      and(
        eq(webauthnChallenges.challenge, challenge),
        eq(webauthnChallenges.purpose, purpose),
        gt(webauthnChallenges.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row;
}

/**
 * Erases an account but keeps its row, so that its messages keep a sender: the email is replaced
 * by one that can never sign in or be searched, the name becomes "Deleted account", and every
 * credential, session, block and token goes.
 */
export async function eraseAccount(db: Executor, userId: string, passwordHash: string) {
  await db.delete(passkeys).where(eq(passkeys.userId, userId));
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
  await db.delete(emailTokens).where(eq(emailTokens.userId, userId));
  await db.delete(webauthnChallenges).where(eq(webauthnChallenges.userId, userId));
  await db.delete(blocks).where(or(eq(blocks.blockerId, userId), eq(blocks.blockedId, userId)));
  const revoked = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  await db
    .update(users)
    .set({
      email: `deleted-${userId}@deleted.invalid`,
      displayName: 'Deleted account',
      about: '',
      passwordHash,
      emailVerifiedAt: null,
      totpSecret: null,
      totpPendingSecret: null,
      totpLastStep: null,
      deletedAt: sql`now()`,
    })
    .where(eq(users.id, userId));
  return revoked.map((r) => r.id);
}

/** Revokes every active session of the user but `keepId` (a password change keeps this device). */
export async function revokeOtherSessions(db: Executor, userId: string, keepId: string): Promise<string[]> {
  const rows = await db
    .update(sessions)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(sessions.userId, userId), ne(sessions.id, keepId), isNull(sessions.revokedAt)))
    .returning({ id: sessions.id });
  return rows.map((r) => r.id);
}
