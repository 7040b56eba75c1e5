import { password as passwordSchema, email as emailSchema } from '@parley/validators';
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { humanError } from '../errors';
import { linkHandler, navigate } from '../router';
import { useSession } from '../session';
import { trpc } from '../trpc';

/** The token of a mailed link, carried in the fragment so that it never reaches a server log. */
const tokenFromHash = () => new URLSearchParams(window.location.hash.slice(1)).get('token');

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>Parley</span>
        </div>
        <h1>{title}</h1>
        {children}
      </div>
    </main>
  );
}

/** /verify-email#token=…: confirms the address once, whether or not this browser is signed in. */
export function VerifyEmailPage() {
  const { state, updateUser } = useSession();
  const verify = trpc.auth.verifyEmail.useMutation({
    onSuccess: (user) => {
      if (state.status === 'signedIn' && state.user.id === user.id) updateUser(user);
    },
  });
  const started = useRef(false);
  useEffect(() => {
    const token = tokenFromHash();
    if (started.current || !token) return;
    started.current = true;
    verify.mutate({ token });
  }, [verify]);
  return (
    <Card title="Confirm your email">
      {!tokenFromHash() && <p className="form-error" role="alert">This link is incomplete. Open the link from the mail again.</p>}
      {verify.isPending && <p role="status">Confirming…</p>}
      {verify.isSuccess && <p className="notice" role="status">Thank you: {verify.data.email} is confirmed.</p>}
      {verify.error && <p className="form-error" role="alert">{verify.error.data?.code === 'BAD_REQUEST' ? verify.error.message : humanError(verify.error)}</p>}
      <p><a href="/" onClick={linkHandler('/')}>Go to Parley</a></p>
    </Card>
  );
}

/** /reset-password: asks for a link (no token) or sets the new password (token in the fragment). */
export function ResetPasswordPage() {
  const [token] = useState(tokenFromHash);
  return token ? <NewPasswordForm token={token} /> : <RequestResetForm />;
}

function RequestResetForm() {
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const request = trpc.auth.requestPasswordReset.useMutation();
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = emailSchema.safeParse(email);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'Enter your email address');
    setError(null);
    request.mutate({ email: parsed.data });
  };
  return (
    <Card title="Reset your password">
      {request.isSuccess ? (
        <p className="notice" role="status">
          If an account uses {request.variables?.email}, a link to choose a new password is on its way. It works for one hour.
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <p className="muted">We will mail you a link to choose a new password.</p>
          <label htmlFor={`${id}-email`}>Email</label>
          <input id={`${id}-email`} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined} autoFocus />
          {error && <p className="field-error" id={`${id}-err`}>{error}</p>}
          {request.error && <p className="form-error" role="alert">{humanError(request.error)}</p>}
          <button type="submit" className="primary wide" disabled={request.isPending}>{request.isPending ? 'Sending…' : 'Send the link'}</button>
        </form>
      )}
      <p><a href="/" onClick={linkHandler('/')}>Back to sign in</a></p>
    </Card>
  );
}

function NewPasswordForm({ token }: { token: string }) {
  const { signedOut, state } = useSession();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const reset = trpc.auth.resetPassword.useMutation({
    onSuccess: () => {
      // Every session ended, this browser's too.
      if (state.status === 'signedIn') signedOut('Your password was changed. Sign in with the new one.');
    },
  });
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = passwordSchema.safeParse(password);
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'Choose a password');
    setError(null);
    reset.mutate({ token, password });
  };
  return (
    <Card title="Choose a new password">
      {reset.isSuccess ? (
        <>
          <p className="notice" role="status">Your password was changed and every device was signed out.</p>
          <button type="button" className="primary wide" onClick={() => navigate('/')}>Sign in</button>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-pw`}>New password</label>
          <input id={`${id}-pw`} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} aria-invalid={error ? true : undefined} aria-describedby={error ? `${id}-err` : undefined} autoFocus />
          {error ? <p className="field-error" id={`${id}-err`}>{error}</p> : <p className="hint">At least 8 characters. This signs you out everywhere.</p>}
          {reset.error && <p className="form-error" role="alert">{reset.error.data?.code === 'BAD_REQUEST' && !reset.error.data.zodError ? reset.error.message : humanError(reset.error)}</p>}
          <button type="submit" className="primary wide" disabled={reset.isPending}>{reset.isPending ? 'Saving…' : 'Set the new password'}</button>
        </form>
      )}
    </Card>
  );
}
