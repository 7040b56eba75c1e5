import { humanError } from '../errors';
import { linkHandler } from '../router';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';
import { Avatar } from './Avatar';

/** The signed-in user, with the way to their sessions and out. */
export function AccountBar() {
  const user = useUser();
  const { signedOut } = useSession();
  const logout = trpc.auth.logout.useMutation({
    onSuccess: () => signedOut('You have signed out.'),
    onError: (err) => {
      // Already signed out on the server: finish here too.
      if (err.data?.code === 'UNAUTHORIZED') signedOut();
    },
  });

  return (
    <div className="account-bar">
      <div className="account-who" title={user.email}>
        <Avatar name={user.displayName} seed={user.id} size={34} />
        <div className="account-text">
          <strong className="account-name" data-testid="current-user">{user.displayName}</strong>
          <span className="muted small account-email">{user.email}</span>
        </div>
      </div>
      <div className="account-actions">
        <a href="/sessions" className="icon-button" onClick={linkHandler('/sessions')} aria-label="Devices and sessions" title="Devices and sessions">
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-6v2h3v2H7v-2h3v-2H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2v8h14V7H5Z"/></svg>
        </a>
        <button type="button" className="ghost small" disabled={logout.isPending} onClick={() => logout.mutate()}>
          {logout.isPending ? 'Signing out…' : 'Sign out'}
        </button>
      </div>
      {logout.error && logout.error.data?.code !== 'UNAUTHORIZED' && (
        <p className="form-error small" role="alert">
          {humanError(logout.error)}
        </p>
      )}
    </div>
  );
}
