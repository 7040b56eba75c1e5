/**
 * Email verification, password reset and password change against a real SMTP server on loopback:
 * the mails arrive (plain text and HTML), their links work once and expire, a reset ends every
 * session, a change every other one; the reset request answers the same and does the same work on
 * the request path whether or not the address has an account.
 */
import { loadConfig } from '@parley/config';
import { createLogger, MailService } from '@parley/api';
import { sql } from 'drizzle-orm';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_KINDS, errorCode, signUp, startTestServer, tableCounts, uniqueEmail, type TestServer } from './helpers.js';
import { linkToken, startSmtp, type Inbox } from './smtp-helpers.js';

const post = (t: TestServer, path: string, body: unknown) =>
  fetch(`${t.url}/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe.each(DB_KINDS)('mail: verification, reset, change on %s', (db) => {
  let t: TestServer;
  let inbox: Inbox;
  beforeAll(async () => {
    inbox = await startSmtp();
    t = await startTestServer({ db, env: { SMTP_URL: inbox.url, MAIL_FROM: 'Parley <parley@example.test>' } });
  });
  afterAll(async () => {
    await t?.close();
    await inbox?.close();
  });

  it('registration mails a verification link that works once', async () => {
    const a = await signUp(t, 'Vera');
    expect(a.user.emailVerified).toBe(false);
    const mail = await inbox.next(a.email);
    expect(mail.subject).toMatch(/confirm your email/i);
    expect(mail.from?.text).toContain('parley@example.test');
    expect(mail.text).toContain('/verify-email#token=');
    expect(mail.html).toContain('<a href=');
    const token = linkToken(mail, '/verify-email');
    // Only a hash is stored: the token's secret half appears nowhere in the database.
    const rows = await t.server.database.db.execute(sql`select token_hash from email_tokens`);
    expect(JSON.stringify(rows)).not.toContain(token.split('.')[1]);

    const verified = await t.client().api.auth.verifyEmail.mutate({ token });
    expect(verified).toMatchObject({ id: a.user.id, emailVerified: true });
    expect((await a.client.api.auth.me.query()).emailVerified).toBe(true);
    expect(await errorCode(t.client().api.auth.verifyEmail.mutate({ token }))).toBe('BAD_REQUEST');
    // A forged secret for a real token id, and a token of the wrong purpose, are refused alike.
    const [id] = token.split('.');
    expect(await errorCode(t.client().api.auth.verifyEmail.mutate({ token: `${id}.forged` }))).toBe('BAD_REQUEST');
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token, password: 'new password 1' }))).toBe('BAD_REQUEST');
  });

  it('a reset link sets the password once, ends every session, and expires after an hour', async () => {
    const a = await signUp(t, 'Rosa');
    const phone = t.client();
    await phone.api.auth.login.mutate({ email: a.email, password: a.password });
    expect(await phone.api.auth.requestPasswordReset.mutate({ email: a.email.toUpperCase() })).toEqual({ ok: true });
    const mail = await inbox.next(a.email, 2); // the first is the verification mail
    expect(mail.subject).toMatch(/reset your parley password/i);
    const token = linkToken(mail, '/reset-password');
    const expiry = await t.server.database.db.execute(
      sql`select extract(epoch from expires_at - created_at)::int as s from email_tokens where purpose = 'reset' and id = ${token.split('.')[0]}`,
    );
    expect(JSON.stringify(expiry)).toContain('3600');

    const before = await tableCounts(t);
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token, password: 'short' }))).toBe('BAD_REQUEST');
    expect(await tableCounts(t)).toEqual(before);

    expect(await t.client().api.auth.resetPassword.mutate({ token, password: 'a brand new password' })).toEqual({ ok: true });
    expect(await errorCode(a.client.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(phone.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(t.client().api.auth.login.mutate({ email: a.email, password: a.password }))).toBe('UNAUTHORIZED');
    await t.client().api.auth.login.mutate({ email: a.email, password: 'a brand new password' });
    // Once only.
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token, password: 'another new password' }))).toBe('BAD_REQUEST');

    // A second link, expired (as an hour later): refused, and the password stays.
    await t.client().api.auth.requestPasswordReset.mutate({ email: a.email });
    const late = linkToken(await inbox.next(a.email, 3), '/reset-password');
    await t.server.database.db.execute(sql`update email_tokens set expires_at = now() - interval '1 second' where id = ${late.split('.')[0]}`);
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token: late, password: 'too late password' }))).toBe('BAD_REQUEST');
    await t.client().api.auth.login.mutate({ email: a.email, password: 'a brand new password' });
  });

  it('answers a reset request the same, with the same work on the request path, whether or not the address exists', async () => {
    const a = await signUp(t, 'Known');
    await inbox.next(a.email);
    const unknown = uniqueEmail('nobody');
    // Hold the queued jobs: what the request itself did is then all there is to compare.
    const mail = t.server.services.mail;
    const held: (() => Promise<unknown>)[] = [];
    const enqueue = mail.enqueue.bind(mail);
    mail.enqueue = (job) => void held.push(job);
    try {
      const before = await tableCounts(t);
      const known = await post(t, 'auth.requestPasswordReset', { email: a.email });
      const none = await post(t, 'auth.requestPasswordReset', { email: unknown });
      expect(known.status).toBe(none.status);
      expect(await known.text()).toBe(await none.text());
      // Each request queued exactly one job and wrote nothing: the lookup happens in the job.
      expect(held).toHaveLength(2);
      expect(await tableCounts(t)).toEqual(before);
      for (const job of held) enqueue(job as never);
    } finally {
      mail.enqueue = enqueue;
    }
    await mail.idle();
    expect(inbox.to(a.email)).toHaveLength(2);
    expect(inbox.to(unknown)).toHaveLength(0);
  });

  it('limits reset requests per address', async () => {
    const email = uniqueEmail('limited');
    const c = t.client();
    for (let i = 0; i < 3; i++) await c.api.auth.requestPasswordReset.mutate({ email });
    const err = await c.api.auth.requestPasswordReset.mutate({ email }).catch((e: { data?: { code?: string; retryAfterMs?: number } }) => e);
    expect((err as { data: { code: string; retryAfterMs: number } }).data).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect((err as { data: { retryAfterMs: number } }).data.retryAfterMs).toBeGreaterThan(0);
  });

  it('changing the password needs the current one and ends every other session', async () => {
    const a = await signUp(t, 'Chang');
    const other = t.client();
    await other.api.auth.login.mutate({ email: a.email, password: a.password });
    expect(await errorCode(a.client.api.auth.changePassword.mutate({ currentPassword: 'wrong password', newPassword: 'the next password' }))).toBe('UNAUTHORIZED');
    await other.api.auth.me.query();
    expect(await a.client.api.auth.changePassword.mutate({ currentPassword: a.password, newPassword: 'the next password' })).toEqual({ ok: true });
    expect((await a.client.api.auth.me.query()).id).toBe(a.user.id);
    expect(await errorCode(other.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect((await a.client.api.auth.sessions.query()).map((s) => s.current)).toEqual([true]);
    await t.client().api.auth.login.mutate({ email: a.email, password: 'the next password' });
  });
});

describe('mail without SMTP', () => {
  const capture = () => {
    const lines: string[] = [];
    const logger = createLogger('info', {}, new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }));
    return { lines, logger };
  };

  it('in production: warns at start-up what is off, and sends nothing', async () => {
    const { lines, logger } = capture();
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: '/tmp/parley-mail-test' });
    const mail = new MailService({ config: { ...config, isProduction: true }, logger });
    mail.warnIfDisabled();
    expect(lines.join('')).toMatch(/Mail is disabled.*verification.*password-reset/);
    mail.enqueue(async () => ({ to: 'a@example.test', subject: 's', text: 'secret link', html: '' }));
    await mail.idle();
    expect(mail.outbox).toEqual([]);
    expect(lines.join('')).not.toContain('secret link');
  });

  it('in development: keeps each mail for the /dev/mail page', async () => {
    const t = await startTestServer({ db: 'pglite' });
    try {
      const a = await signUp(t, 'Dev');
      await t.server.services.mail.idle();
      const page = await fetch(`${t.url}/dev/mail`);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain(a.email);
      expect(html).toMatch(/verify-email#token=/);
    } finally {
      await t.close();
    }
  });
});
