import { useId, useMemo, useState } from 'react';
import { createPortal } from 'react-dom';
import { useTranslation } from 'react-i18next';
import { formatListStamp } from '../format';
import { navigate } from '../router';
import { trpc, type RouterOutputs } from '../trpc';
import { Modal } from './GroupDialog';
import { conversationTitle } from './helpers';
import { MarkedText } from './RichText';
import { useChat, type ChatStore } from './store';
import { useDebounced } from './useDebounced';
import './rich.css';

type Hit = RouterOutputs['messages']['search']['items'][number];

/**
 * The "Search messages" button of the sidebar; Messenger opens it for Ctrl/Cmd+K too (the
 * shortcut lives in Shortcuts.tsx).
 */
export function MessageSearchLauncher({
  store,
  open,
  onOpenChange,
}: {
  store: ChatStore;
  open: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const { t } = useTranslation('rich');
  const setOpen = onOpenChange;
  return (
    <>
      <button
        type="button"
        className="icon-button search-launcher"
        onClick={() => setOpen(true)}
        aria-haspopup="dialog"
        aria-label={t('search.open')}
        aria-keyshortcuts="Control+K Meta+K"
        title={t('search.shortcut')}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            fill="currentColor"
            d="M4 5h16v2H4V5Zm0 6h7v2H4v-2Zm0 6h7v2H4v-2Zm12.5-6a4.5 4.5 0 0 1 3.7 7.06l2.37 2.37-1.41 1.41-2.37-2.37A4.5 4.5 0 1 1 16.5 11Zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5Z"
          />
        </svg>
      </button>
      {/* Outside the sidebar, which phones hide while a chat is open. */}
      {open && createPortal(<SearchPanel store={store} onClose={() => setOpen(false)} />, document.body)}
    </>
  );
}

/** Full-text search over the user's conversations, grouped by conversation; a hit opens the message in context. */
function SearchPanel({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  const { t } = useTranslation('rich');
  const me = useChat(store, (s) => s.me);
  const conversations = useChat(store, (s) => s.conversations);
  const [query, setQuery] = useState('');
  const q = useDebounced(query.trim(), 250);
  const inputId = useId();
  const search = trpc.messages.search.useInfiniteQuery(
    { query: q, limit: 20 },
    { enabled: q.length > 0, getNextPageParam: (p) => p.nextCursor, placeholderData: (p) => p },
  );
  const hits = useMemo(() => search.data?.pages.flatMap((p) => p.items) ?? [], [search.data]);
  // Grouped by conversation, in the order of each one's newest hit.
  const groups = useMemo(() => {
    const map = new Map<string, Hit[]>();
    for (const h of hits) {
      const list = map.get(h.message.conversationId) ?? [];
      list.push(h);
      map.set(h.message.conversationId, list);
    }
    return [...map.entries()];
  }, [hits]);

  const openHit = (h: Hit) => {
    store.requestJump(h.message.conversationId, h.message.seq);
    navigate(`/c/${h.message.conversationId}`);
    onClose();
  };
  const titleOf = (id: string) => {
    const c = conversations[id];
    return c ? conversationTitle(c, me) : t('search.someConversation');
  };

  return (
    <Modal title={t('search.title')} onClose={onClose}>
      <div className="search-panel">
        <label htmlFor={inputId} className="visually-hidden">
          {t('search.label')}
        </label>
        <input
          id={inputId}
          type="search"
          className="search-input"
          placeholder={t('search.placeholder')}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          // biome-ignore lint/a11y/noAutofocus: the panel was just opened to type a search
          autoFocus
          autoComplete="off"
        />
        <p className="muted small search-hint">{t('search.hint')}</p>
        <div className="search-results" aria-live="polite" aria-busy={search.isFetching}>
          {search.isError && (
            <p className="form-error small" role="alert">
              {t('search.error')}
            </p>
          )}
          {q && search.isSuccess && hits.length === 0 && <p className="muted">{t('search.empty')}</p>}
          {groups.map(([conversationId, list]) => (
            <section key={conversationId} className="search-group" aria-label={titleOf(conversationId)}>
              <h3>{titleOf(conversationId)}</h3>
              <ul>
                {list.map((h) => (
                  <li key={h.message.id}>
                    <button type="button" className="search-hit" onClick={() => openHit(h)}>
                      <span className="search-snippet">
                        <MarkedText text={h.snippet} marks={h.marks} />
                      </span>
                      <time className="muted small" dateTime={h.message.createdAt}>
                        {formatListStamp(h.message.createdAt)}
                      </time>
                    </button>
                  </li>
                ))}
              </ul>
            </section>
          ))}
          {search.hasNextPage && (
            <button
              type="button"
              className="ghost small"
              disabled={search.isFetchingNextPage}
              onClick={() => void search.fetchNextPage()}
            >
              {t('search.more')}
            </button>
          )}
        </div>
      </div>
    </Modal>
  );
}
