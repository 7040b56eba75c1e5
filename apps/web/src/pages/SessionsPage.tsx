import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { describeUserAgent, formatFull, formatRelative } from '../format';
import { linkHandler } from '../router';
import { useSession } from '../session';
import { trpc } from '../trpc';

export function SessionsPage() {
  const { signedOut } = useSession();
  const { t } = useTranslation('sessions');
  const sessions = trpc.auth.sessions.useQuery(undefined, { staleTime: 0 });
  const [confirming, setConfirming] = useState(false);
  const logoutAll = trpc.auth.logoutAll.useMutation({
    onSuccess: () => signedOut(t('signedOutEverywhere')),
  });
  // One other device at a time; the list refreshes once it is gone (or was already gone).
  const revoke = trpc.auth.revokeSession.useMutation({ onSettled: () => void sessions.refetch() });

  return (
    <section className="page" aria-labelledby="sessions-title">
      <header className="page-header">
        <a href="/" className="back-link" onClick={linkHandler('/')}>
          <span aria-hidden="true">←</span> {t('back')}
        </a>
        <h1 id="sessions-title">{t('title')}</h1>
        <p className="muted">{t('lead')}</p>
      </header>

      {sessions.isPending && (
        <p className="muted" role="status">
          {t('loading')}
        </p>
      )}
      {sessions.error && (
        <p className="form-error" role="alert">
          {humanError(sessions.error)}{' '}
          <button type="button" className="link" onClick={() => void sessions.refetch()}>
            {t('common:tryAgain')}
          </button>
        </p>
      )}
      {sessions.data && (
        <ul className="session-list">
          {/* This device first, then the most recently active. */}
          {[...sessions.data]
            .sort((a, b) => Number(b.current) - Number(a.current) || b.lastUsedAt.localeCompare(a.lastUsedAt))
            .map((s) => (
              <li key={s.id} className={s.current ? 'current' : undefined}>
                <div className="session-icon" aria-hidden="true">
                  {/Mobile|iPhone|Android/.test(s.userAgent ?? '') ? (
                    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                      <path
                        fill="currentColor"
                        d="M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2Zm0 2v16h8V4H8Zm3 13h2v2h-2v-2Z"
                      />
                    </svg>
                  ) : (
                    <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                      <path
                        fill="currentColor"
                        d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-6v2h3v2H7v-2h3v-2H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2v8h14V7H5Z"
                      />
                    </svg>
                  )}
                </div>
                <div className="session-main">
                  <div className="session-title">
                    {describeUserAgent(s.userAgent)}
                    {s.current && <span className="badge">{t('thisDevice')}</span>}
                  </div>
                  <div className="muted small">
                    {t('signedIn')}{' '}
                    <time dateTime={s.createdAt} title={formatFull(s.createdAt)}>
                      {formatRelative(s.createdAt)}
                    </time>
                    {' · '}
                    {t('lastActive')}{' '}
                    <time dateTime={s.lastUsedAt} title={formatFull(s.lastUsedAt)}>
                      {formatRelative(s.lastUsedAt)}
                    </time>
                  </div>
                </div>
                {!s.current && (
                  <button
                    type="button"
                    className="ghost small"
                    disabled={revoke.isPending && revoke.variables?.id === s.id}
                    aria-label={t('signOutDevice', {
                      device: describeUserAgent(s.userAgent),
                      when: formatRelative(s.lastUsedAt),
                    })}
                    onClick={() => revoke.mutate({ id: s.id })}
                  >
                    {revoke.isPending && revoke.variables?.id === s.id ? t('signingOut') : t('signOut')}
                  </button>
                )}
              </li>
            ))}
        </ul>
      )}
      {revoke.error && revoke.error.data?.code !== 'NOT_FOUND' && (
        <p className="form-error" role="alert">
          {humanError(revoke.error)}
        </p>
      )}

      <div className="danger-zone">
        <h2>{t('everywhere')}</h2>
        <p className="muted">{t('everywhereText')}</p>
        {logoutAll.error && (
          <p className="form-error" role="alert">
            {humanError(logoutAll.error)}
          </p>
        )}
        {confirming ? (
          <div className="button-row">
            <button type="button" className="danger" disabled={logoutAll.isPending} onClick={() => logoutAll.mutate()}>
              {logoutAll.isPending ? t('signingOut') : t('confirmEverywhere')}
            </button>
            <button type="button" className="ghost" onClick={() => setConfirming(false)}>
              {t('common:cancel')}
            </button>
          </div>
        ) : (
          <button type="button" className="danger-outline" onClick={() => setConfirming(true)}>
            {t('everywhere')}
          </button>
        )}
      </div>
    </section>
  );
}
