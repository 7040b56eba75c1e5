/**
 * apps/server/src/drain.ts counts a socket's calls until they are answered by reading the answer
 * frame's id with a regex: tRPC v11's WebSocket handler offers no hook for "this call answered"
 * (its `onError` fires for failures only, and the adapter writes frames with `ws.send` itself).
 * This pins the wire format that regex depends on: the answer is a JSON object whose first key is
 * `"id"`, then `"result"` or `"error"`, for numeric and string ids. A tRPC upgrade that changes it fails here.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_FRAME } from '../src/drain.js';
import { signUp, startTestServer, type TestServer } from './helpers.js';

describe('the tRPC WebSocket answer frame drain.ts reads', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  it('starts with the call id, numeric or string, for answers and errors alike', async () => {
    const a = await signUp(t);
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/trpc?connectionParams=1`);
    const frames: string[] = [];
    ws.on('message', (data) => {
      const text = data.toString();
      if (text !== 'PING' && text !== 'PONG') frames.push(text);
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ method: 'connectionParams', data: { token: a.accessToken } }));
    ws.send(JSON.stringify({ id: 7, method: 'query', params: { path: 'auth.me' } }));
    ws.send(
      JSON.stringify({ id: 'call-8', method: 'query', params: { path: 'users.byId', input: { id: 'not a uuid' } } }),
    );
    const deadline = Date.now() + 10_000;
    while (frames.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ws.close();
    const answers = frames.map((f) => f.match(ANSWER_FRAME)?.slice(2, 4)).sort();
    expect(answers).toEqual([
      ['7', 'result'],
      ['call-8', 'error'],
    ]);
  });
});
