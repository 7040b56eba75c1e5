import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { useSession } from '../session';
import { trpc } from '../trpc';
import { DeleteAccount } from './DeleteAccount';
import type { SettingsSection } from './sections';

/** Sign out asks first: one click by mistake should not end the session. */
export function SignOutButton({ className = 'secondary' }: { className?: string }) {
  const { t } = useTranslation('accounts');
  const { signedOut } = useSession();
  const [confirming, setConfirming] = useState(false);
  const logout = trpc.auth.logout.useMutation({
    onSuccess: () => signedOut(t('signOut.done')),
    onError: (err) => {
      if (err.data?.code === 'UNAUTHORIZED') signedOut();
    },
  });
  if (!confirming) {
    return (
      <button type="button" className={className} onClick={() => setConfirming(true)}>
        {t('signOut.button')}
      </button>
    );
  }
  return (
    <div className="button-row" role="group" aria-label={t('signOut.question')}>
      <span>{t('signOut.question')}</span>
      {/* biome-ignore lint/a11y/noAutofocus: the confirmation just replaced the button pressed; focus moves to it */}
      <button type="button" className="danger" autoFocus disabled={logout.isPending} onClick={() => logout.mutate()}>
        {logout.isPending ? t('signOut.pending') : t('signOut.confirm')}
      </button>
      <button type="button" className="ghost" onClick={() => setConfirming(false)}>
        {t('common:cancel')}
      </button>
      {logout.error && logout.error.data?.code !== 'UNAUTHORIZED' && (
        <p className="form-error" role="alert">
          {humanError(logout.error)}
        </p>
      )}
    </div>
  );
}

function AccountSettings() {
  const { t } = useTranslation('accounts');
  return (
    <>
      <div className="settings-row">
        <p className="muted">{t('account.signOutText')}</p>
        <SignOutButton />
      </div>
      <DeleteAccount />
    </>
  );
}

export const section: SettingsSection = {
  id: 'account',
  title: 'accounts:settings.account',
  order: 90,
  Component: AccountSettings,
};
