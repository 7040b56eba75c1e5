import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { useSession, useUser } from '../session';
import { trpc } from '../trpc';

/** Deleting the account: password (and the second factor when on), after a clear warning. */
export function DeleteAccount() {
  const { t } = useTranslation('accounts');
  const user = useUser();
  const { signedOut } = useSession();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const id = useId();
  const del = trpc.auth.deleteAccount.useMutation({ onSuccess: () => signedOut(t('deleteAccount.done')) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password) del.mutate({ password, ...(code.trim() ? { code } : {}) });
  };
  return (
    <div className="danger-zone" role="group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('deleteAccount.title')}</h3>
      <p className="muted">{t('deleteAccount.text')}</p>
      {open ? (
        <form onSubmit={submit} noValidate>
          <label htmlFor={`${id}-pw`}>{t('deleteAccount.password')}</label>
          <input
            id={`${id}-pw`}
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            // biome-ignore lint/a11y/noAutofocus: the form just opened from the button pressed; focus moves to it
            autoFocus
          />
          {user.totpEnabled && (
            <>
              <label htmlFor={`${id}-code`}>{t('deleteAccount.code')}</label>
              <input
                id={`${id}-code`}
                autoComplete="one-time-code"
                value={code}
                onChange={(e) => setCode(e.target.value)}
              />
            </>
          )}
          {del.error && (
            <p className="form-error" role="alert">
              {del.error.data?.code === 'UNAUTHORIZED' ? t('deleteAccount.wrong') : humanError(del.error)}
            </p>
          )}
          <div className="button-row">
            <button type="submit" className="danger" disabled={del.isPending || !password}>
              {del.isPending ? t('deleteAccount.deleting') : t('deleteAccount.delete')}
            </button>
            <button type="button" className="ghost" onClick={() => setOpen(false)}>
              {t('common:cancel')}
            </button>
          </div>
        </form>
      ) : (
        <button type="button" className="danger-outline" onClick={() => setOpen(true)}>
          {t('deleteAccount.open')}
        </button>
      )}
    </div>
  );
}
