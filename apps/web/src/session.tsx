import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { i18n } from './i18n';
import { clearOfflineData, offlineUser, rememberUser } from './notifications/offline';
import { onSessionEnded, parley, queryClient, type User } from './trpc';

export type SessionState =
  | { status: 'loading' }
  | { status: 'signedOut'; notice?: string }
  | { status: 'signedIn'; user: User };

interface SessionApi {
  state: SessionState;
  signedIn(user: User): void;
  signedOut(notice?: string): void;
  updateUser(user: User): void;
}

const SessionContext = createContext<SessionApi | null>(null);

let boot: Promise<User | null> | null = null;
/**
 * Restores the session after a reload: the refresh cookie is HttpOnly, so the client calls
 * `auth.refresh` (through its own single-flight refresh, so that a second caller never presents
 * an already-rotated token) and then asks who we are. Runs once per page.
 */
function restore(): Promise<User | null> {
  boot ??= (async () => {
    // Offline the refresh cannot work: open as the account last signed in here (offlineUser).
    const token = await parley.getAccessToken().catch(() => null);
    if (!token) return offlineUser<User>();
    try {
      const user = await parley.api.auth.me.query();
      rememberUser(user);
      return user;
    } catch {
      return offlineUser<User>();
    }
  })();
  return boot;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: 'loading' });

  useEffect(() => {
    let live = true;
    restore().then(
      (user) => live && setState(user ? { status: 'signedIn', user } : { status: 'signedOut' }),
      () => live && setState({ status: 'signedOut' }),
    );
    return () => {
      live = false;
    };
  }, []);

  useEffect(
    () =>
      onSessionEnded(() => {
        queryClient.clear();
        // Not when already signed out here: "You have signed out." stays.
        setState((s) =>
          s.status === 'signedIn' ? { status: 'signedOut', notice: i18n.t('common:errors.sessionEnded') } : s,
        );
      }),
    [],
  );

  const signedIn = useCallback((user: User) => {
    queryClient.clear();
    // The WebSocket authenticates when it opens: reopen it with the new identity.
    parley.reconnect();
    rememberUser(user);
    setState({ status: 'signedIn', user });
  }, []);
  const signedOut = useCallback((notice?: string) => {
    queryClient.clear();
    parley.setSession(null);
    parley.reconnect();
    void clearOfflineData();
    setState(notice ? { status: 'signedOut', notice } : { status: 'signedOut' });
  }, []);
  const updateUser = useCallback((user: User) => {
    setState((s) => (s.status === 'signedIn' ? { status: 'signedIn', user } : s));
  }, []);

  const value = useMemo(() => ({ state, signedIn, signedOut, updateUser }), [state, signedIn, signedOut, updateUser]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession() {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession outside SessionProvider');
  return ctx;
}

/** The signed-in user; only for components rendered behind the sign-in gate. */
export function useUser(): User {
  const { state } = useSession();
  if (state.status !== 'signedIn') throw new Error('useUser while signed out');
  return state.user;
}
