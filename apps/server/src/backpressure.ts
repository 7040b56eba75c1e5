/**
 * Bytes in flight per connection. A client that sends calls and never reads their answers would
 * otherwise make the server hold every answer in memory (40 such clients held 4 GB):
 * - a WebSocket whose send buffer is over SEND_BUFFER_LIMIT is no longer read (holdReading), and its
 *   calls wait before they run (`writable`, the backpressure middleware in packages/api/src/trpc.ts);
 *   reading resumes once the client has drained it;
 * - any connection (HTTP or WebSocket) whose send buffer stays over the limit without the client
 *   taking a byte for STALL_CLOSE_MS is destroyed.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { TRPCError } from '@trpc/server';
import type { WebSocket } from 'ws';

export const SEND_BUFFER_LIMIT = 1024 * 1024;
export const STALL_CLOSE_MS = 10_000;
const SWEEP_MS = 100;

interface WsState {
  waiters: { resolve: () => void; reject: (e: Error) => void }[];
  paused: boolean;
}

interface Progress {
  bytesWritten: number;
  since: number;
}

const ready = Promise.resolve();

/**
 * Why each WebSocket is not being read: its send buffer is full (SendBuffers), or it has too many
 * calls unanswered (SocketDrain's call window). It is read again once no reason is left.
 */
const holds = new WeakMap<WebSocket, Set<string>>();

export function holdReading(ws: WebSocket, reason: 'send-buffer' | 'call-window', hold: boolean) {
  let reasons = holds.get(ws);
  if (!reasons) {
    reasons = new Set();
    holds.set(ws, reasons);
  }
  const wasHeld = reasons.size > 0;
  if (hold) reasons.add(reason);
  else reasons.delete(reason);
  if (!wasHeld && reasons.size > 0) ws.pause();
  else if (wasHeld && reasons.size === 0) ws.resume();
}

export class SendBuffers {
  private readonly sockets = new Map<WebSocket, WsState>();
  private readonly tcp = new Map<Socket, Progress | null>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly onStall: (info: { kind: 'ws' | 'http'; buffered: number }) => void,
    private readonly limit = SEND_BUFFER_LIMIT,
    private readonly stallMs = STALL_CLOSE_MS,
  ) {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /** Every TCP connection of the HTTP server (upgraded ones included). */
  watchServer(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.tcp.set(socket, null);
      socket.once('close', () => this.tcp.delete(socket));
    });
  }

  /** Tracks a WebSocket; its `writable()` resolves once its send buffer is under the limit. */
  watchSocket(ws: WebSocket): () => Promise<void> {
    const state: WsState = { waiters: [], paused: false };
    this.sockets.set(ws, state);
    ws.once('close', () => {
      this.sockets.delete(ws);
      const closed = new TRPCError({ code: 'CLIENT_CLOSED_REQUEST', message: 'The connection closed.' });
      for (const w of state.waiters.splice(0)) w.reject(closed);
    });
    return () => {
      if (ws.bufferedAmount <= this.limit) return ready;
      return new Promise<void>((resolve, reject) => state.waiters.push({ resolve, reject }));
    };
  }

  private sweep() {
    const now = Date.now();
    for (const [ws, state] of this.sockets) {
      const over = ws.bufferedAmount > this.limit;
      if (over !== state.paused) {
        state.paused = over;
        holdReading(ws, 'send-buffer', over);
      }
      if (!over) for (const w of state.waiters.splice(0)) w.resolve();
    }
    for (const [socket, progress] of this.tcp) {
      const buffered = socket.writableLength;
      if (buffered <= this.limit) {
        if (progress) this.tcp.set(socket, null);
        continue;
      }
      if (!progress || progress.bytesWritten !== socket.bytesWritten) {
        this.tcp.set(socket, { bytesWritten: socket.bytesWritten, since: now });
        continue;
      }
      if (now - progress.since > this.stallMs) {
        this.tcp.delete(socket);
        this.onStall({ kind: [...this.sockets.keys()].some((w) => isOn(w, socket)) ? 'ws' : 'http', buffered });
        socket.destroy();
      }
    }
  }

  close() {
    clearInterval(this.timer);
  }
}

/**
 * Pipelined HTTP requests run one at a time per connection: each waits until the answer before it
 * on the same connection is finished. Node stops reading a connection whose answers pile up, but
 * only after the chunk it is parsing: 20 requests pipelined in one write all started at once, and
 * their answers waited in memory for their turn (8 such connections asking for 4 MB batches held
 * 900 MB; `bench:hostile --sockets 0`). HTTP/1.1 answers in order anyway, and browsers do not
 * pipeline. Resolves false when the connection closed meanwhile (nothing is left to answer).
 */
const lastAnswer = new WeakMap<Socket, Promise<void>>();

export async function afterPreviousAnswer(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const socket = req.socket;
  const previous = lastAnswer.get(socket);
  lastAnswer.set(socket, new Promise<void>((resolve) => res.once('close', () => resolve())));
  if (previous) await previous;
  return !socket.destroyed;
}

/** Whether WebSocket `ws` runs on TCP socket `socket` (ws keeps it in a private field). */
function isOn(ws: WebSocket, socket: Socket) {
  return (ws as unknown as { _socket?: Socket })._socket === socket; // ws exposes no public accessor
}

/**
 * The frames a WebSocket is sent in one turn of the event loop leave in one write: the socket is
 * corked at the first and uncorked when the turn's callbacks and promise jobs are done
 * (process.nextTick, from the first send; ws's own cork around a frame's two buffers nests in
 * it). Under load one statement stores many messages, and each frame was a write system call of
 * its own, the costliest thing the server did per message after PostgreSQL. Even alone, a send's
 * answer and its own message.new reach the sender's socket in the same turn: corked from the
 * first frame, they are one write instead of two (at 200 msg/s in `bench:profile`, 6.25 → 5.3
 * write calls per message). The first frame waits only for the rest of the turn it was made in.
 */
export function coalesceWrites(ws: WebSocket, socket: Socket) {
  const send = ws.send.bind(ws);
  let corked = false;
  const endTurn = () => {
    corked = false;
    socket.uncork();
  };
  ws.send = ((...args: Parameters<WebSocket['send']>) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(endTurn);
    }
    send(...args);
  }) as WebSocket['send'];
}
