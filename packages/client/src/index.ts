import type { AppRouter, RouterOutputs } from '@parley/api';
import {
  createTRPCClient,
  createWSClient,
  TRPCClientError,
  httpBatchLink,
  splitLink,
  wsLink,
  type TRPCClient,
  type TRPCLink,
} from '@trpc/client';
import { observable } from '@trpc/server/observable';
import { CLOSE_TOO_MANY_SOCKETS } from '@parley/protocol';
import { withCookieJar } from './cookie-jar.js';

export { withCookieJar } from './cookie-jar.js';
export * from '@parley/protocol';
export { TRPCClientError } from '@trpc/client';
export type { AppRouter, RouterInputs, RouterOutputs } from '@parley/api';

export type AuthResult = RouterOutputs['auth']['login'];

/** Refresh this long before the access token expires (less for very short-lived tokens). */
const REFRESH_MARGIN_MS = 60_000;
const marginFor = (s: { expiresAt: number; issuedAt: number }) =>
  Math.min(REFRESH_MARGIN_MS, (s.expiresAt - s.issuedAt) / 4);
const AUTH_RESULT_PATHS = new Set(['auth.login', 'auth.register', 'auth.refresh', 'auth.resume']);
/**
 * After CLOSE_TOO_MANY_SOCKETS (the user holds MAX_SOCKETS_PER_USER sockets): reconnecting at once
 * would be refused again, so WebSocket calls fail fast with TOO_MANY_REQUESTS for this long, then
 * the next call opens a new socket.
 */
/** The server's cap on calls in one HTTP batch (MAX_HTTP_BATCH in packages/api/src/trpc.ts). */
const MAX_BATCH = 10;
const TOO_MANY_SOCKETS_BACKOFF_MS = 30_000;
const SIGN_OUT_PATHS = new Set(['auth.logout', 'auth.logoutAll']);

export interface ParleyClientOptions {
  /** The server's base URL, e.g. `http://localhost:3000`. */
  url: string;
  /** Where queries and mutations go. Subscriptions always use the WebSocket. */
  transport?: 'http' | 'ws';
  /** A WebSocket implementation (the `ws` package under Node 20). Defaults to the global one. */
  WebSocket?: typeof WebSocket;
  /** `browser`: the browser keeps cookies; `jar`: an in-memory jar (non-browser clients). */
  cookies?: 'browser' | 'jar';
  /** A `jar` client's cookies from an earlier run (e.g. the CLI's saved refresh cookie). */
  initialCookies?: Record<string, string>;
  fetch?: typeof fetch;
  /** Extra HTTP headers on every request (e.g. a user agent). */
  headers?: Record<string, string>;
  /** Called when the session cannot be renewed: the user must sign in again. */
  onSessionEnded?: () => void;
  /**
   * Called whenever the session changes (sign-in, each refresh, sign-out), e.g. so the CLI can
   * save the rotated refresh cookie and the new access token at once.
   */
  onSessionChange?: (result: { accessToken: string; accessTokenExpiresAt: string } | null) => void;
  /** Called when the WebSocket's state changes, so a UI can show a banner. */
  onConnectionChange?: (state: 'connecting' | 'open' | 'closed') => void;
  retryDelayMs?: (attempt: number) => number;
}

type Session = { accessToken: string; expiresAt: number; issuedAt: number };

export interface ParleyClient {
  api: TRPCClient<AppRouter>;
  /**
   * The links behind `api` (session tracking, HTTP batch, WebSocket), for a second tRPC client
   * that must share this one's session and socket, e.g. `@trpc/react-query`'s `trpc.createClient({ links })`.
   */
  links: TRPCLink<AppRouter>[];
  /** The current access token, refreshed first when it is about to expire. */
  getAccessToken(): Promise<string | null>;
  /** Adopts a session obtained elsewhere (e.g. a token handed to a CLI). */
  setSession(result: Pick<AuthResult, 'accessToken' | 'accessTokenExpiresAt'> | null): void;
  /** Closes and reopens the WebSocket, e.g. after signing in, so it carries the new identity. */
  reconnect(): void;
  /** The cookies a `jar` client holds (null in a browser, which keeps its own). */
  cookieJar: ReadonlyMap<string, string> | null;
  close(): Promise<void>;
}

const defaultRetryDelay = (attempt: number) => Math.min(250 * 2 ** attempt, 5_000) * (0.5 + Math.random() / 2);

export function createParleyClient(opts: ParleyClientOptions): ParleyClient {
  const base = opts.url.replace(/\/$/, '');
  const httpUrl = `${base}/trpc`;
  const wsUrl = httpUrl.replace(/^http/, 'ws');
  const baseFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const jar = opts.cookies === 'jar' ? withCookieJar(baseFetch, Object.entries(opts.initialCookies ?? {})) : null;
  const doFetch: typeof fetch = jar ?? ((input, init) => baseFetch(input, { ...init, credentials: 'include' }));

  let session: Session | null = null;
  let refreshing: Promise<Session | null> | null = null;
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  const adopt = (result: { accessToken: string; accessTokenExpiresAt: string } | null) => {
    clearTimeout(refreshTimer);
    session = result
      ? { accessToken: result.accessToken, expiresAt: Date.parse(result.accessTokenExpiresAt), issuedAt: Date.now() }
      : null;
    if (session && !closed) {
      const delay = Math.max(0, session.expiresAt - Date.now() - marginFor(session));
      refreshTimer = setTimeout(() => void refresh(), delay);
      (refreshTimer as { unref?: () => void }).unref?.();
    }
    opts.onSessionChange?.(result);
  };

  // Refresh goes over plain HTTP: the refresh token lives in an HttpOnly cookie.
  const authClient = createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: httpUrl, fetch: doFetch, maxItems: MAX_BATCH, headers: () => opts.headers ?? {} })],
  });

  /** One refresh at a time: concurrent callers share it (a second would look like token theft). */
  const refresh = (): Promise<Session | null> => {
    if (refreshing) return refreshing;
    // Without a session yet (a page load, or after signing out) we may simply be signed out:
    // `resume` says so with null instead of an error. A session we had that fails to refresh has ended.
    const exchange: Promise<AuthResult | null> = session
      ? authClient.auth.refresh.mutate()
      : authClient.auth.resume.mutate();
    refreshing = exchange
      .then(
        (result) => {
          adopt(result);
          return session;
        },
        () => {
          const hadSession = session !== null;
          adopt(null);
          if (hadSession) opts.onSessionEnded?.();
          return null;
        },
      )
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  };

  const getAccessToken = async () => {
    if (session && session.expiresAt - Date.now() > marginFor(session)) return session.accessToken;
    if (session || jar?.cookies.size || opts.cookies === 'browser') return (await refresh())?.accessToken ?? null;
    return null;
  };

  /** Remembers the tokens that auth procedures return, whichever transport carried them. */
  const sessionLink: TRPCLink<AppRouter> =
    () =>
    ({ op, next }) =>
      observable((observer) =>
        next(op).subscribe({
          next(envelope) {
            if (envelope.result.type === 'data' || envelope.result.type === undefined) {
              if (AUTH_RESULT_PATHS.has(op.path)) adopt(envelope.result.data as AuthResult);
              if (SIGN_OUT_PATHS.has(op.path)) {
                adopt(null);
                if (wsClient) reconnect();
              }
            }
            observer.next(envelope);
          },
          error: (err) => observer.error(err),
          complete: () => observer.complete(),
        }),
      );

  let wsClient: ReturnType<typeof createWSClient> | null = null;
  let wsTerminal: TRPCLink<AppRouter> | null = null;
  const openWs = () => {
    const client: ReturnType<typeof createWSClient> = createWSClient({
      url: wsUrl,
      ...(opts.WebSocket ? { WebSocket: opts.WebSocket } : {}),
      retryDelayMs: opts.retryDelayMs ?? defaultRetryDelay,
      connectionParams: async () => {
        const token = await getAccessToken();
        return token ? { token } : null;
      },
      keepAlive: { enabled: true, intervalMs: 15_000, pongTimeoutMs: 10_000 },
      onOpen: () => opts.onConnectionChange?.('open'),
      onClose: (event) => {
        opts.onConnectionChange?.('closed');
        if (event?.code === CLOSE_TOO_MANY_SOCKETS) {
          refusedUntil = Date.now() + TOO_MANY_SOCKETS_BACKOFF_MS;
          // Stops this socket's reconnecting for good; its subscriptions complete.
          if (wsClient === client) dropSocket();
          else void client.close();
        }
      },
    });
    wsClient = client;
    wsTerminal = wsLink<AppRouter>({ client: wsClient });
    return wsTerminal;
  };
  let refusedUntil = 0;
  const refusedLink: TRPCLink<AppRouter> = () => () =>
    observable((observer) =>
      observer.error(
        TRPCClientError.from({
          error: {
            code: -32029,
            message: 'Too many open connections for this account. Close another tab or device and try again.',
            data: { code: 'TOO_MANY_REQUESTS', httpStatus: 429, retryAfterMs: Math.max(0, refusedUntil - Date.now()) },
          },
        }),
      ),
    );
  // Delegates to the current socket, so that reconnect() can swap it.
  const wsDelegate: TRPCLink<AppRouter> = (runtime) => (ctx) =>
    (Date.now() < refusedUntil ? refusedLink : (wsTerminal ?? openWs()))(runtime)(ctx);

  const dropSocket = () => {
    const old = wsClient;
    wsClient = null;
    wsTerminal = null;
    void old?.close();
  };
  // An explicit reconnect (sign-in, sign-out, the user asking) tries again at once, even after a 4029.
  const reconnect = () => {
    refusedUntil = 0;
    dropSocket();
  };

  const httpTerminal = httpBatchLink<AppRouter>({
    url: httpUrl,
    fetch: doFetch,
    maxItems: MAX_BATCH,
    headers: async () => {
      const token = await getAccessToken();
      return { ...(opts.headers ?? {}), ...(token ? { authorization: `Bearer ${token}` } : {}) };
    },
  });

  const links: TRPCLink<AppRouter>[] = [
    sessionLink,
    splitLink({
      // Sign-in and refresh always travel over HTTP: only HTTP can set cookies.
      condition: (op) =>
        op.type === 'subscription' ||
        // A call about this socket itself (notifications.setVisibility) asks for it: { context: { viaSocket: true } }.
        op.context.viaSocket === true ||
        (opts.transport === 'ws' && !AUTH_RESULT_PATHS.has(op.path)),
      true: wsDelegate,
      false: httpTerminal,
    }),
  ];
  const api = createTRPCClient<AppRouter>({ links });

  return {
    api,
    links,
    getAccessToken,
    setSession: adopt,
    reconnect,
    cookieJar: jar?.cookies ?? null,
    async close() {
      closed = true;
      clearTimeout(refreshTimer);
      await wsClient?.close();
    },
  };
}
export { followEvents, type EventFollower, type ParleyEvent } from './events.js';
export {
  applyEvent,
  dropConversation,
  endTyping,
  initialState,
  mergeChanges,
  mergeMessages,
  putConversation,
  putHistory,
  typingIn,
  type ClientState,
} from './state.js';
