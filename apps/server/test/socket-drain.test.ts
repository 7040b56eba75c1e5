/**
 * SocketDrain's count of started, unanswered calls, which a graceful shutdown waits on: a bare
 * `ws` server whose handler answers when the test says, so a call can be held open on purpose.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer, type WebSocket as ServerSocket } from 'ws';
import { SocketDrain } from '../src/drain.js';

interface Harness {
  drain: SocketDrain;
  /** Answers the call with this id on the server socket it arrived on. */
  answer(id: number): void;
  connect(): Promise<WebSocket>;
  /** Resolves once the server has seen `n` calls in all. */
  received(n: number): Promise<void>;
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const drain = new SocketDrain();
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  const callers = new Map<number, ServerSocket>();
  let seen = 0;
  let onSeen = () => {};
  wss.on('connection', (ws) => {
    drain.attach(ws);
    ws.on('message', (data: Buffer) => {
      for (const call of [JSON.parse(data.toString())].flat() as { id: number }[]) callers.set(call.id, ws);
      seen = callers.size;
      onSeen();
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  return {
    drain,
    answer: (id) => callers.get(id)?.send(JSON.stringify({ id, result: { type: 'data', data: null } })),
    connect: async () => {
      const ws = new WebSocket(url);
      await once(ws, 'open');
      return ws;
    },
    received: (n) =>
      new Promise((resolve) => {
        onSeen = () => seen >= n && resolve();
        onSeen();
      }),
    close: () => new Promise((resolve) => wss.close(() => resolve())),
  };
}

const mutation = (id: number) => ({ id, method: 'mutation', params: { path: 'messages.send', input: {} } });

describe('SocketDrain', () => {
  let h: Harness | null = null;
  afterEach(async () => {
    await h?.close();
    h = null;
  });

  it('waits for every started call to be answered, and counts a closed socket’s calls out', async () => {
    h = await harness();
    const a = await h.connect();
    const b = await h.connect();
    a.send(JSON.stringify([mutation(1), mutation(2)]));
    b.send(JSON.stringify(mutation(3)));
    // A subscription is no call to wait for: it lives until the socket closes.
    b.send(JSON.stringify({ id: 4, method: 'subscription', params: { path: 'messages.onEvent' } }));
    await h.received(4);
    expect(h.drain.inFlight).toBe(3);

    let drained: boolean | null = null;
    const draining = h.drain.drain(10_000).then((ok) => {
      drained = ok;
    });
    h.answer(1);
    // An answer to an id the socket never sent, or sent twice, changes nothing.
    h.answer(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.drain.inFlight).toBe(2);
    expect(drained).toBeNull();

    // b closes with call 3 unanswered: it no longer holds the shutdown up.
    b.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(h.drain.inFlight).toBe(1);
    expect(drained).toBeNull();

    h.answer(2);
    await draining;
    expect(drained).toBe(true);
    expect(h.drain.inFlight).toBe(0);
    a.close();
  });

  it('answers at once when nothing is in flight, and gives up after the timeout otherwise', async () => {
    h = await harness();
    expect(await h.drain.drain(1000)).toBe(true);
    const h2 = await harness();
    try {
      const ws = await h2.connect();
      ws.send(JSON.stringify(mutation(1)));
      await h2.received(1);
      expect(await h2.drain.drain(100)).toBe(false);
      ws.close();
    } finally {
      await h2.close();
    }
  });
});
