/**
 * tRPC's WebSocket subscription loop, as patched (patches/README.md: one callback per item instead
 * of an async loop racing each next() against the abort). A bare router on a real socket, so each
 * way a stream ends is seen frame by frame: done, thrown, stopped by the client, the socket closed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { initTRPC, tracked, TRPCError } from '@trpc/server';
import { getWSConnectionHandler } from '@trpc/server/adapters/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

const t = initTRPC.create();
/** What each stream's generator did, by its name: 'finally' once it ended, however it ended. */
const log = new Map<string, string[]>();
const note = (name: string, what: string) => log.set(name, [...(log.get(name) ?? []), what]);
const gates = new Map<string, () => void>();

const router = t.router({
  stream: t.procedure
    .input((raw) => raw as { name: string; items: number; fail?: boolean; hold?: boolean })
    .subscription(async function* ({ input, signal }) {
      try {
        for (let i = 1; i <= input.items; i++) yield i % 2 ? tracked(`c${i}`, { i }) : { i };
        if (input.fail) throw new TRPCError({ code: 'CONFLICT', message: 'went wrong' });
        // Held open until aborted, as the server's queues are.
        if (input.hold) await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve()));
      } finally {
        note(input.name, 'finally');
        gates.get(input.name)?.();
      }
    }),
});

type Frame = {
  id: number;
  result?: { type: string; id?: string; data?: unknown };
  error?: { data?: { code?: string } };
};

describe('tRPC WebSocket subscriptions (patched loop)', () => {
  let http: Server;
  let wss: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http });
    const handle = getWSConnectionHandler({ wss, router });
    wss.on('connection', (ws, req) => handle(ws, req));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    wss.close();
    await new Promise((resolve) => http.close(resolve));
  });

  async function open() {
    const ws = new WebSocket(url);
    const frames: Frame[] = [];
    const waiters: { until: (f: Frame[]) => boolean; resolve: () => void }[] = [];
    ws.on('message', (data) => {
      frames.push(JSON.parse(String(data)) as Frame);
      for (const w of [...waiters]) if (w.until(frames)) w.resolve();
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const until = (test: (f: Frame[]) => boolean) =>
      test(frames) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ until: test, resolve }));
    const subscribe = (id: number, input: object) =>
      ws.send(JSON.stringify({ id, method: 'subscription', params: { path: 'stream', input } }));
    return { ws, frames, until, subscribe };
  }
  const of = (frames: Frame[], id: number) => frames.filter((f) => f.id === id);
  /** Whether subscription `id` has been answered a result of `type` yet. */
  const answered = (id: number, type: string) => (frames: Frame[]) =>
    of(frames, id).some((f) => f.result?.type === type);
  const ended = (name: string) => new Promise<void>((resolve) => gates.set(name, resolve));

  it('answers started, every item in order (tracked ones with their id), then stopped once the stream is done', async () => {
    const c = await open();
    const done = ended('done');
    c.subscribe(1, { name: 'done', items: 3 });
    await c.until(answered(1, 'stopped'));
    await done;
    expect(of(c.frames, 1).map((f) => f.result)).toEqual([
      { type: 'started' },
      { type: 'data', id: 'c1', data: { id: 'c1', data: { i: 1 } } },
      { type: 'data', data: { i: 2 } },
      { type: 'data', id: 'c3', data: { id: 'c3', data: { i: 3 } } },
      { type: 'stopped' },
    ]);
    expect(log.get('done')).toEqual(['finally']);
    c.ws.close();
  });

  it("answers a stream's error after its items, and ends it", async () => {
    const c = await open();
    const done = ended('fails');
    c.subscribe(2, { name: 'fails', items: 1, fail: true });
    await c.until(answered(2, 'stopped'));
    await done;
    const frames = of(c.frames, 2);
    expect(frames.map((f) => f.result?.type ?? f.error?.data?.code)).toEqual([
      'started',
      'data',
      'CONFLICT',
      'stopped',
    ]);
    expect(log.get('fails')).toEqual(['finally']);
    c.ws.close();
  });

  it('ends a held stream on subscription.stop (its finally runs) and answers stopped; the socket goes on', async () => {
    const c = await open();
    const done = ended('stopped');
    c.subscribe(3, { name: 'stopped', items: 1, hold: true });
    await c.until(answered(3, 'data'));
    c.ws.send(JSON.stringify({ id: 3, method: 'subscription.stop' }));
    await done;
    await c.until(answered(3, 'stopped'));
    c.subscribe(4, { name: 'after', items: 1 });
    await c.until(answered(4, 'stopped'));
    expect(log.get('stopped')).toEqual(['finally']);
    c.ws.close();
  });

  it('ends every held stream of a socket that closes', async () => {
    const c = await open();
    const both = Promise.all([ended('closed-a'), ended('closed-b')]);
    c.subscribe(5, { name: 'closed-a', items: 0, hold: true });
    c.subscribe(6, { name: 'closed-b', items: 0, hold: true });
    await c.until((f) => of(f, 5).length > 0 && of(f, 6).length > 0);
    c.ws.terminate();
    await both;
    expect([log.get('closed-a'), log.get('closed-b')]).toEqual([['finally'], ['finally']]);
  });
});
