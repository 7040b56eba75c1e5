import { useId, useState, type FormEvent } from 'react';
import { humanError } from '../errors';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';

/** Deleting the account: password (and the second factor when on), after a clear warning. */
export function DeleteAccount() {
  const user = useUser();
  const { signedOut } = useSession();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const id = useId();
  const del = trpc.auth.deleteAccount.useMutation({ onSuccess: () => signedOut('Your account was deleted.') });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password) del.mutate({ password, ...(code.trim() ? { code } : {}) });
  };
  return (
    <div className="danger-zone" role="group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Delete account</h3>
      <p className="muted">
        Erases your profile, sessions, passkeys and files. Messages you sent stay in their chats, shown as from
        “Deleted account”. This cannot be undone.
      </p>
      {open ? (
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-pw`}>Password</label>
          <input id={`${id}-pw`} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} autoFocus />
          {user.totpEnabled && (
            <>
              <label htmlFor={`${id}-code`}>Code or recovery code</label>
              <input id={`${id}-code`} autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} />
            </>
          )}
          {del.error && <p className="form-error" role="alert">{del.error.data?.code === 'UNAUTHORIZED' ? 'The password or the code is not right.' : humanError(del.error)}</p>}
          <div className="button-row">
            <button type="submit" className="danger" disabled={del.isPending || !password}>{del.isPending ? 'Deleting…' : 'Delete my account'}</button>
            <button type="button" className="ghost" onClick={() => setOpen(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <button type="button" className="danger-outline" onClick={() => setOpen(true)}>Delete account…</button>
      )}
    </div>
  );
}
