import { AccountBar } from './components/AccountBar';
import { AuthPage } from './pages/AuthPage';
import { HomePage } from './pages/HomePage';
import { SessionsPage } from './pages/SessionsPage';
import { usePath } from './router';
import { useSession } from './session';

export function App() {
  const { state } = useSession();
  if (state.status === 'loading') {
    return (
      <div className="splash" role="status" aria-live="polite">
        <span className="brand-mark large" aria-hidden="true" />
        <span className="visually-hidden">Loading Parley…</span>
      </div>
    );
  }
  if (state.status === 'signedOut') return <AuthPage notice={state.notice} />;
  return <SignedIn />;
}

function SignedIn() {
  const path = usePath();
  const onSessions = path === '/sessions';
  return (
    <div className={`shell${onSessions ? ' show-main' : ''}`}>
      <aside className="sidebar" aria-label="Chats">
        <AccountBar />
      </aside>
      <main className="main">{onSessions ? <SessionsPage /> : <HomePage />}</main>
    </div>
  );
}
