import { password as passwordSchema } from '@parley/validators';
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError, translateIssue } from '../errors';
import { linkHandler } from '../router';
import { trpc } from '../trpc';
import { Passkeys } from './Passkeys';
import type { SettingsSection } from './sections';
import { TwoFactor } from './TwoFactor';

function ChangePassword() {
  const { t } = useTranslation('accounts');
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
    if (!current) return setError(t('password.enterCurrent'));
    if (!parsed.success) return setError(translateIssue(parsed.error.issues[0]?.message ?? t('password.chooseNew')));
    setError(null);
    change.mutate({ currentPassword: current, newPassword: next });
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('password.title')}</h3>
      <label htmlFor={`${id}-current`}>{t('password.current')}</label>
      <input
        id={`${id}-current`}
        type="password"
        autoComplete="current-password"
        value={current}
        onChange={(e) => setCurrent(e.target.value)}
      />
      <label htmlFor={`${id}-next`}>{t('password.new')}</label>
      <input
        id={`${id}-next`}
        type="password"
        autoComplete="new-password"
        value={next}
        onChange={(e) => setNext(e.target.value)}
        aria-describedby={`${id}-hint`}
      />
      <p className="hint" id={`${id}-hint`}>
        {t('password.hint')}
      </p>
      {error && (
        <p className="field-error" role="alert">
          {error}
        </p>
      )}
      {change.error && (
        <p className="form-error" role="alert">
          {change.error.data?.code === 'UNAUTHORIZED' ? t('password.wrongCurrent') : humanError(change.error)}
        </p>
      )}
      {change.isSuccess && (
        <p className="settings-ok" role="status">
          {t('password.changed')}
        </p>
      )}
      <div className="button-row">
        <button type="submit" className="secondary" disabled={change.isPending}>
          {change.isPending ? t('password.changing') : t('password.change')}
        </button>
      </div>
    </form>
  );
}

function SecuritySettings() {
  const { t } = useTranslation('accounts');
  return (
    <>
      <ChangePassword />
      <TwoFactor />
      <Passkeys />
      <h3>{t('devices.title')}</h3>
      <div className="settings-row">
        <p className="muted">{t('devices.text')}</p>
        <a href="/sessions" className="secondary" onClick={linkHandler('/sessions')}>
          {t('devices.link')}
        </a>
      </div>
    </>
  );
}

export const section: SettingsSection = {
  id: 'security',
  title: 'accounts:settings.security',
  order: 40,
  Component: SecuritySettings,
};
