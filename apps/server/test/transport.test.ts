/**
 * Transport rules every client meets, whatever it speaks:
 * - subscriptions exist on the WebSocket only: over HTTP (GET, POST, SSE, batched) every one of
 *   them is refused before a stream opens, so none can outlive a logout or the token's expiry;
 * - a mutation that takes no input accepts a POST with no body (tRPC's httpLink sends it so),
 *   through httpLink, httpBatchLink, wsLink and a raw POST with and without a content type.
 * The procedure lists come from the router, so a new subscription or input-less mutation is covered.
 */
import type { AppRouter } from '@parley/api';
import { createTRPCClient, createWSClient, httpBatchLink, httpLink, wsLink, type TRPCLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { errorCode, startTestServer, uniqueEmail, type TestServer } from './helpers.js';
import { procedures } from './router-walk.js';

const subscriptions = procedures.filter(([, p]) => p._def.type === 'subscription').map(([path]) => path);
const inputless = procedures
  .filter(([, p]) => p._def.type === 'mutation' && p._def.inputs.length === 0)
  .map(([path]) => path);

/** A fresh user, signed up by a raw POST: its access token and refresh cookie. */
async function freshUser(t: TestServer) {
  const res = await fetch(`${t.url}/trpc/auth.register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: uniqueEmail(), password: 'correct horse battery', displayName: 'Transport' }),
  });
  const body = (await res.json()) as { result: { data: { accessToken: string } } };
  const refresh = res.headers
    .getSetCookie()
    .find((c) => c.startsWith('parley_refresh='))!
    .split(';')[0]!;
  return { token: body.result.data.accessToken, cookie: refresh };
}

describe('transports', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ db: 'pglite' });
  });
  afterAll(() => t?.close());

  it('the router has subscriptions and input-less mutations to check', () => {
    expect(subscriptions).toEqual(expect.arrayContaining(['messages.onEvent', 'presence.onChange', 'calls.onEvent']));
    expect(inputless).toEqual(expect.arrayContaining(['auth.refresh', 'auth.logout', 'auth.logoutAll']));
  });

  describe('no subscription over HTTP', () => {
    const ways = (path: string) => [
      { name: 'GET', url: `/trpc/${path}`, init: {} },
      {
        name: 'GET with input and lastEventId',
        url: `/trpc/${path}?input=${encodeURIComponent('{}')}&lastEventId=0`,
        init: {},
      },
      { name: 'GET asking for SSE', url: `/trpc/${path}`, init: { headers: { accept: 'text/event-stream' } } },
      { name: 'GET batched with a query', url: `/trpc/${path},auth.me?batch=1&input=%7B%7D`, init: {} },
      {
        name: 'POST',
        url: `/trpc/${path}`,
        init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
      },
    ];

    it.each(subscriptions)('%s: refused with METHOD_NOT_SUPPORTED, no stream opened', async (path) => {
      const { token } = await freshUser(t);
      for (const way of ways(path)) {
        const init = way.init as RequestInit & { headers?: Record<string, string> };
        const res = await fetch(`${t.url}${way.url}`, {
          ...init,
          headers: { ...init.headers, authorization: `Bearer ${token}` },
        });
        expect(res.status, way.name).toBe(405);
        expect(res.headers.get('content-type'), way.name).not.toMatch(/event-stream/);
        const body = (await res.json()) as
          | { error: { data: { code: string } } }
          | { error: { data: { code: string } } }[];
        const errors = Array.isArray(body) ? body : [body];
        for (const e of errors) expect(e.error.data.code, way.name).toBe('METHOD_NOT_SUPPORTED');
      }
      // The user has no live stream anywhere.
      expect(t.server.services.connections.size).toBe(0);
    });

    it('in-process callers without a socket are refused too (the API layer holds the rule)', async () => {
      const { appRouter, createCallerFactory } = await import('@parley/api');
      const claims = await t.server.services.auth.authenticate((await freshUser(t)).token);
      const caller = createCallerFactory(appRouter)({
        services: t.server.services,
        req: { ip: '127.0.0.1', userAgent: null },
        cookies: null,
        auth: claims,
      });
      const code = (p: Promise<unknown>) =>
        p.then(
          () => 'no error',
          (e: { code?: string }) => e.code,
        );
      expect(await code(caller.messages.onEvent({}))).toBe('METHOD_NOT_SUPPORTED');
      expect(await code(caller.presence.onChange())).toBe('METHOD_NOT_SUPPORTED');
    });
  });

  describe('input-less mutations accept a POST with no body', () => {
    /** The headers each call carries: the refresh cookie for auth.refresh, the bearer token otherwise. */
    const headersFor = (path: string, u: { token: string; cookie: string }): Record<string, string> =>
      path === 'auth.refresh' ? { cookie: u.cookie } : { authorization: `Bearer ${u.token}` };

    const httpClient = (
      link: (o: { url: string; headers: () => Record<string, string> }) => TRPCLink<AppRouter>,
      headers: Record<string, string>,
    ) => createTRPCClient<AppRouter>({ links: [link({ url: `${t.url}/trpc`, headers: () => headers })] });

    // Each procedure is called generically by path, as the walk gives it.
    const callByPath = (client: unknown, path: string) => {
      const [ns, ...rest] = path.split('.');
      let node = (client as Record<string, unknown>)[ns!] as Record<string, unknown>;
      for (const part of rest) node = node[part] as Record<string, unknown>;
      return (node as unknown as { mutate: () => Promise<unknown> }).mutate();
    };

    /** Accepted as "no input": anything but a refusal of the body itself. */
    const bodyRefusals = ['BAD_REQUEST', 'PARSE_ERROR', 'UNSUPPORTED_MEDIA_TYPE', 'METHOD_NOT_SUPPORTED'];

    it.each(inputless)('%s through httpLink (no body, JSON content type)', async (path) => {
      const u = await freshUser(t);
      const code = await errorCode(callByPath(httpClient(httpLink, headersFor(path, u)), path));
      expect(bodyRefusals).not.toContain(code);
      if (['auth.refresh', 'auth.logout', 'auth.logoutAll'].includes(path)) expect(code).toBe('no error');
    });

    it.each(inputless)('%s through httpBatchLink', async (path) => {
      const u = await freshUser(t);
      const code = await errorCode(callByPath(httpClient(httpBatchLink, headersFor(path, u)), path));
      expect(bodyRefusals).not.toContain(code);
      if (['auth.refresh', 'auth.logout', 'auth.logoutAll'].includes(path)) expect(code).toBe('no error');
    });

    it.each(inputless)('%s through wsLink', async (path) => {
      const u = await freshUser(t);
      const wsClient = createWSClient({
        url: `${t.url.replace(/^http/, 'ws')}/trpc`,
        // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        connectionParams: { token: u.token },
      });
      try {
        const code = await errorCode(
          callByPath(createTRPCClient<AppRouter>({ links: [wsLink({ client: wsClient })] }), path),
        );
        expect(bodyRefusals).not.toContain(code);
        // A socket carries no cookies, so the refresh cookie cannot reach auth.refresh there.
        if (path === 'auth.refresh') expect(code).toBe('UNAUTHORIZED');
        else if (['auth.logout', 'auth.logoutAll'].includes(path)) expect(code).toBe('no error');
      } finally {
        wsClient.close();
      }
    });

    it.each(inputless)('%s through a raw POST with no body, with and without a content type', async (path) => {
      for (const contentType of ['application/json', null]) {
        const u = await freshUser(t);
        const res = await fetch(`${t.url}/trpc/${path}`, {
          method: 'POST',
          headers: { ...headersFor(path, u), ...(contentType ? { 'content-type': contentType } : {}) },
        });
        const body = (await res.json()) as { result?: unknown; error?: { data: { code: string } } };
        const code = body.error?.data.code ?? 'no error';
        expect(bodyRefusals, `content type ${contentType}`).not.toContain(code);
        if (['auth.refresh', 'auth.logout', 'auth.logoutAll'].includes(path)) expect(res.status).toBe(200);
      }
    });

    it('a mutation that needs input still refuses an empty body with BAD_REQUEST', async () => {
      const u = await freshUser(t);
      const res = await fetch(`${t.url}/trpc/messages.send`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json' },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('BAD_REQUEST');
    });
  });
});
