import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '../components/Avatar';
import { humanError } from '../errors';
import { formatRelative } from '../format';
import { navigate } from '../router';
import { trpc } from '../trpc';
import { isOnline } from './helpers';
import type { ChatStore } from './store';
import { useChat } from './store';
import { useDebounced } from './useDebounced';

/** Results for the sidebar's search box: pick someone to open a direct chat. */
export function PeopleResults({ store, query, onDone }: { store: ChatStore; query: string; onDone: () => void }) {
  const q = useDebounced(query.trim(), 200);
  const { t } = useTranslation('chat');
  const presence = useChat(store, (s) => s.presence);
  const search = trpc.users.search.useQuery(
    { query: q, limit: 20 },
    { enabled: q.length > 0, placeholderData: (p) => p },
  );
  const open = trpc.conversations.openDirect.useMutation({
    onSuccess: (c) => {
      store.adopt(c);
      onDone();
      navigate(`/c/${c.id}`);
    },
  });
  const headingId = useId();

  return (
    <section className="people-results" aria-labelledby={headingId}>
      <h2 id={headingId} className="section-label">
        {t('people.heading')}
      </h2>
      {open.error && (
        <p className="form-error small" role="alert">
          {humanError(open.error)}
        </p>
      )}
      {q.length === 0 ? null : search.isPending ? (
        <p className="list-note muted" role="status">
          {t('people.searching')}
        </p>
      ) : search.error ? (
        <p className="list-note form-error" role="alert">
          {humanError(search.error)}
        </p>
      ) : search.data.length === 0 ? (
        <p className="list-note muted" role="status">
          {t('people.noMatch', { query: q })}
        </p>
      ) : (
        <ul className="people-list">
          {search.data.map((u) => {
            const online = isOnline(u, presence);
            return (
              <li key={u.id}>
                <button
                  type="button"
                  className="person-row"
                  disabled={open.isPending}
                  onClick={() => open.mutate({ userId: u.id })}
                  aria-describedby={`${headingId}-${u.id}`}
                >
                  <Avatar name={u.displayName} seed={u.id} url={u.avatarUrl} online={online} size={38} />
                  <span className="person-text">
                    {/* The name says what the button does; the visible parts are its picture (axe: a label must hold the visible text, so no aria-label). */}
                    <span className="visually-hidden">{t('people.message', { name: u.displayName })}</span>
                    <span className="person-name" aria-hidden="true">
                      {u.displayName}
                    </span>
                    {/* Hidden from the name (which says what the button does), given as its description. */}
                    <span className="muted small" id={`${headingId}-${u.id}`} aria-hidden="true">
                      {online
                        ? t('common:online')
                        : u.lastSeenAt
                          ? t('view.lastSeen', { when: formatRelative(u.lastSeenAt) })
                          : t('common:offline')}
                      {/* Tells two people of the same name apart: the verified address's domain, else a short handle. */}
                      {' · '}
                      {u.emailDomain ?? `#${u.handle}`}
                    </span>
                  </span>
                  <span className="person-action" aria-hidden="true">
                    {t('people.action')}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
