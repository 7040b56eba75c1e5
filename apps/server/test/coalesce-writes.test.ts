/**
 * coalesceWrites (apps/server/src/backpressure.ts): the frames a WebSocket is sent in one turn wait,
 * corked, for the turn's end, then leave together, in order, in one write. Real sockets: a ws
 * server and client on loopback.
 */
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { coalesceWrites } from '../src/backpressure.js';

describe('coalesceWrites', () => {
  let wss: WebSocketServer;
  let server: { ws: WebSocket; socket: Socket };
  let client: WebSocket;
  const received: string[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const connected = new Promise<{ ws: WebSocket; socket: Socket }>((resolve) =>
      wss.once('connection', (ws, req) => resolve({ ws, socket: req.socket })),
    );
    client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
    client.on('message', (data) => received.push(data.toString()));
    server = await connected;
    coalesceWrites(server.ws, server.socket);
  });
  afterAll(async () => {
    client?.close();
    await new Promise((resolve) => wss?.close(resolve));
  });

  it('holds the frames of a turn until the turn ends, then sends them all in order', async () => {
    const { ws, socket } = server;
    ws.send('one');
    // Held: even the first waits in the socket's buffer for the rest of the turn.
    expect(socket.writableCorked).toBe(1);
    expect(socket.writableLength).toBeGreaterThan(0);
    ws.send('two');
    ws.send('three');
    // ws corks around each frame of its own; that nests in the turn's cork.
    expect(socket.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
    expect(socket.writableLength).toBe(0);

    const deadline = Date.now() + 5_000;
    while (received.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual(['one', 'two', 'three']);

    // A new turn starts over.
    ws.send('four');
    expect(socket.writableCorked).toBe(1);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(socket.writableCorked).toBe(0);
  });
});
