/**
 * What an instance exposes to whoever reaches it: sockets that never sign in are closed after
 * WS_AUTH_TIMEOUT_MS (4401) while signed-in ones stay; /metrics needs METRICS_TOKEN when one is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_UNAUTHENTICATED } from '../src/server.js';
import { rawSocket, signUp, sleep, startTestServer, type TestServer } from './helpers.js';

const TOKEN = 'metrics-token-0123456789';

describe('exposure', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite', env: { WS_AUTH_TIMEOUT_MS: '300', METRICS_TOKEN: TOKEN } });
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

  it('answers /metrics only with its token', async () => {
    expect((await fetch(`${t.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${t.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const ok = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^parley_websocket_connections/m);
  });
});
