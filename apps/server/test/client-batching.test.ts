/**
 * The WebSocket client (patches/@trpc__client@11.19.0.patch): calls made in one synchronous turn
 * leave in one frame, and that frame leaves without waiting for a timer. Unpatched, tRPC's client
 * waited `setTimeout(0)` before every call: at least 1 ms in Node and up to 4 ms in browsers.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, type TestServer } from './helpers.js';

/** The `ws` WebSocket, noting every frame the client sends. */
class RecordingWebSocket extends WebSocket {
  static sent: string[] = [];
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    const send = this.send.bind(this);
    this.send = ((data: unknown, ...rest: unknown[]) => {
      RecordingWebSocket.sent.push(String(data));
      (send as (...a: unknown[]) => void)(data, ...rest);
    }) as WebSocket['send'];
  }
}

describe('the WebSocket client', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  it('sends the calls of one turn in one frame, within the promise jobs of that turn (no timer)', async () => {
    const a = await signUp(t);
    const client = t.client({
      transport: 'ws',
      // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
      WebSocket: RecordingWebSocket as unknown as typeof globalThis.WebSocket,
    });
    client.setSession({
      accessToken: a.accessToken,
      accessTokenExpiresAt: new Date(Date.now() + 600_000).toISOString(),
    });
    await client.api.auth.me.query(); // the socket is open from here on

    const calls = RecordingWebSocket.sent.length;
    const first = client.api.auth.me.query();
    const second = client.api.conversations.list.query({});
    // Only promise jobs run meanwhile: no timer can fire, and no I/O is read.
    for (let i = 0; i < 50; i++) await Promise.resolve();
    const frames = RecordingWebSocket.sent.slice(calls);
    expect(frames).toHaveLength(1);
    const batch = JSON.parse(frames[0]!) as { method: string; params: { path: string } }[];
    expect(batch.map((c) => [c.method, c.params.path])).toEqual([
      ['query', 'auth.me'],
      ['query', 'conversations.list'],
    ]);
    expect((await first).id).toBe(a.user.id);
    await second;
  });
});
