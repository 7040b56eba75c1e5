import { useTranslation } from 'react-i18next';
import { Messenger } from './chat/Messenger';
import { AuthPage } from './pages/AuthPage';
import { ResetPasswordPage, VerifyEmailPage } from './pages/MailLinkPages';
import { usePath } from './router';
import { useSession } from './session';

export function App() {
  const { state } = useSession();
  const { t } = useTranslation();
  const path = usePath();
  // Mailed links work whether or not this browser is signed in.
  if (path === '/reset-password') return <ResetPasswordPage />;
  if (path === '/verify-email' && state.status !== 'loading') return <VerifyEmailPage />;
  if (state.status === 'loading') {
    return (
      <div className="splash" role="status" aria-live="polite">
        <span className="brand-mark large" aria-hidden="true" />
        <span className="visually-hidden">{t('loading')}</span>
      </div>
    );
  }
  if (state.status === 'signedOut') return <AuthPage notice={state.notice} />;
  return <Messenger />;
}
