import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '@parley/config';
import { z } from 'zod';
import {
  claimEmailToken,
  expireEmailTokens,
  findEmailToken,
  findUserByEmail,
  findUserById,
  insertEmailToken,
  markEmailVerified,
  revokeOtherSessions,
  revokeUserSessions,
  eraseAccount,
  setPasswordHash,
  type Db,
  type Tx,
  type EmailTokenPurpose,
  type UserRow,
} from '@parley/db';
import type { PasswordHasher } from '../auth/passwords.js';
import { refuseCommonPassword } from '../auth/common-passwords.js';
import { toUser, type User } from '../presenters.js';
import type { RateLimiter } from '../rate-limit.js';
import { BadRequest, RateLimited, Unauthorized } from '../errors.js';
import { linkMail, type MailService } from './mail.js';

export const VERIFY_TTL_MS = 24 * 60 * 60_000;
export const RESET_TTL_MS = 60 * 60_000;
const RESET_PER_EMAIL = { limit: 3, windowMs: 60 * 60_000 };
const RESET_PER_IP = { limit: 20, windowMs: 60 * 60_000 };
const VERIFY_RESEND = { limit: 5, windowMs: 60 * 60_000 };
const PASSWORD_FAILURES = { limit: 5, windowMs: 15 * 60_000 };

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A mailed token: `<row id>.<secret>`; the row keeps only the secret's SHA-256. */
function newMailToken() {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: sha256(secret).toString('hex') };
}

const badLink = (purpose: EmailTokenPurpose) =>
  new BadRequest(
    purpose === 'reset'
      ? 'This reset link is not valid any more. Ask for a new one.'
      : 'This verification link is not valid any more. Send yourself a new one from Settings.',
  );

/** The mail queue's jobs (stored as JSON in mail_outbox): what to mail, never a link. */
const verifyJob = z.object({ userId: z.string(), email: z.string(), displayName: z.string() });
const resetJob = z.object({ email: z.string() });
type VerifyJob = z.infer<typeof verifyJob>;
type ResetJob = z.infer<typeof resetJob>;

export interface AccountServiceDeps {
  db: Db;
  config: Config;
  hasher: PasswordHasher;
  limiter: RateLimiter;
  mail: MailService;
  onSessionsRevoked: (sessionIds: string[]) => void;
}

/**
 * Called inside the deletion's transaction to erase what another domain keeps of the account
 * (files: their rows); may return work to run after commit (the stored bytes).
 */
export type AccountEraser = (tx: Tx, userId: string) => Promise<(() => Promise<void>) | void>;

/** Email verification, password reset and password change. */
export class AccountService {
  /** Other domains' parts of an account, erased with it (files set theirs in createServices). */
  readonly erasers: AccountEraser[] = [];
  /** Checks the second factor when the account has one (the TOTP service; set by createServices). */
  secondFactor: ((user: UserRow, code: string | undefined) => Promise<void>) | null = null;

  constructor(private readonly deps: AccountServiceDeps) {
    deps.mail.register('verify', { payload: verifyJob, build: (job) => this.verifyMail(job) });
    deps.mail.register('reset', { payload: resetJob, build: (job) => this.resetMail(job) });
  }

  /**
   * Erases the account: sessions (and with them push subscriptions), passkeys, 2FA, tokens,
   * blocks, files and the profile. The row stays, named "Deleted account", so that the messages
   * it sent keep a sender; nobody can sign in to it or find it again.
   */
  async deleteAccount(userId: string, password: string, code: string | undefined) {
    const user = await this.checkPassword(userId, password);
    await this.secondFactor?.(user, code);
    // A password nobody knows, so the row cannot be signed in to even if its email were reused.
    const passwordHash = await this.deps.hasher.hash(
      randomBytes(32).toString('base64url'),
      this.deps.config.bcryptCost,
    );
    const { revoked, after } = await this.deps.db.transaction(async (tx) => {
      const after: (() => Promise<void>)[] = [];
      for (const erase of this.erasers) {
        const then = await erase(tx, userId);
        if (then) after.push(then);
      }
      return { revoked: await eraseAccount(tx, userId, passwordHash), after };
    });
    this.deps.onSessionsRevoked(revoked);
    for (const then of after) await then().catch(() => {});
  }

  /** Queues the verification mail of a new (or changed) address. */
  sendVerification(user: Pick<UserRow, 'id' | 'email' | 'displayName'>) {
    return this.deps.mail.enqueue<VerifyJob>('verify', {
      userId: user.id,
      email: user.email,
      displayName: user.displayName,
    });
  }

  /** Run by the mail queue: a link for the address, if the account still has it. */
  private async verifyMail(job: VerifyJob) {
    const user = await findUserById(this.deps.db, job.userId);
    if (!user || user.deletedAt !== null || user.email !== job.email || user.emailVerifiedAt !== null) return null;
    const link = await this.issueToken(user.id, 'verify', user.email, VERIFY_TTL_MS);
    return linkMail({
      to: user.email,
      subject: 'Confirm your email address for Parley',
      greeting: `Hello ${user.displayName},`,
      lines: [
        'Please confirm that this is your email address, so that you can reset your password if you ever forget it.',
      ],
      action: 'Confirm my address',
      url: `${this.deps.config.mail.publicUrl}/verify-email#token=${link}`,
      footer: 'The link works once and for 24 hours. If you did not create a Parley account, ignore this mail.',
    });
  }

  async resendVerification(userId: string) {
    const { retryAfterMs } = await this.deps.limiter.hit(`verify:user:${userId}`, VERIFY_RESEND);
    if (retryAfterMs !== null) throw new RateLimited(retryAfterMs);
    const user = await findUserById(this.deps.db, userId);
    if (!user) throw new Unauthorized('Please sign in.');
    if (user.emailVerifiedAt === null) await this.sendVerification(user);
  }

  async verifyEmail(token: string): Promise<User> {
    const row = await this.consume(token, 'verify');
    const user = await markEmailVerified(this.deps.db, row.userId, row.email);
    // The account changed its address (or was deleted) since the link was sent.
    if (!user) throw badLink('verify');
    return toUser(user);
  }

  /**
   * The same answer and the same work whether or not an account has this address: the request
   * counts its rate limits and queues one job, nothing else. The job, off the request path, looks
   * the address up and mails a link only if it belongs to an account.
   */
  async requestPasswordReset(email: string, ip: string) {
    const [byEmail, byIp] = await Promise.all([
      this.deps.limiter.hit(`reset:email:${email.toLowerCase()}`, RESET_PER_EMAIL),
      this.deps.limiter.hit(`reset:ip:${ip}`, RESET_PER_IP),
    ]);
    const retry = byEmail.retryAfterMs ?? byIp.retryAfterMs;
    if (retry !== null) throw new RateLimited(retry);
    await this.deps.mail.enqueue<ResetJob>('reset', { email });
  }

  /** Run by the mail queue: the lookup happens here, so the request did the same either way. */
  private async resetMail({ email }: ResetJob) {
    const user = await findUserByEmail(this.deps.db, email);
    if (!user || user.deletedAt !== null) return null;
    const link = await this.issueToken(user.id, 'reset', user.email, RESET_TTL_MS);
    return linkMail({
      to: user.email,
      subject: 'Reset your Parley password',
      greeting: `Hello ${user.displayName},`,
      lines: ['Someone (hopefully you) asked to reset the password of your Parley account.'],
      action: 'Choose a new password',
      url: `${this.deps.config.mail.publicUrl}/reset-password#token=${link}`,
      footer:
        'The link works once and for one hour. Resetting signs you out everywhere. If you did not ask for this, ignore this mail: your password stays as it is.',
    });
  }

  /** Sets a new password from a reset link and ends every session of the account. */
  async resetPassword(token: string, password: string) {
    refuseCommonPassword(password);
    // Hash before claiming: a slow hash after the claim would leave a used link and no new password if it failed.
    const passwordHash = await this.deps.hasher.hash(password, this.deps.config.bcryptCost);
    const row = await this.consume(token, 'reset');
    const revoked = await this.deps.db.transaction(async (tx) => {
      await setPasswordHash(tx, row.userId, passwordHash);
      await expireEmailTokens(tx, row.userId, 'reset');
      // The link reached the mailbox: the address is proven.
      await markEmailVerified(tx, row.userId, row.email);
      return revokeUserSessions(tx, row.userId);
    });
    this.deps.onSessionsRevoked(revoked);
  }

  /** Checks the current password, sets the new one and ends every other session. */
  async changePassword(userId: string, sessionId: string, currentPassword: string, newPassword: string) {
    refuseCommonPassword(newPassword, 'newPassword');
    await this.checkPassword(userId, currentPassword);
    const passwordHash = await this.deps.hasher.hash(newPassword, this.deps.config.bcryptCost);
    const revoked = await this.deps.db.transaction(async (tx) => {
      await setPasswordHash(tx, userId, passwordHash);
      await expireEmailTokens(tx, userId, 'reset');
      return revokeOtherSessions(tx, userId, sessionId);
    });
    this.deps.onSessionsRevoked(revoked);
  }

  /**
   * The account's password, or UNAUTHORIZED; wrong guesses are limited per account, so a stolen
   * session cannot be used to find the password by trying.
   */
  async checkPassword(userId: string, password: string): Promise<UserRow> {
    const key = `password:user:${userId}`;
    const soFar = await this.deps.limiter.count(key, PASSWORD_FAILURES);
    if (soFar.count >= PASSWORD_FAILURES.limit) throw new RateLimited(soFar.retryAfterMs);
    const user = await findUserById(this.deps.db, userId);
    if (!user || user.deletedAt !== null) throw new Unauthorized('Please sign in.');
    if (!(await this.deps.hasher.compare(password, user.passwordHash))) {
      await this.deps.limiter.hit(key, PASSWORD_FAILURES);
      throw new Unauthorized('That password is not correct.');
    }
    await this.deps.limiter.reset(key);
    return user;
  }

  private async issueToken(userId: string, purpose: EmailTokenPurpose, email: string, ttlMs: number) {
    const { secret, hash } = newMailToken();
    const id = await insertEmailToken(this.deps.db, {
      userId,
      purpose,
      email,
      tokenHash: hash,
      expiresAt: new Date(Date.now() + ttlMs).toISOString(),
    });
    return `${id}.${secret}`;
  }

  /** Finds the token's row by its id, compares the secret's hash in constant time, and uses it up. */
  private async consume(token: string, purpose: EmailTokenPurpose) {
    const [id, secret] = token.split('.');
    if (!id || !secret || !UUID.test(id)) throw badLink(purpose);
    const row = await findEmailToken(this.deps.db, id);
    const presented = sha256(secret);
    // Compared even when there is no row, against a hash nobody holds, so both cases do the same work.
    const stored = row ? Buffer.from(row.tokenHash, 'hex') : sha256(randomBytes(32).toString('hex'));
    const matches = stored.length === presented.length && timingSafeEqual(stored, presented);
    if (!row || !matches || row.purpose !== purpose) throw badLink(purpose);
    if (!(await claimEmailToken(this.deps.db, row.id))) throw badLink(purpose);
    return row;
  }
}
