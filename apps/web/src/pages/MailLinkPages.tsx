import { password as passwordSchema, email as emailSchema } from '@parley/validators';
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError, translateIssue } from '../errors';
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
  const { t } = useTranslation('accounts');
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
    <Card title={t('verifyEmail.title')}>
      {!tokenFromHash() && (
        <p className="form-error" role="alert">
          {t('verifyEmail.incomplete')}
        </p>
      )}
      {verify.isPending && <p role="status">{t('verifyEmail.pending')}</p>}
      {verify.isSuccess && (
        <p className="notice" role="status">
          {t('verifyEmail.done', { email: verify.data.email })}
        </p>
      )}
      {verify.error && (
        <p className="form-error" role="alert">
          {verify.error.data?.code === 'BAD_REQUEST' ? t('verifyEmail.invalid') : humanError(verify.error)}
        </p>
      )}
      <p>
        <a href="/" onClick={linkHandler('/')}>
          {t('verifyEmail.home')}
        </a>
      </p>
    </Card>
  );
}

/** /reset-password: asks for a link (no token) or sets the new password (token in the fragment). */
export function ResetPasswordPage() {
  const [token] = useState(tokenFromHash);
  return token ? <NewPasswordForm token={token} /> : <RequestResetForm />;
}

function RequestResetForm() {
  const { t } = useTranslation('accounts');
  const [email, setEmail] = useState('');
  const [error, setError] = useState<string | null>(null);
  const request = trpc.auth.requestPasswordReset.useMutation();
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = emailSchema.safeParse(email);
    if (!parsed.success)
      return setError(translateIssue(parsed.error.issues[0]?.message ?? t('resetPassword.enterEmail')));
    setError(null);
    request.mutate({ email: parsed.data });
  };
  return (
    <Card title={t('resetPassword.title')}>
      {request.isSuccess ? (
        <p className="notice" role="status">
          {t('resetPassword.sent', { email: request.variables?.email, count: 1 })}
        </p>
      ) : (
        <form onSubmit={submit} noValidate>
          <p className="muted">{t('resetPassword.lead')}</p>
          <label htmlFor={`${id}-email`}>{t('resetPassword.email')}</label>
          <input
            id={`${id}-email`}
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-err` : undefined}
            // biome-ignore lint/a11y/noAutofocus: a one-field page reached from a link, for this field
            autoFocus
          />
          {error && (
            <p className="field-error" id={`${id}-err`}>
              {error}
            </p>
          )}
          {request.error && (
            <p className="form-error" role="alert">
              {humanError(request.error)}
            </p>
          )}
          <button type="submit" className="primary wide" disabled={request.isPending}>
            {request.isPending ? t('resetPassword.sending') : t('resetPassword.send')}
          </button>
        </form>
      )}
      <p>
        <a href="/" onClick={linkHandler('/')}>
          {t('resetPassword.backToSignIn')}
        </a>
      </p>
    </Card>
  );
}

function NewPasswordForm({ token }: { token: string }) {
  const { t } = useTranslation('accounts');
  const { signedOut, state } = useSession();
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const reset = trpc.auth.resetPassword.useMutation({
    onSuccess: () => {
      // Every session ended, this browser's too.
      if (state.status === 'signedIn') signedOut(t('resetPassword.changedSignIn'));
    },
  });
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = passwordSchema.safeParse(password);
    if (!parsed.success) return setError(translateIssue(parsed.error.issues[0]?.message ?? t('resetPassword.choose')));
    setError(null);
    reset.mutate({ token, password });
  };
  return (
    <Card title={t('resetPassword.newTitle')}>
      {reset.isSuccess ? (
        <>
          <p className="notice" role="status">
            {t('resetPassword.changed')}
          </p>
          <button type="button" className="primary wide" onClick={() => navigate('/')}>
            {t('resetPassword.signIn')}
          </button>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-pw`}>{t('resetPassword.newPassword')}</label>
          <input
            id={`${id}-pw`}
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-err` : undefined}
            // biome-ignore lint/a11y/noAutofocus: a one-field page reached from the mail, for this field
            autoFocus
          />
          {error ? (
            <p className="field-error" id={`${id}-err`}>
              {error}
            </p>
          ) : (
            <p className="hint">{t('resetPassword.hint')}</p>
          )}
          {reset.error && (
            <p className="form-error" role="alert">
              {reset.error.data?.code === 'BAD_REQUEST' && !reset.error.data.zodError
                ? t('resetPassword.invalid')
                : humanError(reset.error)}
            </p>
          )}
          <button type="submit" className="primary wide" disabled={reset.isPending}>
            {reset.isPending ? t('resetPassword.saving') : t('resetPassword.set')}
          </button>
        </form>
      )}
    </Card>
  );
}
