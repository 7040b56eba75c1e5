/**
 * Low-severity input rules from the attack run: passwords over 72 bytes refused at sign-in as at
 * sign-up (bcrypt would compare only the first 72), common and all-space passwords refused with a
 * reason, and display names that are controls, bidi overrides or invisible refused (the schemas
 * themselves: packages/validators/test/rules.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, signUp, startTestServer, tableCounts, uniqueEmail, type TestServer } from './helpers.js';

describe('input rules', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  it('refuses a sign-in password over 72 bytes even when its first 72 bytes are right', async () => {
    const long = `${'a'.repeat(72)}`;
    const u = await signUp(t, 'Long');
    const c = t.client();
    await c.api.auth.register.mutate({ email: `x${u.email}`, password: long, displayName: 'Long two' });
    expect((await t.client().api.auth.login.mutate({ email: `x${u.email}`, password: long })).user.displayName).toBe(
      'Long two',
    );
    expect(await errorCode(t.client().api.auth.login.mutate({ email: `x${u.email}`, password: `${long}EXTRA` }))).toBe(
      'BAD_REQUEST',
    );
    expect(
      await errorCode(t.client().api.auth.login.mutate({ email: `x${u.email}`, password: `${'é'.repeat(37)}` })),
    ).toBe('BAD_REQUEST');
  });

  it('refuses common and all-space passwords at sign-up, saying why, and writes nothing', async () => {
    const before = await tableCounts(t);
    for (const [pw, reason] of [
      ['password123', /most common/],
      ['Iloveyou1', /most common/],
      ['QWERTYUIOP', /most common/],
      ['        ', /only spaces/],
      ['\t\t\t\t\t\t\t\t', /only spaces/],
    ] as const) {
      const res = await fetch(`${t.url}/trpc/auth.register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: uniqueEmail(), password: pw, displayName: 'Weak' }),
      });
      const body = (await res.json()) as {
        error: { data: { code: string; zodError: { fieldErrors: Record<string, string[]> } } };
      };
      expect(body.error.data.code, pw).toBe('BAD_REQUEST');
      expect(body.error.data.zodError.fieldErrors.password?.join(' '), pw).toMatch(reason);
    }
    expect(await tableCounts(t)).toEqual(before);
  });

  it.each([
    ['a control character', 'Ann\u0007'],
    ['a C1 control', 'Ann\u0085x'],
    ['a right-to-left override', 'Ann\u202Egnp.exe'],
    ['a left-to-right isolate', '\u2066Ann'],
    ['a bare right-to-left mark', 'Ann\u200F'],
    ['only zero-width characters', '\u200B\u200C\u200D\uFEFF'],
    ['only a Hangul filler', '\u3164'],
    ['only combining marks', '\u0301\u0301'],
    ['only a braille blank', '\u2800\u2800'],
    ['only tags', '\u{E0041}\u{E0042}'],
  ])('refuses a display name with %s', async (_what, name) => {
    const u = await signUp(t, 'Fine');
    expect(await errorCode(u.client.api.users.updateProfile.mutate({ displayName: name }))).toBe('BAD_REQUEST');
  });
});
