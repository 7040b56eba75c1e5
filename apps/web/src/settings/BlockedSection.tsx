import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { formatRelative } from '../format';
import { trpc } from '../trpc';
import type { SettingsSection } from './sections';

function BlockedPeople() {
  const { t } = useTranslation('accounts');
  const blocked = trpc.users.blocked.useQuery(undefined, { staleTime: 0 });
  const utils = trpc.useUtils();
  const unblock = trpc.users.unblock.useMutation({ onSettled: () => void utils.users.blocked.invalidate() });
  return (
    <>
      <p className="muted">{t('blocking.explain')}</p>
      {blocked.isPending && (
        <p className="muted" role="status">
          {t('blocking.loading')}
        </p>
      )}
      {blocked.error && (
        <p className="form-error" role="alert">
          {humanError(blocked.error)}
        </p>
      )}
      {blocked.data?.length === 0 && <p className="muted">{t('blocking.none')}</p>}
      {blocked.data && blocked.data.length > 0 && (
        <ul className="settings-list" aria-label={t('blocking.list')}>
          {blocked.data.map((u) => (
            <li key={u.id}>
              <span>
                <strong>{u.displayName}</strong>{' '}
                <span className="muted small">{t('blocking.blockedWhen', { when: formatRelative(u.blockedAt) })}</span>
              </span>
              <button
                type="button"
                className="ghost small"
                aria-label={t('blocking.unblockName', { name: u.displayName })}
                disabled={unblock.isPending}
                onClick={() => unblock.mutate({ userId: u.id })}
              >
                {t('blocking.unblock')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {unblock.error && (
        <p className="form-error" role="alert">
          {humanError(unblock.error)}
        </p>
      )}
    </>
  );
}

export const section: SettingsSection = {
  id: 'blocked',
  title: 'accounts:settings.blocked',
  order: 60,
  Component: BlockedPeople,
};
