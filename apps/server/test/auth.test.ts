import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { generateVapidKeys } from '@parley/config';
import { CLOSE_SESSION_REVOKED } from '@parley/api';
import { followEvents, type ParleyEvent } from '@parley/client';
import {
  DB_KINDS,
  errorCode,
  rawSocket,
  signUp,
  sleep,
  startTestServer,
  tableCounts,
  uniqueEmail,
  waitFor,
  wsClientAs,
  type TestServer,
} from './helpers.js';

const post = (t: TestServer, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/trpc/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe.each(DB_KINDS)('accounts and sessions on %s', (db) => {
  let t: TestServer;
  beforeAll(async () => {
    // Reuse right after a rotation is tested here without the two-tab grace (session-guards.test.ts has it).
    t = await startTestServer({ db, env: { REFRESH_GRACE_MS: '0' } });
  });
  afterAll(() => t?.close());

  it('registers, answers AuthResult, and sets HttpOnly Lax cookies', async () => {
    const email = uniqueEmail();
    const res = await post(t, 'auth.register', { email, password: 'staple battery 123', displayName: 'Ann' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { result: { data: Record<string, unknown> } };
    const data = body.result.data as {
      user: Record<string, unknown>;
      accessToken: string;
      accessTokenExpiresAt: string;
    };
    expect(Object.keys(data.user).sort()).toEqual([
      'about',
      'avatarUrl',
      'createdAt',
      'displayName',
      'email',
      'emailVerified',
      'id',
      'totpEnabled',
    ]);
    expect(data.accessToken.split('.')).toHaveLength(3);
    const ttl = Date.parse(data.accessTokenExpiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
    const cookies = res.headers.getSetCookie();
    const access = cookies.find((c) => c.startsWith('parley_access='))!;
    const refresh = cookies.find((c) => c.startsWith('parley_refresh='))!;
    for (const c of [access, refresh]) {
      expect(c).toMatch(/HttpOnly/i);
      expect(c).toMatch(/SameSite=Lax/i);
      expect(c).not.toMatch(/Secure/i); // development and test only
    }
    expect(refresh).toMatch(/Path=\/trpc/);
    expect(refresh).toMatch(/Max-Age=604800/);
    // The refresh token carries at least 256 bits.
    expect(Buffer.from(refresh.split('=')[1]!.split(';')[0]!, 'base64url').length).toBeGreaterThanOrEqual(32);
  });

  it('answers bad input with BAD_REQUEST, zod issues, and writes nothing', async () => {
    // Earlier sign-ups queued verification mails, whose tokens are written off the request path.
    await t.server.services.mail.idle();
    const before = await tableCounts(t);
    const c = t.client();
    const bad = [
      { email: 'not-an-email', password: 'staple battery 123', displayName: 'A' },
      { email: uniqueEmail(), password: 'short', displayName: 'A' },
      { email: uniqueEmail(), password: 'é'.repeat(37), displayName: 'A' }, // 74 bytes > 72
      { email: uniqueEmail(), password: 'staple battery 123', displayName: '   ' },
      { email: uniqueEmail(), password: 'staple battery 123', displayName: 'A', admin: true },
    ];
    for (const input of bad) {
      const err = await c.api.auth.register.mutate(input as never).catch((e: unknown) => e);
      const data = (err as { data: { code: string; zodError: { fieldErrors: Record<string, string[]> } } }).data;
      expect(data.code).toBe('BAD_REQUEST');
      expect(data.zodError).toBeTruthy();
    }
    const res = await post(t, 'auth.register', { email: 'x' });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text).not.toMatch(/stack|at .*\.ts:\d+|select |insert /i);
    expect(await tableCounts(t)).toEqual(before);
  });

  it('stores bcrypt hashes at the configured cost and never plaintext', async () => {
    const { user } = await signUp(t);
    const row = await t.server.services.database.db.query.users.findFirst({ where: (u, { eq }) => eq(u.id, user.id) });
    expect(row!.passwordHash).toMatch(/^\$2[aby]\$04\$/);
  });

  it('makes emails unique regardless of case, also when sign-ups race', async () => {
    const email = uniqueEmail('Race');
    const attempts = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        t.client().api.auth.register.mutate({
          email: i % 2 ? email.toUpperCase() : email.toLowerCase(),
          password: 'staple battery 123',
          displayName: `Racer ${i}`,
        }),
      ),
    );
    expect(attempts.filter((a) => a.status === 'fulfilled')).toHaveLength(1);
    for (const a of attempts) {
      if (a.status === 'rejected') expect((a.reason as { data: { code: string } }).data.code).toBe('CONFLICT');
    }
  });

  it('gives one UNAUTHORIZED answer for an unknown email and a wrong password, then TOO_MANY_REQUESTS from an unknown device', async () => {
    const { email } = await signUp(t);
    const c = t.client();
    const unknown = await c.api.auth.login.mutate({ email: uniqueEmail(), password: 'whatever1' }).catch((e) => e);
    const wrong = await c.api.auth.login.mutate({ email, password: 'wrong-password' }).catch((e) => e);
    expect(unknown.data.code).toBe('UNAUTHORIZED');
    expect(wrong.data.code).toBe('UNAUTHORIZED');
    expect(wrong.message).toBe(unknown.message);
    for (let i = 0; i < 4; i++) await c.api.auth.login.mutate({ email, password: 'wrong-password' }).catch(() => {});
    const limited = await c.api.auth.login.mutate({ email, password: 'correct horse battery' }).catch((e) => e);
    expect(limited.data.code).toBe('TOO_MANY_REQUESTS');
    expect(limited.data.retryAfterMs).toBeGreaterThan(0);
  });

  it('logs in case-insensitively and lists sessions with the current one marked', async () => {
    const { email, password, client } = await signUp(t);
    const other = t.client();
    await other.api.auth.login.mutate({ email: email.toUpperCase(), password });
    const sessions = await other.api.auth.sessions.query();
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current)).toHaveLength(1);
    expect(await client.api.auth.me.query()).toMatchObject({ email });
  });

  it('rotates the refresh token, and a reused one revokes its whole session', async () => {
    const { client } = await signUp(t);
    const jar = () => client.cookieJar!.get('parley_refresh');
    const first = jar();
    const refreshed = await client.api.auth.refresh.mutate();
    expect(refreshed.accessToken).toBeTruthy();
    const second = jar();
    expect(second).not.toEqual(first);
    // A thief replays the first (already rotated) token.
    const replay = await post(t, 'auth.refresh', {}, { cookie: `parley_refresh=${first}` });
    expect(replay.status).toBe(401);
    // The legitimate holder's session is now revoked too.
    const after = await post(t, 'auth.refresh', {}, { cookie: `parley_refresh=${second}` });
    expect(after.status).toBe(401);
    const me = await fetch(`${t.url}/trpc/auth.me`, { headers: { authorization: `Bearer ${refreshed.accessToken}` } });
    expect(me.status).toBe(401);
  });

  it('resume: null (200, no error) when signed out or the cookie no longer works, a session when it does', async () => {
    // A first visit: no cookie at all.
    const none = await post(t, 'auth.resume', {});
    expect(none.status).toBe(200);
    expect((await none.json()).result.data).toBeNull();
    // Signed in: resume rotates like refresh.
    const { client, user } = await signUp(t);
    const first = client.cookieJar!.get('parley_refresh');
    const resumed = await post(t, 'auth.resume', {}, { cookie: `parley_refresh=${first}` });
    expect(resumed.status).toBe(200);
    expect((await resumed.json()).result.data.user.id).toBe(user.id);
    // The rotated-away token: no session (and the reuse still revokes it), the cookies cleared, still no error.
    const stale = await post(t, 'auth.resume', {}, { cookie: `parley_refresh=${first}` });
    expect(stale.status).toBe(200);
    expect((await stale.json()).result.data).toBeNull();
    expect(stale.headers.getSetCookie().some((c) => c.startsWith('parley_refresh=;'))).toBe(true);
  });

  it('logout revokes this session; logoutAll revokes every session', async () => {
    const a = await signUp(t);
    const b = t.client();
    const c = t.client();
    const tb = await b.api.auth.login.mutate({ email: a.email, password: a.password });
    const tc = await c.api.auth.login.mutate({ email: a.email, password: a.password });
    await b.api.auth.logout.mutate();
    expect(await errorCode(fetchMe(t, tb.accessToken))).toBe('UNAUTHORIZED');
    expect((await a.client.api.auth.sessions.query()).length).toBe(2);
    await a.client.api.auth.logoutAll.mutate();
    expect(await errorCode(fetchMe(t, tc.accessToken))).toBe('UNAUTHORIZED');
    expect(await errorCode(fetchMe(t, a.accessToken))).toBe('UNAUTHORIZED');
  });

  it('signs out one other device from the sessions list, at once, and only that one', async () => {
    const a = await signUp(t, 'Two devices');
    const phone = t.client();
    const signedIn = await phone.api.auth.login.mutate({ email: a.email, password: a.password });
    const phoneSocket = rawSocket(t, signedIn.accessToken);
    expect(await phoneSocket.request(1, 'subscription', 'messages.onEvent')).toMatchObject({
      result: { type: 'started' },
    });
    const listed = await a.client.api.auth.sessions.query();
    const phoneSession = listed.find((s) => !s.current)!;
    expect(listed).toHaveLength(2);

    const revokedAt = Date.now();
    await a.client.api.auth.revokeSession.mutate({ id: phoneSession.id });
    expect((await phoneSocket.closed).code).toBe(CLOSE_SESSION_REVOKED);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(await errorCode(fetchMe(t, signedIn.accessToken))).toBe('UNAUTHORIZED');
    expect(await errorCode(phone.api.auth.refresh.mutate())).toBe('UNAUTHORIZED');
    // This device goes on.
    expect((await a.client.api.auth.me.query()).id).toBe(a.user.id);
    expect((await a.client.api.auth.sessions.query()).map((s) => s.current)).toEqual([true]);
    // Already ended: NOT_FOUND, like a session of someone else (access.test.ts).
    expect(await errorCode(a.client.api.auth.revokeSession.mutate({ id: phoneSession.id }))).toBe('NOT_FOUND');
  });

  it('refuses requests and WebSocket upgrades from foreign origins', async () => {
    const foreign = await post(t, 'auth.login', { email: 'a@b.co', password: 'x' }, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    const allowed = await post(
      t,
      'auth.login',
      { email: uniqueEmail(), password: 'staple battery 123' },
      { origin: t.config.allowedOrigins[0]! },
    );
    expect(allowed.status).toBe(401);
    const wsUrl = `${t.url.replace('http', 'ws')}/trpc`;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { origin: 'https://evil.example' } });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    expect(status).toBe(403);
    const ok = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, { headers: { origin: t.config.allowedOrigins[0]! } });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(ok).toBe(101);
  });

  it('authenticates sockets by connectionParams token and by cookie; unauthenticated sockets get nothing', async () => {
    const a = await signUp(t, 'Sockets');
    const byToken = t.client({ transport: 'ws' });
    byToken.setSession({
      accessToken: a.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    });
    expect((await byToken.api.auth.me.query()).id).toBe(a.user.id);

    const anonymous = t.client({ transport: 'ws' });
    expect(await errorCode(anonymous.api.auth.me.query())).toBe('UNAUTHORIZED');

    // A browser sends its cookie with the upgrade request.
    const cookieWs = await import('@parley/client').then(({ createParleyClient }) => {
      class CookieWebSocket extends WebSocket {
        constructor(url: string) {
          super(url, { headers: { cookie: `parley_access=${a.accessToken}` } });
        }
      }
      return createParleyClient({
        url: t.url,
        transport: 'ws',
        WebSocket: CookieWebSocket as unknown as typeof globalThis.WebSocket,
      });
    });
    expect((await cookieWs.api.auth.me.query()).id).toBe(a.user.id);
    await cookieWs.close();
  });

  it('searches users by display-name prefix or exact email, never the caller, never emails', async () => {
    const tag = `Zed${Date.now().toString(36)}`;
    const me = await signUp(t, `${tag} Me`);
    const other = await signUp(t, `${tag} Other`);
    const found = await me.client.api.users.search.query({ query: tag.toLowerCase() });
    expect(found.map((u) => u.id)).toEqual([other.user.id]);
    expect(Object.keys(found[0]!).sort()).toEqual([
      'about',
      'avatarUrl',
      'displayName',
      'emailDomain',
      'handle',
      'id',
      'lastSeenAt',
      'online',
    ]);
    expect(found[0]!.emailDomain).toBeNull(); // not verified yet
    const byEmail = await me.client.api.users.search.query({ query: other.email.toUpperCase() });
    expect(byEmail.map((u) => u.id)).toEqual([other.user.id]);
    expect(await me.client.api.users.search.query({ query: '%' })).toEqual([]);
    expect((await me.client.api.users.byId.query({ id: other.user.id })).displayName).toBe(`${tag} Other`);
    expect(await errorCode(me.client.api.users.byId.query({ id: crypto.randomUUID() }))).toBe('NOT_FOUND');
    expect(await errorCode(me.client.api.users.byId.query({ id: 'nope' }))).toBe('BAD_REQUEST');
    const updated = await me.client.api.users.updateProfile.mutate({ displayName: '  Renamed  ' });
    expect(updated.displayName).toBe('Renamed');
  });

  it("ends the owner's live socket too when a stolen refresh token is replayed after the owner refreshed", async () => {
    const owner = await signUp(t, 'Victim');
    const stolen = owner.client.cookieJar!.get('parley_refresh')!;
    const refreshed = await owner.client.api.auth.refresh.mutate();
    const socket = rawSocket(t, refreshed.accessToken);
    expect(await socket.request(1, 'query', 'auth.me')).toMatchObject({ result: { data: { id: owner.user.id } } });

    const replay = await post(t, 'auth.refresh', {}, { cookie: `parley_refresh=${stolen}` });
    expect(replay.status).toBe(401);
    // API.md: live subscriptions of a revoked session end within one second.
    const closed = await Promise.race([socket.closed, sleep(1000).then(() => null)]);
    expect(closed?.code).toBe(CLOSE_SESSION_REVOKED);
    // The owner cannot refresh either: the whole session is gone.
    expect(await errorCode(owner.client.api.auth.refresh.mutate())).toBe('UNAUTHORIZED');
  });

  it('delivers nothing more to the sockets of a revoked session, raw or reconnecting', async () => {
    const a = await signUp(t, 'Revoked');
    const b = await signUp(t, 'Witness');
    const conv = await b.client.api.conversations.openDirect.mutate({ userId: a.user.id });
    // A raw socket, and a client that reconnects by itself still holding the (unexpired) access token.
    const raw = rawSocket(t, a.accessToken);
    expect(await raw.request(1, 'subscription', 'messages.onEvent')).toMatchObject({ result: { type: 'started' } });
    const bodies = (events: ParleyEvent[]) => events.flatMap((e) => (e.type === 'message.new' ? [e.message.body] : []));
    const aEvents: ParleyEvent[] = [];
    const bEvents: ParleyEvent[] = [];
    let started = 0;
    const aFollower = followEvents(wsClientAs(t, a.accessToken).api, {
      onEvent: (e) => aEvents.push(e),
      onStarted: () => started++,
    });
    const bFollower = followEvents(wsClientAs(t, b.accessToken).api, {
      onEvent: (e) => bEvents.push(e),
      onStarted: () => started++,
    });
    await waitFor(() => started === 2);

    await b.client.api.messages.send.mutate({ conversationId: conv.id, clientId: crypto.randomUUID(), body: 'before' });
    await waitFor(
      () => bodies(aEvents).includes('before') && raw.received.some((f) => JSON.stringify(f).includes('"before"')),
    );

    await a.client.api.auth.logout.mutate();
    expect((await raw.closed).code).toBe(CLOSE_SESSION_REVOKED);
    await b.client.api.messages.send.mutate({
      conversationId: conv.id,
      clientId: crypto.randomUUID(),
      body: 'after revocation',
    });
    // The witness has it; give a wrongly delivered copy time to arrive, then check that none did.
    await waitFor(() => bodies(bEvents).includes('after revocation'));
    await sleep(300);
    expect(bodies(aEvents)).toEqual(['before']);
    expect(raw.received.some((f) => JSON.stringify(f).includes('after revocation'))).toBe(false);
    aFollower.stop();
    bFollower.stop();
  });

  it('answers /healthz and /readyz', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });
});

function fetchMe(t: TestServer, token: string) {
  const c = t.client();
  c.setSession({ accessToken: token, accessTokenExpiresAt: new Date(Date.now() + 10 * 60_000).toISOString() });
  return c.api.auth.me.query();
}

describe('production start-up', () => {
  const vapid = generateVapidKeys();
  it('refuses to start without real secrets and names what is missing', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    // Asynchronous: a synchronous child blocks the worker, which then cannot answer the runner.
    const res = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', main],
        { env: { PATH: process.env.PATH, NODE_ENV: 'production', PORT: '0' }, encoding: 'utf8', timeout: 30_000 },
        (err, _stdout, stderr) =>
          resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      );
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('JWT_SECRET');
    expect(res.stderr).toContain('TURN_SECRET');
    expect(res.stderr).toContain('ALLOWED_ORIGINS');
    expect(res.stderr).toContain('VAPID_PUBLIC_KEY');
  });

  it('sets Secure cookies in production', async () => {
    const t = await startTestServer({
      db: 'pglite',
      env: {
        NODE_ENV: 'production',
        ALLOWED_ORIGINS: 'https://parley.example',
        BCRYPT_COST: '12',
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        VAPID_SUBJECT: 'mailto:ops@parley.example',
      },
    });
    try {
      const res = await post(t, 'auth.register', {
        email: uniqueEmail(),
        password: 'staple battery 123',
        displayName: 'Prod',
      });
      expect(res.status).toBe(200);
      for (const c of res.headers.getSetCookie()) expect(c).toMatch(/; Secure/i);
      const row = await t.server.services.database.db.query.users.findFirst();
      expect(row!.passwordHash).toMatch(/^\$2[aby]\$12\$/);
    } finally {
      await t.close();
    }
  });
});
