import { createParleyClient, type AppRouter, type RouterOutputs } from '@parley/client';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCReact, type TRPCClientErrorLike } from '@trpc/react-query';

export type { AppRouter, RouterInputs, RouterOutputs } from '@parley/client';
export type User = RouterOutputs['auth']['me'];
export type ApiError = TRPCClientErrorLike<AppRouter>;

export const trpc = createTRPCReact<AppRouter>();

type ConnectionState = 'connecting' | 'open' | 'closed';
type SessionEndedListener = () => void;
const connectionListeners = new Set<(s: ConnectionState) => void>();
const sessionEndedListeners = new Set<SessionEndedListener>();
let connectionState: ConnectionState = 'connecting';

/** One Parley client for the page: its links carry the session, refresh and the WebSocket. */
export const parley = createParleyClient({
  url: window.location.origin,
  cookies: 'browser',
  onSessionEnded: () => {
    for (const l of sessionEndedListeners) l();
  },
  onConnectionChange: (state) => {
    connectionState = state;
    for (const l of connectionListeners) l(state);
  },
});

export const trpcClient = trpc.createClient({ links: parley.links });

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (count, err) => {
        const code = (err as Partial<ApiError>).data?.code;
        if (code && ['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'BAD_REQUEST'].includes(code)) return false;
        return count < 3;
      },
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
    mutations: { retry: false },
  },
});

export function onConnectionChange(listener: (s: ConnectionState) => void) {
  connectionListeners.add(listener);
  return () => void connectionListeners.delete(listener);
}
export const getConnectionState = () => connectionState;

let rechecking: Promise<boolean> | null = null;
/**
 * The server refused our access token: its session may have been revoked (signed out everywhere
 * from another device) while the token itself has not expired. Try the refresh cookie once; if
 * that fails too, the session is over and the app returns to the sign-in screen. Resolves true
 * when a fresh token was obtained, so that the caller may try again.
 */
export function recheckSession(): Promise<boolean> {
  rechecking ??= (async () => {
    parley.setSession(null);
    const token = await parley.getAccessToken().catch(() => null);
    if (!token) {
      for (const l of sessionEndedListeners) l();
      return false;
    }
    parley.reconnect();
    return true;
  })().finally(() => {
    rechecking = null;
  });
  return rechecking;
}

export function onSessionEnded(listener: SessionEndedListener) {
  sessionEndedListeners.add(listener);
  return () => void sessionEndedListeners.delete(listener);
}
