import { useState } from 'react';
import { humanError } from '../errors';
import { describeUserAgent, formatFull, formatRelative } from '../format';
import { linkHandler } from '../router';
import { useSession } from '../session';
import { trpc } from '../trpc';

export function SessionsPage() {
  const { signedOut } = useSession();
  const sessions = trpc.auth.sessions.useQuery(undefined, { staleTime: 0 });
  const [confirming, setConfirming] = useState(false);
  const logoutAll = trpc.auth.logoutAll.useMutation({
    onSuccess: () => signedOut('You have been signed out on every device.'),
  });
  // One other device at a time; the list refreshes once it is gone (or was already gone).
  const revoke = trpc.auth.revokeSession.useMutation({ onSettled: () => void sessions.refetch() });

  return (
    <section className="page" aria-labelledby="sessions-title">
      <header className="page-header">
        <a href="/" className="back-link" onClick={linkHandler('/')}>
          <span aria-hidden="true">←</span> Back to chats
        </a>
        <h1 id="sessions-title">Devices and sessions</h1>
        <p className="muted">Everywhere your account is signed in right now.</p>
      </header>

      {sessions.isPending && <p className="muted" role="status">Loading sessions…</p>}
      {sessions.error && (
        <p className="form-error" role="alert">
          {humanError(sessions.error)}{' '}
          <button type="button" className="link" onClick={() => void sessions.refetch()}>
            Try again
          </button>
        </p>
      )}
      {sessions.data && (
        <ul className="session-list">
          {/* This device first, then the most recently active. */}
          {[...sessions.data]
            .sort((a, b) => Number(b.current) - Number(a.current) || b.lastUsedAt.localeCompare(a.lastUsedAt))
            .map((s) => (
            <li key={s.id} className={s.current ? 'current' : undefined}>
              <div className="session-icon" aria-hidden="true">
                {/Mobile|iPhone|Android/.test(s.userAgent ?? '') ? (
                  <svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm0 2v16h8V4H8Zm3 13h2v2h-2v-2Z" /></svg>
                ) : (
                  <svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-6v2h3v2H7v-2h3v-2H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2v8h14V7H5Z" /></svg>
                )}
              </div>
              <div className="session-main">
                <div className="session-title">
                  {describeUserAgent(s.userAgent)}
                  {s.current && <span className="badge">This device</span>}
                </div>
                <div className="muted small">
                  Signed in <time dateTime={s.createdAt} title={formatFull(s.createdAt)}>{formatRelative(s.createdAt)}</time>
                  {' · '}last active{' '}
                  <time dateTime={s.lastUsedAt} title={formatFull(s.lastUsedAt)}>{formatRelative(s.lastUsedAt)}</time>
                </div>
              </div>
              {!s.current && (
                <button
                  type="button"
                  className="ghost small"
                  disabled={revoke.isPending && revoke.variables?.id === s.id}
                  aria-label={`Sign out ${describeUserAgent(s.userAgent)}, last active ${formatRelative(s.lastUsedAt)}`}
                  onClick={() => revoke.mutate({ id: s.id })}
                >
                  {revoke.isPending && revoke.variables?.id === s.id ? 'Signing out…' : 'Sign out'}
                </button>
              )}
            </li>
            ))}
        </ul>
      )}
      {revoke.error && revoke.error.data?.code !== 'NOT_FOUND' && (
        <p className="form-error" role="alert">
          {humanError(revoke.error)}
        </p>
      )}

      <div className="danger-zone">
        <h2>Sign out everywhere</h2>
        <p className="muted">
          Ends every session, including this one. Anyone using your account on another device will be signed out
          within a second.
        </p>
        {logoutAll.error && (
          <p className="form-error" role="alert">
            {humanError(logoutAll.error)}
          </p>
        )}
        {confirming ? (
          <div className="button-row">
            <button type="button" className="danger" disabled={logoutAll.isPending} onClick={() => logoutAll.mutate()}>
              {logoutAll.isPending ? 'Signing out…' : 'Yes, sign out everywhere'}
            </button>
            <button type="button" className="ghost" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="danger-outline" onClick={() => setConfirming(true)}>
            Sign out everywhere
          </button>
        )}
      </div>
    </section>
  );
}
