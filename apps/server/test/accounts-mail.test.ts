/**
 * Email verification, password reset and password change against a real SMTP server on loopback:
 * the mails arrive (plain text and HTML), their links work once and expire, a reset ends every
 * session, a change every other one; the reset request answers the same and does the same work on
 * the request path whether or not the address has an account.
 */
import { createLogger, MailService } from '@parley/api';
import { sql } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  DB_KINDS,
  errorCode,
  signUp,
  startTestServer,
  tableCounts,
  TEST_PG_URL,
  uniqueEmail,
  type TestServer,
} from './helpers.js';
import { linkToken, startSmtp, type Inbox } from './smtp-helpers.js';

/** Rows of `db.execute` on either driver (PGlite answers `{ rows }`, postgres.js an array). */
const rowsOf = (r: unknown) => (Array.isArray(r) ? r : (r as { rows: unknown[] }).rows) as Record<string, unknown>[];

const post = (t: TestServer, path: string, body: unknown) =>
  fetch(`${t.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

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
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token, password: 'new password 1' }))).toBe(
      'BAD_REQUEST',
    );
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

    expect(await t.client().api.auth.resetPassword.mutate({ token, password: 'a brand new password' })).toEqual({
      ok: true,
    });
    expect(await errorCode(a.client.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(phone.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect(await errorCode(t.client().api.auth.login.mutate({ email: a.email, password: a.password }))).toBe(
      'UNAUTHORIZED',
    );
    await t.client().api.auth.login.mutate({ email: a.email, password: 'a brand new password' });
    // Once only.
    expect(await errorCode(t.client().api.auth.resetPassword.mutate({ token, password: 'another new password' }))).toBe(
      'BAD_REQUEST',
    );

    // A second link, expired (as an hour later): refused, and the password stays.
    await t.client().api.auth.requestPasswordReset.mutate({ email: a.email });
    const late = linkToken(await inbox.next(a.email, 3), '/reset-password');
    await t.server.database.db.execute(
      sql`update email_tokens set expires_at = now() - interval '1 second' where id = ${late.split('.')[0]}`,
    );
    expect(
      await errorCode(t.client().api.auth.resetPassword.mutate({ token: late, password: 'too late password' })),
    ).toBe('BAD_REQUEST');
    await t.client().api.auth.login.mutate({ email: a.email, password: 'a brand new password' });
  });

  it('answers a reset request the same, with the same work on the request path, whether or not the address exists', async () => {
    const a = await signUp(t, 'Known');
    await inbox.next(a.email);
    const unknown = uniqueEmail('nobody');
    // Stop the queue: what the request itself did is then all there is to compare.
    const mail = t.server.services.mail;
    await mail.stop();
    try {
      const before = await tableCounts(t);
      const known = await post(t, 'auth.requestPasswordReset', { email: a.email });
      const none = await post(t, 'auth.requestPasswordReset', { email: unknown });
      expect(known.status).toBe(none.status);
      expect(await known.text()).toBe(await none.text());
      // Each request queued one job saying only which address, and wrote nothing else: the
      // lookup happens in the job.
      expect(await tableCounts(t)).toEqual({ ...before, mail_outbox: before.mail_outbox! + 2 });
      const jobs = await t.server.database.db.execute(sql`select kind, payload from mail_outbox order by created_at`);
      expect(JSON.parse(JSON.stringify(rowsOf(jobs)))).toEqual([
        { kind: 'reset', payload: { email: a.email } },
        { kind: 'reset', payload: { email: unknown } },
      ]);
    } finally {
      mail.start();
    }
    await mail.idle();
    expect(inbox.to(a.email)).toHaveLength(2);
    expect(inbox.to(unknown)).toHaveLength(0);
    expect((await tableCounts(t)).mail_outbox).toBe(0);
  });

  it('limits reset requests per address', async () => {
    const email = uniqueEmail('limited');
    const c = t.client();
    for (let i = 0; i < 3; i++) await c.api.auth.requestPasswordReset.mutate({ email });
    const err = await c.api.auth.requestPasswordReset
      .mutate({ email })
      .catch((e: { data?: { code?: string; retryAfterMs?: number } }) => e);
    expect((err as { data: { code: string; retryAfterMs: number } }).data).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect((err as { data: { retryAfterMs: number } }).data.retryAfterMs).toBeGreaterThan(0);
  });

  it('changing the password needs the current one and ends every other session', async () => {
    const a = await signUp(t, 'Chang');
    const other = t.client();
    await other.api.auth.login.mutate({ email: a.email, password: a.password });
    expect(
      await errorCode(
        a.client.api.auth.changePassword.mutate({
          currentPassword: 'wrong password',
          newPassword: 'the next password',
        }),
      ),
    ).toBe('UNAUTHORIZED');
    await other.api.auth.me.query();
    expect(
      await a.client.api.auth.changePassword.mutate({ currentPassword: a.password, newPassword: 'the next password' }),
    ).toEqual({ ok: true });
    expect((await a.client.api.auth.me.query()).id).toBe(a.user.id);
    expect(await errorCode(other.api.auth.me.query())).toBe('UNAUTHORIZED');
    expect((await a.client.api.auth.sessions.query()).map((s) => s.current)).toEqual([true]);
    await t.client().api.auth.login.mutate({ email: a.email, password: 'the next password' });
  });
});

describe('mail without SMTP', () => {
  const capture = () => {
    const lines: string[] = [];
    const logger = createLogger(
      'info',
      {},
      new Writable({
        write: (c, _e, cb) => {
          lines.push(String(c));
          cb();
        },
      }),
    );
    return { lines, logger };
  };

  it('in production: warns at start-up what is off, and queues nothing', async () => {
    const { lines, logger } = capture();
    const t = await startTestServer({ db: 'pglite' });
    try {
      const mail = new MailService({ db: t.server.database.db, config: { ...t.config, isProduction: true }, logger });
      mail.register('test', {
        payload: z.object({}),
        build: async () => ({ to: 'a@example.test', subject: 's', text: 'secret link', html: '' }),
      });
      mail.warnIfDisabled();
      expect(lines.join('')).toMatch(/Mail is disabled.*verification.*password-reset/);
      mail.start();
      await mail.enqueue('test', {});
      await mail.stop();
      expect(mail.outbox).toEqual([]);
      expect((await tableCounts(t)).mail_outbox).toBe(0);
      expect(lines.join('')).not.toContain('secret link');
    } finally {
      await t.close();
    }
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

describe.each(DB_KINDS)('the mail queue on %s survives restarts and failures', (db) => {
  let inbox: Inbox;
  let dataDir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  const servers: TestServer[] = [];
  /** A server on the one database of this block (PGlite: the same DATA_DIR; PostgreSQL: the same database). */
  const start = async () => {
    const t = await startTestServer({
      db,
      ...(database ? { databaseUrl: database.url } : {}),
      env: { SMTP_URL: inbox.url, DATA_DIR: dataDir },
    });
    servers.push(t);
    return t;
  };
  const outbox = async (t: TestServer) =>
    rowsOf(await t.server.database.db.execute(sql`select kind, attempts, last_error, sending_at from mail_outbox`));
  beforeAll(async () => {
    inbox = await startSmtp();
    dataDir = mkdtempSync(join(tmpdir(), 'parley-mail-queue-'));
    if (db === 'postgres') database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const t of servers) await t.close();
    await inbox?.close();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends, after a restart, a mail queued before the server stopped', async () => {
    const first = await start();
    const a = await signUp(first, 'Restart');
    await inbox.next(a.email);
    // The worker stops before it sends (as a crash would leave it): the job is only in the table.
    await first.server.services.mail.stop();
    await first.client().api.auth.requestPasswordReset.mutate({ email: a.email });
    expect(await outbox(first)).toMatchObject([{ kind: 'reset', attempts: 0 }]);
    await first.close();
    servers.splice(servers.indexOf(first), 1);
    expect(inbox.to(a.email)).toHaveLength(1);

    const second = await start();
    const mail = await inbox.next(a.email, 2);
    expect(mail.subject).toMatch(/reset your parley password/i);
    await second.server.services.mail.idle();
    expect(await outbox(second)).toEqual([]);
    expect(
      await second
        .client()
        .api.auth.resetPassword.mutate({ token: linkToken(mail, '/reset-password'), password: 'after the restart' }),
    ).toEqual({
      ok: true,
    });
    expect(inbox.to(a.email)).toHaveLength(2);
  });

  it('retries a refused send later, and sends it once', async () => {
    const t = servers[0] ?? (await start());
    const a = await signUp(t, 'Retry');
    await inbox.next(a.email);
    await t.server.services.mail.idle();
    inbox.refuseNext(1);
    const refusedBefore = inbox.refused();
    await t.client().api.auth.requestPasswordReset.mutate({ email: a.email });
    await t.server.services.mail.idle();
    expect(inbox.refused()).toBe(refusedBefore + 1);
    const [job] = await outbox(t);
    expect(job).toMatchObject({ kind: 'reset', attempts: 1, sending_at: null });
    expect(String(job!.last_error)).toMatch(/451|try again/i);
    // Not before its backoff is over…
    t.server.services.mail.wake();
    await t.server.services.mail.idle();
    expect(inbox.to(a.email)).toHaveLength(1);
    // …then once (the backoff is 30 s: the test moves the job's time instead of waiting).
    await t.server.database.db.execute(sql`update mail_outbox set run_at = now()`);
    t.server.services.mail.wake();
    await t.server.services.mail.idle();
    expect(inbox.to(a.email)).toHaveLength(2);
    expect(await outbox(t)).toEqual([]);
  });

  it("takes over a dead instance's job unless it died while sending", async () => {
    const t = servers[0] ?? (await start());
    const [a, b] = [await signUp(t, 'Before send'), await signUp(t, 'Mid send')];
    await Promise.all([inbox.next(a.email), inbox.next(b.email)]);
    await t.server.services.mail.stop();
    await t.client().api.auth.requestPasswordReset.mutate({ email: a.email });
    await t.client().api.auth.requestPasswordReset.mutate({ email: b.email });
    // What a dead instance leaves: claims whose lease ran out, one of them in the middle of sending.
    const dbx = t.server.database.db;
    await dbx.execute(
      sql`update mail_outbox set claimed_by = 'dead', claimed_until = now() - interval '1 second', attempts = 1`,
    );
    await dbx.execute(
      sql`update mail_outbox set sending_at = now() - interval '2 seconds' where payload->>'email' = ${b.email}`,
    );
    t.server.services.mail.start();
    await inbox.next(a.email, 2);
    await t.server.services.mail.idle();
    expect(inbox.to(b.email)).toHaveLength(1);
    expect(await outbox(t)).toEqual([]);
  });
});

describe.skipIf(!TEST_PG_URL)('the mail queue with two instances (PostgreSQL)', () => {
  it('sends every job once when both claim at the same time', async () => {
    const inbox = await startSmtp();
    const database = await createTestDatabase();
    const env = { SMTP_URL: inbox.url };
    const s1 = await startTestServer({ db: 'postgres', databaseUrl: database.url, env });
    const s2 = await startTestServer({ db: 'postgres', databaseUrl: database.url, env });
    try {
      const users = [];
      for (let i = 0; i < 12; i++) users.push(await signUp(i % 2 ? s1 : s2, `Twin ${i}`));
      await Promise.all(users.map((u) => inbox.next(u.email)));
      await Promise.all([s1.server.services.mail.stop(), s2.server.services.mail.stop()]);
      for (const u of users) await s1.client().api.auth.requestPasswordReset.mutate({ email: u.email });
      s1.server.services.mail.start();
      s2.server.services.mail.start();
      await Promise.all(users.map((u) => inbox.next(u.email, 2)));
      await Promise.all([s1.server.services.mail.idle(), s2.server.services.mail.idle()]);
      for (const u of users) expect(inbox.to(u.email)).toHaveLength(2);
      expect((await tableCounts(s1)).mail_outbox).toBe(0);
    } finally {
      await s1.close();
      await s2.close();
      await database.drop();
      await inbox.close();
    }
  });
});
