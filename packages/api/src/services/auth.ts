import {
  createSession,
  findActiveSession,
  findRefreshTokenOwner,
  findUserByEmail,
  findUserById,
  insertUser,
  isUniqueViolation,
  listActiveSessions,
  revokeSession,
  revokeUserSession,
  revokeUserSessions,
  rotateRefreshToken,
  type Db,
  type UserRow,
} from '@parley/db';
import type { LoginInput, RegisterInput } from '@parley/validators';
import { refuseCommonPassword } from '../auth/common-passwords.js';
import { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import { RefreshGrace } from '../auth/refresh-grace.js';
import type { KeyValue } from '../kv.js';
import {
  hashRefreshToken,
  newRefreshToken,
  REFRESH_TOKEN_TTL_SECONDS,
  type AccessClaims,
  type TokenService,
} from '../auth/tokens.js';
import { Conflict, NotFound, Unauthorized } from '../errors.js';
import { iso, toUser, type User } from '../presenters.js';
import type { RateLimiter } from '../rate-limit.js';

export interface IssuedSession {
  user: User;
  accessToken: string;
  accessTokenExpiresAt: string;
  refreshToken: string;
  refreshTokenExpiresAt: string;
}

const INVALID_LOGIN = 'Email or password is incorrect.';

export interface AuthServiceDeps {
  db: Db;
  hasher: PasswordHasher;
  tokens: TokenService;
  limiter: RateLimiter;
  kv: KeyValue;
  bcryptCost: number;
  /** How long a just-rotated refresh token still gets the same new pair (auth/refresh-grace.ts). */
  refreshGraceMs: number;
  /** Tells every instance to end the live connections of these sessions. */
  onSessionsRevoked: (sessionIds: string[]) => void;
  /** A new account exists (the accounts service mails its verification link). */
  onRegistered?: (user: UserRow) => Promise<void>;
  /** Checks the second factor of an account whose password was right (throws when it is missing or wrong). */
  secondFactor?: (user: UserRow, code: string | undefined) => Promise<void>;
}

export class AuthService {
  /** Compared against when the email is unknown, so both failures take the same time. */
  private dummyHash: Promise<string>;
  private readonly throttle: LoginThrottle;
  private readonly grace: RefreshGrace<IssuedSession>;

  constructor(private readonly deps: AuthServiceDeps) {
    this.dummyHash = deps.hasher.hash('parley-timing-equaliser', deps.bcryptCost);
    this.throttle = new LoginThrottle(deps.limiter, deps.kv);
    this.grace = new RefreshGrace(deps.kv, deps.refreshGraceMs);
  }

  async register(input: RegisterInput, userAgent: string | null): Promise<IssuedSession> {
    refuseCommonPassword(input.password);
    const passwordHash = await this.deps.hasher.hash(input.password, this.deps.bcryptCost);
    try {
      const user = await insertUser(this.deps.db, {
        email: input.email,
        displayName: input.displayName,
        passwordHash,
      });
      await this.deps.onRegistered?.(user);
      return this.startSession(user, userAgent);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new Conflict('An account with this email already exists.');
      }
      throw err;
    }
  }

  /** `refreshToken`: the device's refresh cookie, if any; the owner's own makes this a known device. */
  async login(input: LoginInput, ip: string, userAgent: string | null, refreshToken?: string): Promise<IssuedSession> {
    const user = await findUserByEmail(this.deps.db, input.email);
    const ownersCookie =
      user !== undefined &&
      refreshToken !== undefined &&
      (await findRefreshTokenOwner(this.deps.db, hashRefreshToken(refreshToken))) === user.id;
    const { known } = await this.throttle.before(input.email, ip, ownersCookie);

    const ok = await this.deps.hasher.compare(input.password, user?.passwordHash ?? (await this.dummyHash));
    if (!user || !ok) {
      await this.throttle.failed(input.email, ip, known);
      throw new Unauthorized(INVALID_LOGIN);
    }
    await this.deps.secondFactor?.(user, input.totp);
    await this.throttle.succeeded(input.email, ip);
    return this.startSession(user, userAgent);
  }

  async refresh(refreshToken: string | undefined): Promise<IssuedSession> {
    if (!refreshToken) throw new Unauthorized('Your session has ended. Please sign in again.');
    return this.grace.run(refreshToken, () => this.rotate(refreshToken));
  }

  private async rotate(refreshToken: string): Promise<IssuedSession> {
    const expired = new Unauthorized('Your session has ended. Please sign in again.');
    const next = newRefreshToken();
    const expiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000).toISOString();
    const result = await rotateRefreshToken(this.deps.db, hashRefreshToken(refreshToken), next.hash, expiresAt);
    if (result.kind === 'reused') {
      // Someone presented a token that was already exchanged: one of the two holders is a thief.
      this.deps.onSessionsRevoked([result.sessionId]);
      throw expired;
    }
    if (result.kind === 'invalid') throw expired;
    const user = await findUserById(this.deps.db, result.session.userId);
    if (!user) throw expired;
    const access = await this.deps.tokens.issueAccessToken(user.id, result.session.id);
    return {
      user: toUser(user),
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: next.token,
      refreshTokenExpiresAt: expiresAt,
    };
  }

  /** Claims of a token whose session is still active, or null. */
  async authenticate(accessToken: string | undefined): Promise<AccessClaims | null> {
    if (!accessToken) return null;
    const claims = await this.deps.tokens.verifyAccessToken(accessToken);
    if (!claims) return null;
    const session = await findActiveSession(this.deps.db, claims.sessionId);
    return session && session.userId === claims.userId ? claims : null;
  }

  async logout(sessionId: string) {
    await revokeSession(this.deps.db, sessionId);
    this.deps.onSessionsRevoked([sessionId]);
  }

  /** Signs out one device of the user (another one, from the sessions page). */
  async revokeSession(userId: string, sessionId: string) {
    if (!(await revokeUserSession(this.deps.db, userId, sessionId))) {
      throw new NotFound('That session has already ended.');
    }
    this.deps.onSessionsRevoked([sessionId]);
  }

  async logoutAll(userId: string) {
    const ids = await revokeUserSessions(this.deps.db, userId);
    this.deps.onSessionsRevoked(ids);
  }

  async me(userId: string): Promise<User> {
    const user = await findUserById(this.deps.db, userId);
    if (!user) throw new Unauthorized('Please sign in.');
    return toUser(user);
  }

  async sessions(userId: string, currentSessionId: string) {
    const rows = await listActiveSessions(this.deps.db, userId);
    return rows.map((s) => ({
      id: s.id,
      createdAt: iso(s.createdAt),
      lastUsedAt: iso(s.lastUsedAt),
      userAgent: s.userAgent,
      current: s.id === currentSessionId,
    }));
  }

  /** A new session for a user who proved who they are another way (a passkey). */
  signInAs(user: UserRow, userAgent: string | null): Promise<IssuedSession> {
    return this.startSession(user, userAgent);
  }

  private async startSession(user: Parameters<typeof toUser>[0], userAgent: string | null): Promise<IssuedSession> {
    const refresh = newRefreshToken();
    const refreshTokenExpiresAt = new Date(Date.now() + REFRESH_TOKEN_TTL_SECONDS * 1000).toISOString();
    const session = await createSession(this.deps.db, {
      userId: user.id,
      userAgent: userAgent?.slice(0, 512) ?? null,
      expiresAt: refreshTokenExpiresAt,
      tokenHash: refresh.hash,
    });
    const access = await this.deps.tokens.issueAccessToken(user.id, session.id);
    return {
      user: toUser(user),
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken: refresh.token,
      refreshTokenExpiresAt,
    };
  }
}
