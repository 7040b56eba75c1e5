import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { CallLayer } from '../calls/CallLayer';
import { callStoreFor } from '../calls/callStore';
import { AccountBar } from '../components/AccountBar';
import { HomePage } from '../pages/HomePage';
import { SessionsPage } from '../pages/SessionsPage';
import { Notifier } from '../notifications/Notifier';
import { SettingsPage } from '../pages/SettingsPage';
import { usePath } from '../router';
import { useUser } from '../session';
import { ChatView } from './ChatView';
import { ConnectionBanner } from './ConnectionBanner';
import { ConversationList } from './ConversationList';
import { NewGroupDialog } from './GroupDialog';
import { PeopleResults } from './PeopleSearch';
import { ShortcutsDialog, useShortcuts } from './Shortcuts';
import { MessageSearchLauncher } from './SearchPanel';
import { conversationTitle } from './helpers';
import { chatStoreFor, useChat } from './store';

const CHAT_PATH = /^\/c\/([0-9a-f-]{36})$/i;

export function Messenger() {
  const user = useUser();
  const { t } = useTranslation('chat');
  const store = chatStoreFor(user.id);
  const path = usePath();
  const [query, setQuery] = useState('');
  const [newGroup, setNewGroup] = useState(false);
  const live = useChat(store, (s) => s.live);
  const searchId = useId();

  const calls = callStoreFor(user.id);

  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  useEffect(() => {
    calls.names = (id) => {
      for (const c of Object.values(store.getState().conversations)) {
        const m = c.members.find((u) => u.id === id);
        if (m) return m.displayName;
      }
      return null;
    };
    calls.titles = (id) => {
      const c = store.getState().conversations[id];
      return c ? conversationTitle(c, user.id) : null;
    };
    calls.start();
    return () => calls.stop();
  }, [calls, store, user.id]);

  const chatId = CHAT_PATH.exec(path)?.[1] ?? null;
  const onSessions = path === '/sessions';
  const onSettings = path === '/settings';
  const showMain = chatId !== null || onSessions || onSettings;
  const searchRef = useRef<HTMLInputElement>(null);
  // Ctrl/Cmd+K: message search (SearchPanel.tsx), which opens above any screen, phones included.
  const [messageSearch, setMessageSearch] = useState(false);
  const focusSearch = useCallback(() => setMessageSearch(true), []);
  const shortcuts = useShortcuts({ store, chatId, focusSearch });
  const totalUnread = useChat(store, (s) => {
    let n = 0;
    for (const c of Object.values(s.conversations)) n += c.unreadCount;
    return n;
  });
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Parley` : 'Parley';
  }, [totalUnread]);

  return (
    <div className={`shell${showMain ? ' show-main' : ''}`}>
      <aside className="sidebar" aria-label={t('sidebar.label')}>
        <AccountBar />
        <Notifier store={store} calls={calls} />
        <div className="sidebar-tools">
          <div className="search-box">
            <label htmlFor={searchId} className="visually-hidden">
              {t('sidebar.searchPeople')}
            </label>
            <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true">
              <path
                fill="currentColor"
                d="M10 2a8 8 0 0 1 6.3 12.9l5.4 5.4-1.4 1.4-5.4-5.4A8 8 0 1 1 10 2Zm0 2a6 6 0 1 0 0 12 6 6 0 0 0 0-12Z"
              />
            </svg>
            <input
              ref={searchRef}
              id={searchId}
              type="search"
              placeholder={t('sidebar.searchPeople')}
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setQuery('');
              }}
              autoComplete="off"
            />
          </div>
          <button
            type="button"
            className="secondary small-btn"
            onClick={() => setNewGroup(true)}
            aria-haspopup="dialog"
          >
            {t('sidebar.newGroup')}
          </button>
          <MessageSearchLauncher store={store} open={messageSearch} onOpenChange={setMessageSearch} />
        </div>
        <div className="sidebar-scroll">
          {query.trim() ? (
            <PeopleResults store={store} query={query} onDone={() => setQuery('')} />
          ) : (
            <ConversationList store={store} activeId={chatId} />
          )}
        </div>
      </aside>
      <main className="main">
        <ConnectionBanner live={live} />
        {chatId ? (
          <ChatView store={store} calls={calls} id={chatId} />
        ) : onSessions ? (
          <SessionsPage />
        ) : onSettings ? (
          <SettingsPage />
        ) : (
          <HomePage />
        )}
      </main>
      <CallLayer store={calls} />
      {shortcuts.help && <ShortcutsDialog onClose={shortcuts.closeHelp} />}
      {newGroup && <NewGroupDialog store={store} onClose={() => setNewGroup(false)} />}
    </div>
  );
}
