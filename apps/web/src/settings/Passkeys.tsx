import { startRegistration, type PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/browser';
import { useId, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { formatRelative } from '../format';
import { trpc } from '../trpc';

/** Passkeys of this account: add (named), list, remove. */
export function Passkeys() {
  const { t } = useTranslation('accounts');
  const list = trpc.auth.passkeys.list.useQuery();
  const options = trpc.auth.passkeys.registerOptions.useMutation();
  const register = trpc.auth.passkeys.register.useMutation({ onSuccess: () => void list.refetch() });
  const remove = trpc.auth.passkeys.remove.useMutation({ onSettled: () => void list.refetch() });
  const [name, setName] = useState('');
  const [browserError, setBrowserError] = useState<string | null>(null);
  const id = useId();

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setBrowserError(null);
    const label = name.trim() || t('passkeys.defaultName');
    try {
      // The server's options as JSON; tRPC's inferred type differs from the browser library's only in
      // the (unused) prf extension's buffer types.
      const optionsJSON = (await options.mutateAsync()) as unknown as PublicKeyCredentialCreationOptionsJSON;
      const response = await startRegistration({ optionsJSON });
      await register.mutateAsync({ name: label, response: { ...response, response: { ...response.response } } });
      setName('');
    } catch (err) {
      if (!(err as { data?: unknown }).data) setBrowserError(t('passkeys.notCreated'));
    }
  };
  const error = options.error ?? register.error;

  return (
    <div role="group" aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('passkeys.title')}</h3>
      <p className="muted">{t('passkeys.lead')}</p>
      {list.data && list.data.length > 0 && (
        <ul className="settings-list" aria-label={t('passkeys.list')}>
          {list.data.map((p) => (
            <li key={p.id}>
              <span>
                <strong>{p.name}</strong>{' '}
                <span className="muted small">
                  {p.lastUsedAt
                    ? t('passkeys.addedUsed', { when: formatRelative(p.createdAt), used: formatRelative(p.lastUsedAt) })
                    : t('passkeys.added', { when: formatRelative(p.createdAt) })}
                </span>
              </span>
              <button
                type="button"
                className="ghost small"
                aria-label={t('passkeys.removeName', { name: p.name })}
                disabled={remove.isPending}
                onClick={() => remove.mutate({ id: p.id })}
              >
                {t('passkeys.remove')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={(e) => void add(e)} noValidate>
        <label htmlFor={`${id}-name`}>{t('passkeys.nameLabel')}</label>
        <input
          id={`${id}-name`}
          value={name}
          maxLength={64}
          placeholder={t('passkeys.namePlaceholder')}
          onChange={(e) => setName(e.target.value)}
        />
        {(browserError || error) && (
          <p className="form-error" role="alert">
            {browserError ?? humanError(error)}
          </p>
        )}
        {register.isSuccess && (
          <p className="settings-ok" role="status">
            {t('passkeys.addedOk')}
          </p>
        )}
        <div className="button-row">
          <button type="submit" className="secondary" disabled={options.isPending || register.isPending}>
            {t('passkeys.add')}
          </button>
        </div>
      </form>
    </div>
  );
}
