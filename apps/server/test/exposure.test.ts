/**
 * What an instance exposes to whoever reaches it: sockets that never sign in are closed after
 * WS_AUTH_TIMEOUT_MS (4401) while signed-in ones stay; one that stops answering pings is dropped; /metrics needs METRICS_TOKEN when one is set;
 * a body that trickles in is cut at REQUEST_TIMEOUT_MS (408, closed).
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_UNAUTHENTICATED } from '../src/server.js';
import { rawSocket, signUp, sleep, startTestServer, type TestServer } from './helpers.js';

const TOKEN = 'metrics-token-0123456789';

describe('exposure', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      db: 'pglite',
      env: { WS_AUTH_TIMEOUT_MS: '300', WS_PING_INTERVAL_MS: '200', METRICS_TOKEN: TOKEN, REQUEST_TIMEOUT_MS: '1500' },
    });
  });
  afterAll(() => t?.close());

  it('closes a socket that does not authenticate, keeps one that does', async () => {
    const u = await signUp(t);
    const anonymous = rawSocket(t, null);
    const bad = rawSocket(t, 'not-a-token');
    const signedIn = rawSocket(t, u.accessToken);
    expect((await signedIn.me(1))?.result?.type).toBe('data');
    expect((await anonymous.closed).code).toBe(CLOSE_UNAUTHENTICATED);
    expect((await bad.closed).code).toBe(CLOSE_UNAUTHENTICATED);
    await sleep(400);
    expect((await signedIn.me(2))?.result?.type).toBe('data');
    signedIn.ws.close();
  });

  it('drops a signed-in socket that stops answering pings within two intervals, keeps one that answers', async () => {
    const u = await signUp(t);
    const answering = rawSocket(t, u.accessToken);
    const silent = rawSocket(t, u.accessToken, {}, { autoPong: false });
    let pings = 0;
    silent.ws.on('ping', () => pings++);
    expect((await silent.me(1))?.result?.type).toBe('data');
    expect((await answering.me(1))?.result?.type).toBe('data');
    const started = Date.now();
    const { code } = await silent.closed;
    // Terminated (no close frame): 1006 at the client, after the one ping it left unanswered.
    expect(code).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(5000);
    await sleep(500);
    expect((await answering.me(2))?.result?.type).toBe('data');
    answering.ws.close();
  });

  it('answers /metrics only with its token', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect(
      (await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status,
    ).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^parley_websocket_connections/m);
  });

  it('answers 408 and closes a connection whose body trickles in past REQUEST_TIMEOUT_MS', async () => {
    const port = Number(new URL(t.url).port);
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write(
      'POST /trpc/auth.login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
    );
    // One byte every 200 ms: it never stops sending, it only never finishes.
    const drip = setInterval(() => socket.writable && socket.write(' '), 200);
    try {
      await closed;
    } finally {
      clearInterval(drip);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  }, 30_000);
});
