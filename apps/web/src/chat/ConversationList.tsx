import { filesPreview } from './attachments/Attachments';
import { memo, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '../components/Avatar';
import { formatListStamp, formatNumber } from '../format';
import { excerpt } from '../text';
import { linkHandler } from '../router';
import { conversationTitle, isOnline, listedConversations, memberName, otherMembers } from './helpers';
import { useChat, type ChatStore, type Conversation } from './store';

export function ConversationList({ store, activeId }: { store: ChatStore; activeId: string | null }) {
  const conversations = useChat(store, (s) => s.conversations);
  const listLoaded = useChat(store, (s) => s.listLoaded);
  const listError = useChat(store, (s) => s.listError);
  const nextCursor = useChat(store, (s) => s.nextCursor);
  const { t } = useTranslation('chat');
  const sorted = useMemo(() => listedConversations(conversations), [conversations]);

  if (!listLoaded && listError)
    return (
      <p className="list-note form-error" role="alert">
        {listError}
      </p>
    );
  if (!listLoaded)
    return (
      <p className="list-note muted" role="status">
        {t('list.loading')}
      </p>
    );
  if (sorted.length === 0)
    return (
      <div className="list-note">
        <p>
          <strong>{t('list.empty')}</strong>
        </p>
        <p className="muted small">{t('list.emptyHint')}</p>
      </div>
    );

  return (
    <nav aria-label={t('list.label')} className="conv-nav">
      <ul className="conv-list">
        {sorted.map((c) => (
          <ConversationRow key={c.id} store={store} c={c} active={c.id === activeId} />
        ))}
      </ul>
      {nextCursor && (
        <button type="button" className="ghost small load-more" onClick={() => void store.loadMoreConversations()}>
          {t('list.showOlder')}
        </button>
      )}
    </nav>
  );
}

const ConversationRow = memo(function ConversationRow({
  store,
  c,
  active,
}: {
  store: ChatStore;
  c: Conversation;
  active: boolean;
}) {
  const me = useChat(store, (s) => s.me);
  const { t } = useTranslation('chat');
  const presence = useChat(store, (s) => s.presence);
  const typingMap = useChat(store, (s) => s.typing[c.id]);
  const title = conversationTitle(c, me);
  const others = otherMembers(c, me);
  const other = c.kind === 'direct' ? others[0] : undefined;
  const online = other ? isOnline(other, presence) : undefined;
  const typers = Object.keys(typingMap ?? {});
  const last = c.lastMessage;
  const preview = typers.length
    ? c.kind === 'direct'
      ? t('list.typing')
      : t('list.someoneTyping', { name: memberName(c, typers[0]!, me) })
    : last
      ? `${last.senderId === me ? t('list.youPrefix') : c.kind === 'group' ? t('list.senderPrefix', { name: memberName(c, last.senderId, me) }) : ''}${last.body || last.attachments.length === 0 ? excerpt(last.body) : filesPreview(last.attachments, t)}`
      : c.kind === 'group'
        ? t('members', { count: c.members.length })
        : t('list.noMessages');
  const unread = c.unreadCount;
  const extra = `${online ? t('list.online') : ''}${unread ? t('list.unread', { count: unread }) : ''}`;

  return (
    <li>
      <a
        href={`/c/${c.id}`}
        className={`conv-row${active ? ' active' : ''}${unread ? ' unread' : ''}`}
        aria-current={active ? 'page' : undefined}
        onClick={linkHandler(`/c/${c.id}`)}
        data-conversation-id={c.id}
      >
        <Avatar
          name={title}
          seed={other?.id ?? c.id}
          url={other?.avatarUrl}
          online={online}
          group={c.kind === 'group'}
          size={44}
        />
        <span className="conv-text">
          <span className="conv-top">
            <span className="conv-title">{title}</span>
            {extra && <span className="visually-hidden">{extra}</span>}
            {last && (
              <time className="conv-time" dateTime={last.createdAt}>
                {formatListStamp(last.createdAt)}
              </time>
            )}
          </span>
          <span className="conv-bottom">
            <span className={`conv-preview${typers.length ? ' typing' : ''}`}>{preview}</span>
            {unread > 0 && (
              <span className="unread-badge" aria-hidden="true">
                {unread > 99 ? `${formatNumber(99)}+` : formatNumber(unread)}
              </span>
            )}
          </span>
        </span>
      </a>
    </li>
  );
});
