import { useTranslation } from 'react-i18next';
import { Messenger } from './chat/Messenger';
import { AuthPage } from './pages/AuthPage';
import { useSession } from './session';

export function App() {
  const { state } = useSession();
  const { t } = useTranslation();
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
