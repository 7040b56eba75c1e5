/**
 * The queries and mutations each WebSocket has sent and not yet had answered, counted for two
 * reasons:
 * - graceful shutdown: once draining, new calls are dropped (the client sees its socket close
 *   with 1012 and retries them elsewhere; sends are idempotent by clientId);
 * - a window of MAX_CALLS_IN_FLIGHT calls per socket: frames beyond it are held, unparsed, and
 *   the socket is not read, until answers make room. A client that sends thousands of calls and
 *   reads nothing then costs no work at all (they used to be refused one by one, which kept the
 *   event loop busy for seconds). A socket that keeps calling while its calls fail (refused,
 *   TOO_MANY_REQUESTS, UNAUTHORIZED) is closed instead of being answered error after error.
 */
import { MAX_FRAME_CALLS } from '@parley/api';
import type { WebSocket } from 'ws';
import { holdReading } from './backpressure.js';

/** Calls one socket may have unanswered; one full frame always fits. */
export const MAX_CALLS_IN_FLIGHT = MAX_FRAME_CALLS;
/** Bytes of frames a socket may have held back; beyond, it is closed (1008). */
export const MAX_HELD_BYTES = 4 * 1024 * 1024;
/**
 * Calls of one socket answered with an error within ERRORS_WINDOW_MS before it is closed (1008):
 * a client that keeps calling while told to wait (or that it may not) only makes the server
 * write refusals, as fast as it can.
 */
export const MAX_ERRORS = 100;
export const ERRORS_WINDOW_MS = 10_000;

type Listener = (data: Buffer, isBinary: boolean) => void;

function callsIn(raw: Buffer): { id: string | number; method: string }[] {
  const text = raw.toString();
  if (text === 'PING' || text === 'PONG') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    const items = Array.isArray(parsed) ? parsed : [parsed];
    return items.filter(
      (m): m is { id: string | number; method: string } =>
        typeof m === 'object' && m !== null && 'id' in m && 'method' in m && typeof m.method === 'string',
    );
  } catch {
    return [];
  }
}

/** An answer frame of tRPC v11's WebSocket handler: its call's id, then "error" or "result" (pinned by drain-format.test.ts). */
export const ANSWER_FRAME = /^\{"id":("?)([^,"]*)\1,"(error|result)"/;

interface Held {
  data: Buffer;
  requests: string[];
}

export class SocketDrain {
  /** Calls started and not yet answered, over every socket (each socket keeps its own ids). */
  private unanswered = 0;
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly window = MAX_CALLS_IN_FLIGHT) {}

  /** Call before tRPC's connection handler attaches its listeners. */
  attach(ws: WebSocket) {
    const ids = new Set<string>();
    const held: Held[] = [];
    let heldBytes = 0;
    let errors: number[] = [];
    // Every 'message' listener (tRPC's, the server's own) gets each frame once, when it is let in.
    const listeners: Listener[] = [];
    const deliver: Listener = (data, isBinary) => {
      for (const l of listeners) l(data, isBinary);
    };
    ws.once('close', () => {
      // Its calls count no more (an answer tRPC still writes to the closed socket finds no id).
      this.unanswered -= ids.size;
      ids.clear();
      held.length = 0;
      this.notify();
    });
    const run = (data: Buffer, requests: string[]) => {
      for (const id of requests) {
        if (ids.has(id)) continue;
        ids.add(id);
        this.unanswered++;
      }
      deliver(data, false);
    };
    // Frames wait in arrival order while the window is full; answers let them in.
    const release = () => {
      if (ws.readyState !== ws.OPEN) held.length = 0;
      while (held.length > 0 && ids.size < this.window) {
        const next = held.shift()!;
        heldBytes -= next.data.length;
        run(next.data, next.requests);
      }
      if (held.length === 0) holdReading(ws, 'call-window', false);
    };
    const gate: Listener = (data, isBinary) => {
      // A socket being closed (over the user's cap, or by the rules here) starts nothing more.
      if (ws.readyState !== ws.OPEN) return;
      const calls = isBinary || !Buffer.isBuffer(data) ? [] : callsIn(data);
      // Draining: new calls are not started (subscriptions either); the socket closes soon.
      if (this.draining && calls.some((c) => c.method !== 'connectionParams' && c.method !== 'subscription.stop'))
        return;
      const requests = calls.filter((c) => c.method === 'query' || c.method === 'mutation').map((c) => String(c.id));
      if (requests.length > 0 && (held.length > 0 || (ids.size > 0 && ids.size + requests.length > this.window))) {
        held.push({ data, requests });
        heldBytes += data.length;
        holdReading(ws, 'call-window', true);
        if (heldBytes > MAX_HELD_BYTES) ws.close(1008, 'Too many calls waiting');
        return;
      }
      if (requests.length === 0) deliver(data, isBinary);
      else run(data, requests);
    };
    const on = ws.on.bind(ws);
    ws.on = ((event: string, listener: (...args: unknown[]) => void) => {
      if (event !== 'message') return on(event as 'close', listener);
      if (listeners.push(listener as Listener) === 1) on('message', gate);
      return ws;
    }) as typeof ws.on;
    const send = ws.send.bind(ws);
    ws.send = ((data: unknown, ...rest: unknown[]) => {
      if (ids.size > 0 && typeof data === 'string') {
        const answer = data.match(ANSWER_FRAME);
        const id = answer?.[2];
        if (id !== undefined && ids.delete(id)) {
          this.unanswered--;
          if (this.idleWaiters.length > 0) queueMicrotask(() => this.notify());
          if (answer![3] === 'error') {
            const now = Date.now();
            errors = errors.filter((at) => now - at < ERRORS_WINDOW_MS);
            errors.push(now);
            if (errors.length > MAX_ERRORS) {
              held.length = 0;
              ws.close(1008, 'Too many failed calls');
            }
          }
          if (held.length > 0) queueMicrotask(release);
        }
      }
      return (send as (...a: unknown[]) => void)(data, ...rest);
    }) as typeof ws.send;
  }

  get inFlight() {
    return this.unanswered;
  }

  /** Stops starting new calls and resolves when every started call has answered (or after `timeoutMs`). */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (this.inFlight === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private notify() {
    if (this.inFlight > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
