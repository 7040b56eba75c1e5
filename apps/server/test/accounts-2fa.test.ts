/**
 * Two-factor sign-in (RFC 6238) over the API: setup, enable with a code, ten single-use recovery
 * codes, login needing the second factor (UNAUTHORIZED with mfaRequired), a used code refused
 * within its window, wrong codes limited, disable with password + code.
 */
import { sql } from 'drizzle-orm';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, errorCode, signUp, startTestServer, tableCounts, type TestServer } from './helpers.js';

const codeAt = (secret: string, offsetSteps = 0, base = Date.now()) =>
  new TOTP({ secret: Secret.fromBase32(secret) }).generate({ timestamp: base + offsetSteps * 30_000 });

async function loginError(t: TestServer, input: { email: string; password: string; totp?: string }) {
  try {
    await t.client().api.auth.login.mutate(input);
    return null;
  } catch (err) {
    return (err as { data: { code: string; mfaRequired?: boolean } }).data;
  }
}

describe.each(DB_KINDS)('two-factor sign-in on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db });
  });
  afterAll(() => t?.close());

  /** A user with 2FA on: their secret and recovery codes, and the step used to enable. */
  async function withTotp(name: string) {
    const a = await signUp(t, name);
    const { secret, otpauthUrl } = await a.client.api.auth.totp.setup.mutate();
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/Parley:.*secret=/);
    expect(otpauthUrl).toContain(`secret=${secret}`);
    // Codes below are derived from this moment, so that a step boundary passing mid-test changes nothing.
    const enabledAt = Date.now();
    const enableCode = codeAt(secret, 0, enabledAt);
    const { recoveryCodes } = await a.client.api.auth.totp.enable.mutate({ code: enableCode });
    return { ...a, secret, recoveryCodes, enableCode, enabledAt };
  }

  it('enables only with a right code, answers ten distinct recovery codes once, and marks the user', async () => {
    const a = await signUp(t, 'Tess');
    const { secret } = await a.client.api.auth.totp.setup.mutate();
    const before = await tableCounts(t);
    expect(await errorCode(a.client.api.auth.totp.enable.mutate({ code: codeAt(secret, 5) }))).toBe('BAD_REQUEST');
    expect(await tableCounts(t)).toEqual(before);
    const { recoveryCodes } = await a.client.api.auth.totp.enable.mutate({ code: codeAt(secret) });
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const c of recoveryCodes) expect(c).toMatch(/^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    expect((await a.client.api.auth.me.query()).totpEnabled).toBe(true);
    // Shown once: enabling again (or setting up anew) is refused while it is on.
    expect(await errorCode(a.client.api.auth.totp.enable.mutate({ code: codeAt(secret, 1) }))).toBe('CONFLICT');
    expect(await errorCode(a.client.api.auth.totp.setup.mutate())).toBe('CONFLICT');
    // Stored hashed: no code appears in the database.
    const rows = JSON.stringify(await t.server.database.db.execute(sql`select * from recovery_codes`));
    for (const c of recoveryCodes) expect(rows).not.toContain(c.replace(/-/g, ''));
  });

  it('login needs the code (mfaRequired), refuses a used one within its window, takes a recovery code once', async () => {
    const a = await withTotp('Otto');
    expect(await loginError(t, { email: a.email, password: a.password })).toMatchObject({
      code: 'UNAUTHORIZED',
      mfaRequired: true,
    });
    expect(await loginError(t, { email: a.email, password: a.password, totp: codeAt(a.secret, 5) })).toMatchObject({
      mfaRequired: true,
    });
    // A wrong password says nothing about the second factor.
    expect(
      (await loginError(t, { email: a.email, password: 'wrong password', totp: codeAt(a.secret, 1) }))?.mfaRequired,
    ).toBeUndefined();

    // The code used to enable (this step) is spent; the next step's code works, once.
    expect(await loginError(t, { email: a.email, password: a.password, totp: a.enableCode })).toMatchObject({
      mfaRequired: true,
    });
    const next = codeAt(a.secret, 1, a.enabledAt);
    expect(await loginError(t, { email: a.email, password: a.password, totp: next })).toBeNull();
    expect(await loginError(t, { email: a.email, password: a.password, totp: next })).toMatchObject({
      mfaRequired: true,
    });

    // A recovery code, as typed by a person (lower case, no dashes), works once.
    const recovery = a.recoveryCodes[0]!;
    expect(
      await loginError(t, { email: a.email, password: a.password, totp: recovery.toLowerCase().replace(/-/g, ' ') }),
    ).toBeNull();
    expect(await loginError(t, { email: a.email, password: a.password, totp: recovery })).toMatchObject({
      mfaRequired: true,
    });
    expect(await loginError(t, { email: a.email, password: a.password, totp: a.recoveryCodes[1]! })).toBeNull();
  });

  it('limits wrong codes per account', async () => {
    const a = await withTotp('Limit');
    const wrong = codeAt(a.secret, -5);
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 6; i++)
      codes.push((await loginError(t, { email: a.email, password: a.password, totp: wrong }))?.code);
    expect(codes.slice(0, 5)).toEqual(Array(5).fill('UNAUTHORIZED'));
    expect(codes[5]).toBe('TOO_MANY_REQUESTS');
    // Even the right code waits now.
    expect((await loginError(t, { email: a.email, password: a.password, totp: a.recoveryCodes[0]! }))?.code).toBe(
      'TOO_MANY_REQUESTS',
    );
  });

  it('disables only with the password and a code', async () => {
    const a = await withTotp('Dora');
    expect(
      await errorCode(a.client.api.auth.totp.disable.mutate({ password: 'wrong password', code: codeAt(a.secret, 1) })),
    ).toBe('UNAUTHORIZED');
    expect(await errorCode(a.client.api.auth.totp.disable.mutate({ password: a.password, code: '12345' }))).toBe(
      'UNAUTHORIZED',
    );
    expect((await a.client.api.auth.me.query()).totpEnabled).toBe(true);
    expect(await a.client.api.auth.totp.disable.mutate({ password: a.password, code: a.recoveryCodes[3]! })).toEqual({
      ok: true,
    });
    expect((await a.client.api.auth.me.query()).totpEnabled).toBe(false);
    expect(await loginError(t, { email: a.email, password: a.password })).toBeNull();
  });
});
