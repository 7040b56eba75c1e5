import { loginInput, registerInput } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { fieldErrorsOf, humanError, translateIssue, type FieldErrors } from '../errors';
import { linkHandler } from '../router';
import { PasskeySignIn } from './PasskeySignIn';
import { useSession } from '../session';
import { trpc } from '../trpc';

type Mode = 'signIn' | 'register';

export function AuthPage({ notice }: { notice?: string | undefined }) {
  const { signedIn } = useSession();
  const { t } = useTranslation('auth');
  const [mode, setMode] = useState<Mode>('signIn');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [showPassword, setShowPassword] = useState(false);
  const [clientErrors, setClientErrors] = useState<FieldErrors>({});

  const login = trpc.auth.login.useMutation({ onSuccess: (r) => signedIn(r.user) });
  const [totp, setTotp] = useState('');
  // The password was right and the account has two-factor sign-in: ask for the code.
  const needsCode = mode === 'signIn' && Boolean(login.error?.data?.mfaRequired);
  const [askedCode, setAskedCode] = useState(false);
  if (needsCode && !askedCode) setAskedCode(true);
  const register = trpc.auth.register.useMutation({ onSuccess: (r) => signedIn(r.user) });
  const active = mode === 'signIn' ? login : register;
  const serverErrors = fieldErrorsOf(active.error);
  const errors: FieldErrors = { ...serverErrors, ...clientErrors };
  const formError =
    active.error && Object.keys(serverErrors).length === 0
      ? needsCode
        ? totp
          ? t('totpWrong')
          : null
        : humanError(active.error, mode === 'signIn' ? 'login' : 'register')
      : null;

  const switchMode = (m: Mode) => {
    setMode(m);
    setClientErrors({});
    login.reset();
    register.reset();
  };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (active.isPending) return;
    active.reset();
    const parsed =
      mode === 'signIn'
        ? loginInput.safeParse({ email, password })
        : registerInput.safeParse({ email, password, displayName });
    if (!parsed.success) {
      const next: FieldErrors = {};
      for (const issue of parsed.error.issues) {
        const key = String(issue.path[0] ?? 'form');
        next[key] ??= key === 'password' && mode === 'signIn' ? t('enterPassword') : translateIssue(issue.message);
      }
      setClientErrors(next);
      const first = document.getElementById(`${baseId}-${Object.keys(next)[0]}`);
      first?.focus();
      return;
    }
    setClientErrors({});
    if (mode === 'signIn') login.mutate({ email, password, ...(askedCode && totp.trim() ? { totp } : {}) });
    else register.mutate({ email, password, displayName });
  };

  const baseId = useId();
  const field = (name: string) => ({
    id: `${baseId}-${name}`,
    'aria-invalid': errors[name] ? true : undefined,
    'aria-describedby': errors[name] ? `${baseId}-${name}-error` : undefined,
  });
  const errorFor = (name: string) =>
    errors[name] ? (
      <p className="field-error" id={`${baseId}-${name}-error`}>
        {errors[name]}
      </p>
    ) : null;

  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <span>{t('common:appName')}</span>
        </div>
        <h1>{mode === 'signIn' ? t('welcomeBack') : t('createTitle')}</h1>
        <p className="muted">{mode === 'signIn' ? t('signInLead') : t('registerLead')}</p>

        <div className="segmented" role="tablist" aria-label={t('tabs')}>
          <button type="button" role="tab" aria-selected={mode === 'signIn'} onClick={() => switchMode('signIn')}>
            {t('signIn')}
          </button>
          <button type="button" role="tab" aria-selected={mode === 'register'} onClick={() => switchMode('register')}>
            {t('createAccount')}
          </button>
        </div>

        {notice && !active.error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {formError && (
          <p className="form-error" role="alert">
            {formError}
          </p>
        )}

        <form onSubmit={submit} noValidate>
          <label htmlFor={`${baseId}-email`}>{t('email')}</label>
          <input
            {...field('email')}
            type="email"
            name="email"
            autoComplete={mode === 'signIn' ? 'username' : 'email'}
            inputMode="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            required
            // biome-ignore lint/a11y/noAutofocus: the sign-in page is for this field; nothing else on it to read first
            autoFocus
          />
          {errorFor('email')}

          {mode === 'register' && (
            <>
              <label htmlFor={`${baseId}-displayName`}>{t('displayName')}</label>
              <input
                {...field('displayName')}
                type="text"
                name="displayName"
                autoComplete="nickname"
                maxLength={64}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
                required
              />
              {errorFor('displayName')}
            </>
          )}

          <label htmlFor={`${baseId}-password`}>{t('password')}</label>
          <div className="password-row">
            <input
              {...field('password')}
              type={showPassword ? 'text' : 'password'}
              name="password"
              autoComplete={mode === 'signIn' ? 'current-password' : 'new-password'}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
            <button
              type="button"
              className="ghost small"
              aria-pressed={showPassword}
              aria-label={showPassword ? t('hidePassword') : t('showPassword')}
              onClick={() => setShowPassword((v) => !v)}
            >
              {showPassword ? t('hide') : t('show')}
            </button>
          </div>
          {mode === 'register' && !errors.password && <p className="hint">{t('passwordHint')}</p>}
          {mode === 'signIn' && (
            <p className="hint">
              <a href="/reset-password" onClick={linkHandler('/reset-password')}>
                {t('forgot')}
              </a>
            </p>
          )}
          {errorFor('password')}
          {mode === 'signIn' && askedCode && (
            <>
              <label htmlFor={`${baseId}-totp`}>{t('totpLabel')}</label>
              <input
                id={`${baseId}-totp`}
                name="totp"
                inputMode="numeric"
                autoComplete="one-time-code"
                value={totp}
                onChange={(e) => setTotp(e.target.value)}
                // biome-ignore lint/a11y/noAutofocus: the code step appears after the password was sent; focus follows
                autoFocus
                aria-describedby={`${baseId}-totp-hint`}
              />
              <p className="hint" id={`${baseId}-totp-hint`}>
                {t('totpHint')}
              </p>
            </>
          )}

          <button type="submit" className="primary wide" disabled={active.isPending}>
            {active.isPending
              ? mode === 'signIn'
                ? t('signingIn')
                : t('creating')
              : mode === 'signIn'
                ? t('signIn')
                : t('createAccount')}
          </button>
        </form>
        {mode === 'signIn' && <PasskeySignIn />}
      </div>
    </main>
  );
}
