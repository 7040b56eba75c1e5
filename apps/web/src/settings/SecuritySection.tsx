import { password as passwordSchema } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { humanError } from '../errors';
import { linkHandler } from '../router';
import { trpc } from '../trpc';
import { Passkeys } from './Passkeys';
import type { SettingsSection } from './sections';
import { TwoFactor } from './TwoFactor';

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<string | null>(null);
  const change = trpc.auth.changePassword.useMutation({
    onSuccess: () => {
      setCurrent('');
      setNext('');
    },
  });
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = passwordSchema.safeParse(next);
    if (!current) return setError('Enter your current password');
    if (!parsed.success) return setError(parsed.error.issues[0]?.message ?? 'Choose a new password');
    setError(null);
    change.mutate({ currentPassword: current, newPassword: next });
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Password</h3>
      <label htmlFor={`${id}-current`}>Current password</label>
      <input id={`${id}-current`} type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
      <label htmlFor={`${id}-next`}>New password</label>
      <input id={`${id}-next`} type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} aria-describedby={`${id}-hint`} />
      <p className="hint" id={`${id}-hint`}>At least 8 characters. Your other devices will be signed out.</p>
      {error && <p className="field-error" role="alert">{error}</p>}
      {change.error && <p className="form-error" role="alert">{change.error.data?.code === 'UNAUTHORIZED' ? 'That is not your current password.' : humanError(change.error)}</p>}
      {change.isSuccess && <p className="settings-ok" role="status">Password changed. Other devices were signed out.</p>}
      <div className="button-row">
        <button type="submit" className="secondary" disabled={change.isPending}>{change.isPending ? 'Changing…' : 'Change password'}</button>
      </div>
    </form>
  );
}

function SecuritySettings() {
  return (
    <>
      <ChangePassword />
      <TwoFactor />
      <Passkeys />
      <h3>Devices and sessions</h3>
      <div className="settings-row">
        <p className="muted">See where you are signed in, and sign out other devices.</p>
        <a href="/sessions" className="secondary" onClick={linkHandler('/sessions')}>Devices and sessions</a>
      </div>
    </>
  );
}

export const section: SettingsSection = { id: 'security', title: 'accounts:settings.security', order: 40, Component: SecuritySettings };
