/**
 * Graceful shutdown for tRPC over WebSocket: counts the queries and mutations each socket has
 * received and not yet answered, and, once draining, drops new calls (the client sees its socket
 * close with 1012 and retries them elsewhere; sends are idempotent by clientId).
 */
import type { WebSocket } from 'ws';

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

export class SocketDrain {
  private readonly pending = new Map<WebSocket, Set<string>>();
  private draining = false;
  private idleWaiters: (() => void)[] = [];

  /** Call before tRPC's connection handler attaches its listeners. */
  attach(ws: WebSocket) {
    const ids = new Set<string>();
    this.pending.set(ws, ids);
    ws.once('close', () => {
      this.pending.delete(ws);
      this.notify();
    });
    const on = ws.on.bind(ws);
    ws.on = ((event: string, listener: (...args: unknown[]) => void) => {
      if (event !== 'message') return on(event as 'close', listener);
      const wrapped: Listener = (data, isBinary) => {
        const calls = isBinary || !Buffer.isBuffer(data) ? [] : callsIn(data);
        const requests = calls.filter((c) => c.method === 'query' || c.method === 'mutation');
        // Draining: new calls are not started (subscriptions either); the socket closes soon.
        if (this.draining && calls.some((c) => c.method !== 'connectionParams' && c.method !== 'subscription.stop')) return;
        for (const c of requests) ids.add(String(c.id));
        listener(data, isBinary);
      };
      return on('message', wrapped);
    }) as typeof ws.on;
    const send = ws.send.bind(ws);
    ws.send = ((data: unknown, ...rest: unknown[]) => {
      if (ids.size > 0 && typeof data === 'string') {
        const id = data.match(/^\{"id":("?)([^,"]*)\1/)?.[2];
        if (id !== undefined && ids.delete(id)) queueMicrotask(() => this.notify());
      }
      return (send as (...a: unknown[]) => void)(data, ...rest);
    }) as typeof ws.send;
  }

  get inFlight() {
    let n = 0;
    for (const ids of this.pending.values()) n += ids.size;
    return n;
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
