/**
 * The memory-amplification attack of the hardening issue, shared by `memory.test.ts` (a bound on
 * RSS) and the bench's hostile-readers phase (the figures): clients ask for answers of megabytes
 * (pages of long messages, many calls per WebSocket frame and per pipelined HTTP batch) and never
 * read them. Nothing here reads a socket, so only the server's backpressure bounds what it holds.
 */
import { connect, type Socket } from 'node:net';
import WebSocket from 'ws';

export interface HostileReadersOptions {
  /** The server's http(s) origin. */
  url: string;
  accessToken: string;
  /** A conversation of the token's user with long messages in it. */
  conversationId: string;
  sockets: number;
  framesPerSocket: number;
  /** Calls per WebSocket frame (at most the server's frame cap, 50). */
  callsPerFrame?: number;
  httpConnections: number;
  requestsPerConnection: number;
  /** Calls per HTTP batch (at most the server's batch cap, 10). */
  callsPerBatch?: number;
}

export interface HostileReaders {
  /** Settles when the server closes that socket (a paused client would not notice otherwise). */
  closed: Promise<void>[];
  stop(): void;
}

export function startHostileReaders(o: HostileReadersOptions): HostileReaders {
  const perFrame = o.callsPerFrame ?? 50;
  const perBatch = o.callsPerBatch ?? 10;
  const list = { conversationId: o.conversationId, limit: 100 };
  const sockets: WebSocket[] = [];
  const closed: Promise<void>[] = [];
  for (let s = 0; s < o.sockets; s++) {
    const ws = new WebSocket(`${o.url.replace(/^http/, 'ws')}/trpc?connectionParams=1`);
    closed.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
    ws.on('error', () => {});
    sockets.push(ws);
    ws.once('open', () => {
      ws.send(JSON.stringify({ method: 'connectionParams', data: { token: o.accessToken } }));
      // ws keeps the TCP socket in a private field; pausing it is what "never reads" means.
      (ws as unknown as { _socket: Socket })._socket.pause();
      for (let f = 0; f < o.framesPerSocket; f++) {
        const frame = Array.from({ length: perFrame }, (_, i) => ({
          id: f * perFrame + i + 1,
          method: 'query',
          params: { path: 'messages.list', input: list },
        }));
        ws.send(JSON.stringify(frame));
      }
    });
  }
  const input = encodeURIComponent(
    JSON.stringify(Object.fromEntries(Array.from({ length: perBatch }, (_, i) => [i, list]))),
  );
  const path = `/trpc/${Array(perBatch).fill('messages.list').join(',')}?batch=1&input=${input}`;
  const { hostname, port } = new URL(o.url);
  const raw: Socket[] = [];
  for (let c = 0; c < o.httpConnections; c++) {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('error', () => {});
    socket.pause();
    raw.push(socket);
    const request = `GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${o.accessToken}\r\n\r\n`;
    socket.write(request.repeat(o.requestsPerConnection));
  }
  return {
    closed,
    stop() {
      for (const ws of sockets) ws.terminate();
      for (const s of raw) s.destroy();
    },
  };
}

/**
 * The WebSockets the server holds, from its /metrics: a paused client never sees its socket close,
 * so only the server can say whether it closed the hostile ones.
 */
export async function serverWebSockets(
  url: string,
  { headers = {}, timeoutMs }: { headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<number> {
  const signal = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  const text = await (await fetch(`${url}/metrics`, { headers, signal })).text();
  return Number(text.match(/^parley_websocket_connections(?:\{[^}]*\})? (\d+)/m)?.[1] ?? Number.NaN);
}
