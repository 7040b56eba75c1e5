/**
 * One request multiplied: calls per HTTP batch and per WebSocket frame are capped, a socket has a
 * window of calls in flight (the rest wait unread), a socket whose calls keep failing is closed,
 * and one user's flood of calls runs in that user's share of the database pool, so a bystander is
 * not queued behind it. (The read rate limit is in limits.test.ts; memory under non-reading clients in
 * memory.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { MAX_FRAME_CALLS, MAX_HTTP_BATCH } from '@parley/api';
import { MAX_CALLS_IN_FLIGHT, MAX_ERRORS } from '../src/drain.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  rawSocket,
  signUp,
  sleep,
  startTestServer,
  TEST_PG_URL,
  type Frame,
  type TestServer,
  waitFor,
} from './helpers.js';

describe('batch caps', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  const batchGet = (n: number, token: string) => {
    const input = encodeURIComponent(JSON.stringify({}));
    return fetch(`${t.url}/trpc/${Array(n).fill('auth.me').join(',')}?batch=1&input=${input}`, {
      headers: { authorization: `Bearer ${token}` },
    });
  };

  it(`answers an HTTP batch of ${MAX_HTTP_BATCH} calls and refuses one of ${MAX_HTTP_BATCH + 1} unread`, async () => {
    const u = await signUp(t);
    const ok = await batchGet(MAX_HTTP_BATCH, u.accessToken);
    expect(ok.status).toBe(200);
    expect((await ok.json()) as unknown[]).toHaveLength(MAX_HTTP_BATCH);
    const over = await batchGet(MAX_HTTP_BATCH + 1, u.accessToken);
    expect(over.status).toBe(400);
    const body = (await over.json()) as { error: { data: { code: string } } } | { error: { data: { code: string } } }[];
    for (const e of Array.isArray(body) ? body : [body]) expect(e.error.data.code).toBe('BAD_REQUEST');
  });

  it(`runs ${MAX_FRAME_CALLS} calls of one WebSocket frame and answers the rest TOO_MANY_REQUESTS`, async () => {
    const u = await signUp(t);
    const s = rawSocket(t, u.accessToken);
    await s.opened;
    expect((await s.me(1))?.result?.type).toBe('data');
    const total = MAX_FRAME_CALLS + 20;
    const ids = Array.from({ length: total }, (_, i) => 100 + i);
    const answers = Promise.all(ids.map((id) => s.answerTo(id)));
    s.ws.send(JSON.stringify(ids.map((id) => ({ id, method: 'query', params: { path: 'auth.me' } }))));
    const frames = (await answers) as (Frame | null)[];
    const ok = frames.filter((f) => f?.result?.type === 'data');
    const refused = frames.filter((f) => f?.error?.data.code === 'TOO_MANY_REQUESTS');
    expect(ok).toHaveLength(MAX_FRAME_CALLS);
    expect(refused).toHaveLength(total - MAX_FRAME_CALLS);
    expect((refused[0]!.error!.data as { retryAfterMs?: number }).retryAfterMs).toBeGreaterThan(0);
    // The socket stays usable.
    expect((await s.me(9999))?.result?.type).toBe('data');
    s.ws.close();
  });

  it('runs pipelined HTTP requests one at a time: a later one waits until the answer before it is taken', async () => {
    const u = await signUp(t, 'Piper');
    const o = await signUp(t);
    const direct = await u.client.api.conversations.openDirect.mutate({ userId: o.user.id });
    for (let i = 0; i < 100; i++) {
      await u.client.api.messages.send.mutate({
        conversationId: direct.id,
        clientId: randomUUID(),
        body: `${i} ${'x'.repeat(3990)}`,
      });
    }
    // Four batches of ten 400 KB pages (16 MB, more than the kernel's socket buffers hold), then a
    // rename, pipelined in one write by a client that reads nothing.
    const list = { conversationId: direct.id, limit: 100 };
    const input = encodeURIComponent(
      JSON.stringify(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i, list]))),
    );
    const auth = `Host: 127.0.0.1\r\nAuthorization: Bearer ${u.accessToken}\r\n`;
    const pages = `GET /trpc/${Array(10).fill('messages.list').join(',')}?batch=1&input=${input} HTTP/1.1\r\n${auth}\r\n`;
    const body = JSON.stringify({ displayName: 'Piped' });
    const rename = `POST /trpc/users.updateProfile HTTP/1.1\r\n${auth}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
    socket.pause();
    socket.on('error', () => {});
    socket.write(pages.repeat(4) + rename);
    try {
      // Run at once, the rename would be done long before its turn to answer.
      await sleep(2000);
      expect((await u.client.api.auth.me.query()).displayName).toBe('Piper');
      socket.on('data', () => {});
      socket.resume();
      await waitFor(async () => (await u.client.api.auth.me.query()).displayName === 'Piped', { timeoutMs: 30_000 });
    } finally {
      socket.destroy();
    }
  });

  it(`closes a socket whose calls keep failing (over ${MAX_ERRORS} errors in a row) instead of answering each one`, async () => {
    const u = await signUp(t);
    const s = rawSocket(t, u.accessToken);
    await s.opened;
    expect((await s.me(1))?.result?.type).toBe('data');
    // Calls that each fail validation, three frames of 50: the socket is closed after the 101st error.
    for (let f = 0; f < 3; f++) {
      s.ws.send(
        JSON.stringify(
          Array.from({ length: MAX_FRAME_CALLS }, (_, i) => ({
            id: 1000 + f * MAX_FRAME_CALLS + i,
            method: 'query',
            params: { path: 'users.byId', input: { id: 'not a uuid' } },
          })),
        ),
      );
    }
    expect((await s.closed).code).toBe(1008);
  });
});

// PGlite runs queries back to back without yielding to I/O, so queueing shows only on PostgreSQL.
describe.skipIf(!TEST_PG_URL)('fair share of the PostgreSQL pool', () => {
  let t: TestServer;
  beforeAll(async () => {
    // A pool of 4: one user runs at most 2 calls at once.
    t = await startTestServer({ db: 'postgres', env: { DATABASE_POOL_SIZE: '4' } });
  });
  afterAll(() => t?.close());

  it("a bystander is not queued behind one user's 300 calls", async () => {
    const hostile = await signUp(t, 'Hostile');
    const bystander = await signUp(t, 'Bystander');
    await bystander.client.api.auth.me.query();
    const order: string[] = [];
    // Thirty batches of ten at once, as fast as the client can send them.
    const flood = Array.from({ length: 30 }, (_, i) =>
      Promise.all(Array.from({ length: 10 }, () => hostile.client.api.conversations.list.query({}))).then(() =>
        order.push(`hostile ${i}`),
      ),
    );
    await new Promise((r) => setImmediate(r));
    const mine = bystander.client.api.auth.me.query().then(() => order.push('bystander'));
    await Promise.all([...flood, mine]);
    // Without a fair share, the bystander's call waits for a connection behind nearly all 300.
    expect(order.indexOf('bystander')).toBeLessThan(order.length - 10);
  });

  it(`runs a socket's calls ${MAX_CALLS_IN_FLIGHT} at a time and holds the rest, so thousands are all answered, none refused`, async () => {
    const u = await signUp(t);
    const s = rawSocket(t, u.accessToken);
    await s.opened;
    expect((await s.me(1))?.result?.type).toBe('data');
    // 2,000 calls in 40 frames at once: over the fair share's queue of 1,000, which used to refuse
    // the rest one by one (and let the next frames in as fast as refusals could be written).
    const ids = Array.from({ length: 2000 }, (_, i) => 100 + i);
    const answers = Promise.all(ids.map((id) => s.answerTo(id)));
    for (let f = 0; f < ids.length / MAX_FRAME_CALLS; f++) {
      const frame = ids.slice(f * MAX_FRAME_CALLS, (f + 1) * MAX_FRAME_CALLS);
      s.ws.send(
        JSON.stringify(frame.map((id) => ({ id, method: 'query', params: { path: 'conversations.list', input: {} } }))),
      );
    }
    const frames = (await answers) as (Frame | null)[];
    expect(frames.filter((f) => f?.error).map((f) => f!.error!.data.code)).toEqual([]);
    expect(frames.filter((f) => f?.result?.type === 'data')).toHaveLength(ids.length);
    s.ws.close();
  });
});
