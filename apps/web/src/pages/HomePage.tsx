import { formatFull } from '../format';
import { useUser } from '../session';
import { Avatar } from '../components/Avatar';

/** Shown in the main pane when no conversation is open. */
export function HomePage() {
  const user = useUser();
  return (
    <section className="empty-pane" aria-labelledby="home-title">
      <Avatar name={user.displayName} seed={user.id} size={72} />
      <h1 id="home-title">Hi, {user.displayName}</h1>
      <p className="muted">Signed in as {user.email}</p>
      <p className="muted small">Member since {formatFull(user.createdAt)}</p>
      <p className="muted empty-hint">Pick a conversation, or search for someone to start one.</p>
    </section>
  );
}
