import { TRPCError } from '@trpc/server';
import type { Config } from '@parley/config';
import {
  deletePasskey,
  findPasskeyByCredentialId,
  findUserById,
  insertChallenge,
  insertPasskey,
  isUniqueViolation,
  listPasskeys,
  markPasskeyUsed,
  takeChallenge,
  type Db,
  type UserRow,
} from '@parley/db';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
  type VerifiedAuthenticationResponse,
  type VerifiedRegistrationResponse,
} from '@simplewebauthn/server';
import { iso } from '../presenters.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
const MAX_PASSKEYS = 20;

const refused = (what: string) =>
  new TRPCError({ code: 'BAD_REQUEST', message: `The passkey ${what} could not be verified. Please try again.` });
const signInFailed = () =>
  new TRPCError({
    code: 'UNAUTHORIZED',
    message: 'That passkey did not sign you in. Try again, or use your password.',
  });

const toB64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
/** The user handle the authenticator stores: the user's id bytes (not the email). */
const userHandle = (userId: string) => new Uint8Array(Buffer.from(userId.replace(/-/g, ''), 'hex'));

export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/**
 * WebAuthn passkeys: several per user, named, usable for sign-in without typing an email
 * (discoverable credentials). Challenges live in the database so any instance can check them,
 * and each is taken once.
 */
export class PasskeyService {
  constructor(private readonly deps: { db: Db; config: Config }) {}

  async registerOptions(userId: string) {
    const user = await this.user(userId);
    const existing = await listPasskeys(this.deps.db, userId);
    if (existing.length >= MAX_PASSKEYS)
      throw new TRPCError({ code: 'BAD_REQUEST', message: `At most ${MAX_PASSKEYS} passkeys. Remove one first.` });
    const options = await generateRegistrationOptions({
      rpName: this.deps.config.webauthn.rpName,
      rpID: this.deps.config.webauthn.rpId,
      userName: user.email,
      userDisplayName: user.displayName,
      userID: userHandle(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((p) => ({
        id: p.credentialId,
        transports: p.transports as AuthenticatorTransport[],
      })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
    });
    await this.remember(options.challenge, userId, 'register');
    return options;
  }

  async register(userId: string, name: string, response: unknown): Promise<PasskeySummary> {
    let verification: VerifiedRegistrationResponse;
    try {
      verification = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON, // shape checked by zod; contents by the library
        expectedChallenge: async (challenge) =>
          (await takeChallenge(this.deps.db, challenge, 'register'))?.userId === userId,
        expectedOrigin: this.deps.config.webauthn.origins,
        expectedRPID: this.deps.config.webauthn.rpId,
        requireUserVerification: false,
      });
    } catch {
      throw refused('registration');
    }
    if (!verification.verified) throw refused('registration');
    const { credential } = verification.registrationInfo;
    try {
      const row = await insertPasskey(this.deps.db, {
        userId,
        credentialId: credential.id,
        publicKey: toB64(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ?? [],
        name,
      });
      return summary(row);
    } catch (err) {
      if (isUniqueViolation(err))
        throw new TRPCError({ code: 'CONFLICT', message: 'This passkey is already registered.' });
      throw err;
    }
  }

  /** Options for a discoverable sign-in: no allowCredentials, so no email is needed first. */
  async loginOptions() {
    const options = await generateAuthenticationOptions({
      rpID: this.deps.config.webauthn.rpId,
      userVerification: 'preferred',
    });
    await this.remember(options.challenge, null, 'login');
    return options;
  }

  /** The user a passkey assertion proves, or UNAUTHORIZED. */
  async login(response: unknown): Promise<UserRow> {
    const assertion = response as AuthenticationResponseJSON; // shape checked by zod; contents by the library
    const passkey = await findPasskeyByCredentialId(this.deps.db, assertion.id);
    let verification: VerifiedAuthenticationResponse;
    try {
      verification = await verifyAuthenticationResponse({
        response: assertion,
        // Taken even when the passkey is unknown, so a challenge is never good twice.
        expectedChallenge: async (challenge) => Boolean(await takeChallenge(this.deps.db, challenge, 'login')),
        expectedOrigin: this.deps.config.webauthn.origins,
        expectedRPID: this.deps.config.webauthn.rpId,
        credential: {
          id: passkey?.credentialId ?? assertion.id,
          publicKey: passkey ? fromB64(passkey.publicKey) : new Uint8Array(0),
          counter: passkey?.counter ?? 0,
        },
        requireUserVerification: false,
      });
    } catch {
      throw signInFailed();
    }
    if (!passkey || !verification.verified) throw signInFailed();
    const user = await findUserById(this.deps.db, passkey.userId);
    if (!user || user.deletedAt) throw signInFailed();
    await markPasskeyUsed(this.deps.db, passkey.id, verification.authenticationInfo.newCounter);
    return user;
  }

  async list(userId: string): Promise<PasskeySummary[]> {
    return (await listPasskeys(this.deps.db, userId)).map(summary);
  }

  async remove(userId: string, id: string) {
    if (!(await deletePasskey(this.deps.db, userId, id)))
      throw new TRPCError({ code: 'NOT_FOUND', message: 'No such passkey.' });
  }

  private async remember(challenge: string, userId: string | null, purpose: 'register' | 'login') {
    await insertChallenge(this.deps.db, {
      challenge,
      userId,
      purpose,
      expiresAt: new Date(Date.now() + CHALLENGE_TTL_MS).toISOString(),
    });
  }

  private async user(userId: string) {
    const user = await findUserById(this.deps.db, userId);
    if (!user || user.deletedAt) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Please sign in.' });
    return user;
  }
}

function summary(row: { id: string; name: string; createdAt: string; lastUsedAt: string | null }): PasskeySummary {
  return {
    id: row.id,
    name: row.name,
    createdAt: iso(row.createdAt),
    lastUsedAt: row.lastUsedAt ? iso(row.lastUsedAt) : null,
  };
}
