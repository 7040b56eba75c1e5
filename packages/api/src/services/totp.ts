import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  claimRecoveryCode,
  claimTotpStep,
  disableTotp,
  enableTotp,
  findUserById,
  setTotpPending,
  unusedRecoveryCodes,
  type Db,
  type UserRow,
} from '@parley/db';
import { Secret, TOTP } from 'otpauth';
import type { RateLimiter } from '../rate-limit.js';
import { BadRequest, Conflict, RateLimited, Unauthorized } from '../errors.js';

const PERIOD_S = 30;
/** One step either side: a phone clock a little off still works. */
const WINDOW = 1;
const RECOVERY_CODES = 10;
const FAILURES = { limit: 5, windowMs: 15 * 60_000 };
// Without 0/O and 1/I/L, so that a code copied by hand is read right.
const ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

export const mfaRequired = (message = 'Enter the code from your authenticator app, or a recovery code.') =>
  new Unauthorized(message, { mfaRequired: true });

const sha256 = (s: string) => createHash('sha256').update(s).digest();
const normalizeRecovery = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');

/** 16 characters of a 31-letter alphabet (~79 bits), shown as four groups. */
function newRecoveryCode() {
  const bytes = randomBytes(16);
  let s = '';
  // 256 % 31 leaves a small bias; reject those bytes so every letter is equally likely.
  for (let i = 0; s.length < 16; i++) {
    const b = i < bytes.length ? bytes[i]! : randomBytes(1)[0]!;
    if (b < 248) s += ALPHABET[b % 31];
  }
  return s.match(/.{4}/g)!.join('-');
}

function totpFor(user: Pick<UserRow, 'email'>, secret: string) {
  return new TOTP({
    issuer: 'Parley',
    label: user.email,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD_S,
    secret: Secret.fromBase32(secret),
  });
}

/** RFC 6238 two-factor sign-in with single-use recovery codes. */
export class TotpService {
  constructor(
    private readonly deps: {
      db: Db;
      limiter: RateLimiter;
      checkPassword: (userId: string, password: string) => Promise<UserRow>;
    },
  ) {}

  /** A fresh secret, pending until `enable` proves the app has it. */
  async setup(userId: string) {
    const user = await this.user(userId);
    if (user.totpSecret) throw new Conflict('Two-factor sign-in is already on. Turn it off first.');
    const secret = new Secret({ size: 20 }).base32;
    await setTotpPending(this.deps.db, userId, secret);
    return { secret, otpauthUrl: totpFor(user, secret).toString() };
  }

  /** Turns 2FA on with a code from the pending secret; answers the ten recovery codes, once. */
  async enable(userId: string, code: string) {
    const user = await this.user(userId);
    if (user.totpSecret) throw new Conflict('Two-factor sign-in is already on.');
    if (!user.totpPendingSecret) throw new BadRequest('Start the setup first.');
    await this.throttle(userId);
    const step = this.matchingStep(user, user.totpPendingSecret, code);
    if (step === null) {
      await this.failed(userId);
      throw new BadRequest('That code is not right. Check the time on your phone and try the next one.');
    }
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    const hashes = codes.map((c) => sha256(normalizeRecovery(c)).toString('hex'));
    const ok = await this.deps.db.transaction((tx) => enableTotp(tx, userId, user.totpPendingSecret!, step, hashes));
    if (!ok) throw new Conflict('The setup changed meanwhile. Start it again.');
    return { recoveryCodes: codes };
  }

  async disable(userId: string, password: string, code: string) {
    const user = await this.deps.checkPassword(userId, password);
    if (!user.totpSecret) throw new BadRequest('Two-factor sign-in is not on.');
    await this.verify(user, code);
    await this.deps.db.transaction((tx) => disableTotp(tx, userId));
  }

  /**
   * Checks a second factor for a user whose password was right: a TOTP code not used before
   * (each time step is taken at most once) or an unused recovery code (then used up). Failures
   * are limited per account; a wrong or missing code is UNAUTHORIZED with `mfaRequired`.
   */
  async verify(user: UserRow, code: string | undefined) {
    if (!user.totpSecret) return;
    if (!code) throw mfaRequired();
    await this.throttle(user.id);
    if (!(await this.accept(user, code))) {
      await this.failed(user.id);
      throw mfaRequired('That code is not right, or was already used. Try the next one.');
    }
    await this.deps.limiter.reset(`totp:user:${user.id}`);
  }

  private async accept(user: UserRow, code: string) {
    const digits = code.replace(/\s/g, '');
    if (/^\d{6}$/.test(digits)) {
      const step = this.matchingStep(user, user.totpSecret!, digits);
      return step !== null && (await claimTotpStep(this.deps.db, user.id, step));
    }
    const presented = sha256(normalizeRecovery(code));
    const unused = await unusedRecoveryCodes(this.deps.db, user.id);
    // Every stored hash is compared, in constant time, before deciding.
    let match: string | null = null;
    for (const row of unused) if (timingSafeEqual(Buffer.from(row.codeHash, 'hex'), presented)) match = row.codeHash;
    return match !== null && (await claimRecoveryCode(this.deps.db, user.id, match));
  }

  /** The time step the code belongs to (within the window), or null. */
  private matchingStep(user: UserRow, secret: string, code: string): number | null {
    const now = Date.now();
    const delta = totpFor(user, secret).validate({ token: code.replace(/\s/g, ''), timestamp: now, window: WINDOW });
    return delta === null ? null : Math.floor(now / 1000 / PERIOD_S) + delta;
  }

  private async throttle(userId: string) {
    const { count, retryAfterMs } = await this.deps.limiter.count(`totp:user:${userId}`, FAILURES);
    if (count >= FAILURES.limit)
      throw new RateLimited(retryAfterMs, 'Too many wrong codes. Please wait and try again.');
  }

  private async failed(userId: string) {
    await this.deps.limiter.hit(`totp:user:${userId}`, FAILURES);
  }

  private async user(userId: string) {
    const user = await findUserById(this.deps.db, userId);
    if (!user || user.deletedAt) throw new Unauthorized('Please sign in.');
    return user;
  }
}
