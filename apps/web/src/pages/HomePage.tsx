import { useTranslation } from 'react-i18next';
import { formatFull } from '../format';
import { useUser } from '../session';
import { Avatar } from '../components/Avatar';

/** Shown in the main pane when no conversation is open. */
export function HomePage() {
  const user = useUser();
  const { t } = useTranslation('chat');
  return (
    <section className="empty-pane" aria-labelledby="home-title">
      <Avatar name={user.displayName} seed={user.id} url={user.avatarUrl} size={72} />
      <h1 id="home-title">{t('home.hi', { name: user.displayName })}</h1>
      <p className="muted">{t('home.signedInAs', { email: user.email })}</p>
      <p className="muted small">{t('home.memberSince', { date: formatFull(user.createdAt) })}</p>
      <p className="muted empty-hint">{t('home.hint')}</p>
    </section>
  );
}
