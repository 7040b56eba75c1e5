/**
 * Abuse limits: rate limits (memory on one instance; Redis shared by two), payload limits over
 * HTTP and WebSocket, sockets per user and subscriptions per socket. A refused call answers a
 * tRPC error with the right code (and, for rate limits, when to retry) and writes nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { CLOSE_TOO_MANY_SOCKETS, MAX_INPUT_BYTES, RATE_LIMITS } from '@parley/api';
import type { ParleyClient } from '@parley/client';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/server.js';
import {
  createTestDatabase,
  errorCode,
  rawSocket,
  signUp,
  startTestServer,
  tableCounts,
  TEST_PG_URL,
  TEST_REDIS_URL,
  uniqueEmail,
  waitFor,
  type TestServer,
} from './helpers.js';

/** Small limits that still allow a few calls: every limit × 0.1 (at least 1). */
const SCALE = 0.1;
type LimitName = keyof typeof RATE_LIMITS;
const limitOf = (name: LimitName) => Math.max(1, Math.floor(RATE_LIMITS[name].limit * SCALE));
const LIMIT_ENV = { RATE_LIMIT_SCALE: String(SCALE), TRUST_PROXY: '127.0.0.1,::1' };

/**
 * A client address of its own per test (believed through TRUST_PROXY), so IP-keyed limits start
 * from zero even in a Redis that other runs share.
 */
const freshIp = () => `10.${[...randomBytes(3)].join('.')}`;

interface Error429 {
  data?: { code?: string; retryAfterMs?: number | null };
}

async function refusal(p: Promise<unknown>): Promise<Error429['data']> {
  try {
    await p;
  } catch (err) {
    return (err as Error429).data ?? { code: `not a tRPC error: ${String(err)}` };
  }
  return { code: 'no error' };
}

type Instances = { name: string; a: TestServer; b: TestServer };

/**
 * `limit` calls succeed (alternating instances when there are two, so the count is shared); then
 * calls answer TOO_MANY_REQUESTS with a retry delay within the window, and write nothing. The budget
 * refills steadily (GCRA), so as many more calls may pass first as refilled while these ran.
 * Returns how many passed.
 */
async function exhaust(
  t: Instances,
  name: LimitName,
  call: (on: TestServer, i: number) => Promise<unknown>,
): Promise<number> {
  const limit = limitOf(name);
  const interval = RATE_LIMITS[name].windowMs / limit;
  const started = performance.now();
  for (let i = 0; i < limit; i++) await call(i % 2 === 0 ? t.a : t.b, i);
  for (let i = limit; ; i++) {
    // Mail queued by earlier calls (sign-ups) leaves its table once sent: let it settle first.
    await Promise.all([t.a.server.services.mail.idle(), t.b.server.services.mail.idle()]);
    const before = await tableCounts(t.a);
    const refused = await refusal(call(i % 2 === 0 ? t.a : t.b, i));
    if (refused?.code === 'no error') {
      expect(i - limit).toBeLessThanOrEqual(Math.ceil((performance.now() - started) / interval));
      continue;
    }
    expect(refused?.code).toBe('TOO_MANY_REQUESTS');
    expect(refused?.retryAfterMs).toBeGreaterThan(0);
    expect(refused?.retryAfterMs).toBeLessThanOrEqual(RATE_LIMITS[name].windowMs);
    expect(await tableCounts(t.a)).toEqual(before);
    return i;
  }
}

/** A client of instance `on` acting as the user whose access token this is. */
function as(on: TestServer, accessToken: string, opts: Parameters<TestServer['client']>[0] = {}): ParleyClient {
  const c = on.client(opts);
  c.setSession({ accessToken, accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString() });
  return c;
}

const rateLimitSetups: { name: string; skip: boolean; start: () => Promise<Instances & { close(): Promise<void> }> }[] =
  [
    {
      name: 'memory (PGlite, one instance)',
      skip: false,
      async start() {
        const a = await startTestServer({ db: 'pglite', env: LIMIT_ENV });
        return { name: 'memory', a, b: a, close: () => a.close() };
      },
    },
    {
      name: 'Redis (PostgreSQL, two instances sharing the count)',
      skip: !TEST_PG_URL || !TEST_REDIS_URL,
      async start() {
        const db = await createTestDatabase();
        const a = await startTestServer({ db: 'postgres', databaseUrl: db.url, redis: true, env: LIMIT_ENV });
        const b = await startTestServer({ db: 'postgres', databaseUrl: db.url, redis: true, env: LIMIT_ENV });
        return {
          name: 'redis',
          a,
          b,
          async close() {
            await a.close();
            await b.close();
            await db.drop();
          },
        };
      },
    },
  ];

for (const setup of rateLimitSetups) {
  describe.skipIf(setup.skip)(`rate limits with ${setup.name}`, () => {
    let t: Instances & { close(): Promise<void> };
    beforeAll(async () => {
      t = await setup.start();
    });
    afterAll(() => t?.close());

    /** A signed-up user on instance a, from an address of its own. */
    const newUser = (name = 'User') => signUp(t.a, name, { headers: { 'x-forwarded-for': freshIp() } });

    it('limits sign-ups per IP', async () => {
      const ip = freshIp();
      await exhaust(t, 'register', (on) =>
        on
          .client({ headers: { 'x-forwarded-for': ip } })
          .api.auth.register.mutate({ email: uniqueEmail(), password: 'staple battery 123', displayName: 'Many' }),
      );
      // Another address is not affected.
      await signUp(t.b, 'Elsewhere', { headers: { 'x-forwarded-for': freshIp() } });
    });

    it('limits sign-ins per IP, and says when to retry in error.data and in Retry-After', async () => {
      const u = await newUser();
      const ip = freshIp();
      await exhaust(t, 'login', (on) =>
        on
          .client({ headers: { 'x-forwarded-for': ip } })
          .api.auth.login.mutate({ email: u.email, password: u.password }),
      );
      const res = await fetch(`${t.b.url}/trpc/auth.login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ email: u.email, password: u.password }),
      });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(RATE_LIMITS.login.windowMs / 1000);
      const body = (await res.json()) as { error: { data: { code: string; retryAfterMs: number } } };
      expect(body.error.data.code).toBe('TOO_MANY_REQUESTS');
      expect(body.error.data.retryAfterMs).toBeGreaterThan(0);
    });

    it('limits refreshes per IP; a refused refresh rotates nothing and keeps the session', async () => {
      const ip = freshIp();
      const u = await signUp(t.a, 'Refresher', { headers: { 'x-forwarded-for': ip } });
      // The session lives in the shared database; the refresh cookie is carried by hand to either instance.
      let cookie = u.client.cookieJar!.get('parley_refresh')!;
      const refreshOn = async (on: TestServer) => {
        const res = await fetch(`${on.url}/trpc/auth.refresh`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip, cookie: `parley_refresh=${cookie}` },
          body: '{}',
        });
        const json = (await res.json()) as { error?: { data: Error429['data'] } };
        if (json.error) throw { data: json.error.data };
        cookie = res.headers
          .getSetCookie()
          .find((c) => c.startsWith('parley_refresh='))!
          .split(';')[0]!
          .split('=')[1]!;
      };
      await exhaust(t, 'refresh', refreshOn);
      // Once the window is over (reset here rather than waited for), the same cookie still works.
      await t.a.server.services.limiter.reset(`rl:refresh:ip:${ip}`);
      await refreshOn(t.b);
    });

    it('counts IP limits over WebSocket by the forwarded client address (TRUST_PROXY), as over HTTP', async () => {
      const u = await newUser();
      const login = (ip: string, id: number) =>
        rawSocket(t.a, null, { 'x-forwarded-for': ip }).request(id, 'mutation', 'auth.login', {
          email: u.email,
          password: u.password,
        });
      const ip = freshIp();
      for (let i = 0; i < limitOf('login'); i++) expect(await login(ip, i)).toMatchObject({ result: { type: 'data' } });
      expect(await login(ip, 99)).toMatchObject({ error: { data: { code: 'TOO_MANY_REQUESTS' } } });
      // Another client behind the same proxy has its own count.
      expect(await login(freshIp(), 1)).toMatchObject({ result: { type: 'data' } });
    });

    it('limits sends per user, over HTTP and WebSocket, across instances', async () => {
      const a = await newUser('Sender');
      const b = await newUser('Receiver');
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const onB = as(t.b, a.accessToken);
      const overWs = as(t.b, a.accessToken, { transport: 'ws' });
      const sent = await exhaust(t, 'send', (on, i) =>
        (on === t.a ? a.client : i >= limitOf('send') ? overWs : onB).api.messages.send.mutate({
          conversationId: conv.id,
          clientId: randomUUID(),
          body: `m${i}`,
        }),
      );
      expect(
        await refusal(overWs.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'x' })),
      ).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
      const history = await b.client.api.messages.list.query({ conversationId: conv.id });
      expect(history.items).toHaveLength(sent);
      // Another user is not affected.
      await b.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'mine' });
    });

    it('limits typing notices per user', async () => {
      const a = await newUser();
      const b = await newUser();
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const onB = as(t.b, a.accessToken);
      await exhaust(t, 'typing', (on) =>
        (on === t.a ? a.client : onB).api.messages.typing.mutate({ conversationId: conv.id }),
      );
    });

    it('limits searches per user', async () => {
      const a = await newUser();
      const onB = as(t.b, a.accessToken);
      await exhaust(t, 'search', (on) => (on === t.a ? a.client : onB).api.users.search.query({ query: 'someone' }));
    });

    it('limits reads per user (every query shares one budget), over HTTP and WebSocket, across instances', async () => {
      const a = await newUser();
      const onB = as(t.b, a.accessToken, { transport: 'ws' });
      await exhaust(t, 'read', (on, i) =>
        on === t.a
          ? i % 4 === 0
            ? a.client.api.conversations.list.query({})
            : a.client.api.auth.me.query()
          : onB.api.auth.sessions.query(),
      );
      // Another user is not affected.
      expect((await (await newUser()).client.api.auth.me.query()).displayName).toBe('User');
    });

    it('limits conversation changes per user (open, create, add, rename, leave share one budget)', async () => {
      const a = await newUser('Organiser');
      const others = await Promise.all([newUser(), newUser(), newUser()]);
      const onB = as(t.b, a.accessToken);
      await exhaust(t, 'conversationChange', (on, i) =>
        (on === t.a ? a.client : onB).api.conversations.createGroup.mutate({
          title: `G${i}`,
          memberIds: [others[i % 3]!.user.id],
        }),
      );
      expect(await refusal(a.client.api.conversations.openDirect.mutate({ userId: others[0]!.user.id }))).toMatchObject(
        {
          code: 'TOO_MANY_REQUESTS',
        },
      );
    });

    it('limits profile updates per user', async () => {
      const a = await newUser();
      const onB = as(t.b, a.accessToken);
      const updated = await exhaust(t, 'profile', (on, i) =>
        (on === t.a ? a.client : onB).api.users.updateProfile.mutate({ displayName: `Name ${i}` }),
      );
      expect((await a.client.api.auth.me.query()).displayName).toBe(`Name ${updated - 1}`);
    });

    it('limits call starts per user; a refused start creates no call', async () => {
      const a = await newUser('Caller');
      const b = await newUser('Callee');
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const onB = as(t.b, a.accessToken);
      await exhaust(t, 'callStart', async (on) => {
        const call = await (on === t.a ? a.client : onB).api.calls.start.mutate({
          conversationId: conv.id,
          media: 'audio',
        });
        await a.client.api.calls.hangup.mutate({ callId: call.id });
      });
    });

    it('limits call signals per user', async () => {
      const a = await newUser('Caller');
      const b = await newUser('Callee');
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const call = await b.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
      await a.client.api.calls.accept.mutate({ callId: call.id });
      const onB = as(t.b, a.accessToken);
      const answer = { type: 'answer' as const, sdp: 'v=0 answer' };
      await exhaust(t, 'callSignal', (on) =>
        (on === t.a ? a.client : onB).api.calls.signal.mutate({ callId: call.id, signal: answer }),
      );
      // The other participant still signals.
      expect(
        await b.client.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: 'v=0' } }),
      ).toEqual({ ok: true });
    });
  });
}

/** The tRPC error code of a settled call. */
const codeOf = (r: PromiseSettledResult<unknown>) =>
  r.status === 'fulfilled' ? 'no error' : ((r.reason as Error429).data?.code ?? String(r.reason));

describe('payload limits', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  const oversized = 'x'.repeat(MAX_INPUT_BYTES + 1);
  const huge = 'x'.repeat(MAX_BODY_BYTES + 1);

  it('accepts the largest real inputs: a 4,000-character message in 3-byte characters, a long SDP', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const body = '€'.repeat(4000); // 12 KB of UTF-8
    const overWs = as(t, a.accessToken, { transport: 'ws' });
    for (const c of [a.client, overWs]) {
      expect((await c.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body })).body).toBe(
        body,
      );
    }
    const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'video' });
    const sdp = `v=0\r\n${'a=candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host\r\n'.repeat(1500)}`.slice(0, 90_000);
    for (const c of [a.client, overWs]) {
      expect(await c.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp } })).toEqual({
        ok: true,
      });
    }
  });

  it('answers PAYLOAD_TOO_LARGE over HTTP, alone in a batch, and for bodies over the hard cap', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const send = (body: string) =>
      a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body });
    const before = await tableCounts(t);

    expect(await errorCode(send(oversized))).toBe('PAYLOAD_TOO_LARGE');
    // Batched (same tick): the oversized call fails alone.
    expect((await Promise.allSettled([send('fits'), send(oversized)])).map(codeOf)).toEqual([
      'no error',
      'PAYLOAD_TOO_LARGE',
    ]);
    // Over the hard cap the body is not read: every call of the batch is refused.
    expect(await errorCode(send(huge))).toBe('PAYLOAD_TOO_LARGE');
    expect((await Promise.allSettled([send('also fits'), send(huge)])).map(codeOf)).toEqual([
      'PAYLOAD_TOO_LARGE',
      'PAYLOAD_TOO_LARGE',
    ]);
    // Only 'fits' was stored.
    expect((await a.client.api.messages.list.query({ conversationId: conv.id })).items.map((m) => m.body)).toEqual([
      'fits',
    ]);
    expect((await tableCounts(t)).messages).toBe(before.messages! + 1);

    // The raw answer: HTTP 413 in tRPC's shape (JSON-RPC code -32013, tRPC's PAYLOAD_TOO_LARGE), not Fastify's.
    const res = await fetch(`${t.url}/trpc/messages.send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${a.accessToken}` },
      body: JSON.stringify({ conversationId: conv.id, clientId: randomUUID(), body: huge }),
    });
    expect(res.status).toBe(413);
    const json = (await res.json()) as {
      error: { code: number; message: string; data: { code: string; httpStatus: number } };
    };
    expect(json.error.code).toBe(TRPC_ERROR_CODES_BY_KEY.PAYLOAD_TOO_LARGE);
    expect(json.error.data).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', httpStatus: 413 });
  });

  it('answers PAYLOAD_TOO_LARGE over WebSocket for that request only; the socket stays up; the hard cap closes it', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const states: string[] = [];
    const overWs = as(t, a.accessToken, { transport: 'ws', onConnectionChange: (s) => states.push(s) });
    const send = (body: string) =>
      overWs.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body });
    await send('before');
    expect((await Promise.allSettled([send('beside'), send(oversized)])).map(codeOf)).toEqual([
      'no error',
      'PAYLOAD_TOO_LARGE',
    ]);
    expect((await send('after')).seq).toBe(3);
    expect(states).toEqual(['open']);

    // A frame over the hard cap is not read: the socket is closed (1009, message too big).
    const raw = rawSocket(t, a.accessToken);
    expect(await raw.me(1)).toMatchObject({ result: { type: 'data' } });
    const input = { conversationId: conv.id, clientId: randomUUID(), body: oversized };
    expect(await raw.request(2, 'mutation', 'messages.send', input)).toMatchObject({
      error: { code: TRPC_ERROR_CODES_BY_KEY.PAYLOAD_TOO_LARGE, data: { code: 'PAYLOAD_TOO_LARGE' } },
    });
    expect(await raw.request(3, 'mutation', 'messages.send', { ...input, body: huge })).toBeNull();
    expect((await raw.closed).code).toBe(1009);
    expect(raw.received.find((m) => m.id === 3)).toBeUndefined();
    expect((await a.client.api.messages.list.query({ conversationId: conv.id })).items).toHaveLength(3);
  });
});

describe('sockets per user and subscriptions per socket', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite', env: { MAX_SOCKETS_PER_USER: '3', MAX_SUBSCRIPTIONS_PER_SOCKET: '2' } });
  });
  afterAll(() => t?.close());

  it("closes a user's socket beyond the cap with 4029; the others and other users keep working", async () => {
    const a = await signUp(t, 'Many tabs');
    const b = await signUp(t, 'One tab');
    const sockets = [rawSocket(t, a.accessToken), rawSocket(t, a.accessToken), rawSocket(t, a.accessToken)];
    for (const [i, s] of sockets.entries()) expect(await s.me(i + 1)).toMatchObject({ result: { type: 'data' } });

    const extra = rawSocket(t, a.accessToken);
    // Asked at once, before the refusal lands: it never answers as the user.
    expect(await extra.me(1)).toBeNull();
    const closed = await extra.closed;
    expect(closed.code).toBe(CLOSE_TOO_MANY_SOCKETS);
    expect(closed.reason).toMatch(/too many connections/i);
    expect(extra.received.filter((m) => m.result)).toEqual([]);

    expect(await rawSocket(t, b.accessToken).me(1)).toMatchObject({ result: { type: 'data' } });
    expect(await sockets[0]!.me(10)).toMatchObject({ result: { type: 'data' } });

    // The client takes 4029 as final for now: no reconnect storm, calls fail fast with TOO_MANY_REQUESTS.
    const refused = as(t, a.accessToken, { transport: 'ws' });
    await errorCode(refused.api.auth.me.query());
    expect(await errorCode(refused.api.auth.me.query())).toBe('TOO_MANY_REQUESTS');

    // A closed socket frees its place.
    sockets[2]!.ws.close();
    await sockets[2]!.closed;
    await waitFor(async () => {
      const next = rawSocket(t, a.accessToken);
      const answer = await next.me(1);
      next.ws.close();
      return answer?.result;
    });
    for (const s of sockets) s.ws.close();
  });

  it('answers the subscription beyond the cap TOO_MANY_REQUESTS; the others keep delivering', async () => {
    const a = await signUp(t);
    const b = await signUp(t);
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const device = as(t, b.accessToken, { transport: 'ws' });
    const events: string[] = [];
    let started = 0;
    const messages = device.api.messages.onEvent.subscribe(undefined, {
      onStarted: () => started++,
      onData: (e) => void events.push('id' in e ? e.data.type : e.type),
    });
    const presence = device.api.presence.onChange.subscribe(undefined, { onStarted: () => started++ });
    await waitFor(() => started === 2);

    let third: string | null = null;
    const calls = device.api.calls.onEvent.subscribe(undefined, {
      onError: (e) => (third = (e as { data?: { code?: string } }).data?.code ?? 'error'),
      onStarted: () => (third = 'started'),
    });
    await waitFor(() => third);
    expect(third).toBe('TOO_MANY_REQUESTS');
    calls.unsubscribe();

    await a.client.api.messages.send.mutate({ conversationId: conv.id, clientId: randomUUID(), body: 'still here' });
    await waitFor(() => events.includes('message.new'));

    // Ending one frees its slot.
    presence.unsubscribe();
    let again: string | null = null;
    await waitFor(async () => {
      again = null;
      const sub = device.api.calls.onEvent.subscribe(undefined, {
        onError: (e) => (again = (e as { data?: { code?: string } }).data?.code ?? 'error'),
        onStarted: () => (again = 'started'),
      });
      await waitFor(() => again);
      if (again !== 'started') sub.unsubscribe();
      return again === 'started';
    });
    messages.unsubscribe();
  });
});
