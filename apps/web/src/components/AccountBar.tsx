import { useTranslation } from 'react-i18next';
import { linkHandler } from '../router';
import { useUser } from '../session';
import { SignOutButton } from '../settings/AccountSection';
import { Avatar } from './Avatar';

/** The signed-in user, with the way to their sessions, settings and out. */
export function AccountBar() {
  const { t } = useTranslation('chat');
  const user = useUser();

  return (
    <div className="account-bar">
      <div className="account-who" title={user.email}>
        <Avatar name={user.displayName} seed={user.id} url={user.avatarUrl} size={34} />
        <div className="account-text">
          <strong className="account-name" data-testid="current-user">
            {user.displayName}
          </strong>
          <span className="muted small account-email">{user.email}</span>
        </div>
      </div>
      <div className="account-actions">
        {/* biome-ignore lint/a11y/useAnchorContent: named by aria-label; the icon inside is aria-hidden */}
        <a
          href="/settings"
          className="icon-button"
          onClick={linkHandler('/settings')}
          aria-label={t('settings:open')}
          title={t('settings:open')}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path
              fill="currentColor"
              d="M19.4 13a7.5 7.5 0 0 0 0-2l2.1-1.6-2-3.5-2.5 1a7.6 7.6 0 0 0-1.7-1L15 3h-4l-.4 2.9a7.6 7.6 0 0 0-1.7 1l-2.5-1-2 3.5L6.6 11a7.5 7.5 0 0 0 0 2l-2.1 1.6 2 3.5 2.5-1c.5.4 1.1.7 1.7 1L11 21h4l.4-2.9c.6-.3 1.2-.6 1.7-1l2.5 1 2-3.5L19.4 13ZM13 15.5a3.5 3.5 0 1 1 0-7 3.5 3.5 0 0 1 0 7Z"
              transform="translate(-1 0)"
            />
          </svg>
        </a>
        {/* biome-ignore lint/a11y/useAnchorContent: named by aria-label; the icon inside is aria-hidden */}
        <a
          href="/sessions"
          className="icon-button"
          onClick={linkHandler('/sessions')}
          aria-label={t('account.sessions')}
          title={t('account.sessions')}
        >
          <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
            <path
              fill="currentColor"
              d="M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1h-6v2h3v2H7v-2h3v-2H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1Zm1 2v8h14V7H5Z"
            />
          </svg>
        </a>
        <SignOutButton className="ghost small" />
      </div>
    </div>
  );
}
