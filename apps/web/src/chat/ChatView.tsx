import { BlockButton, BlockedGate } from '../settings/blocking';
import { messageBody } from '@parley/validators';
import {
  Fragment,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type ClipboardEvent,
  type FormEvent,
  type KeyboardEvent,
} from 'react';
import { useTranslation } from 'react-i18next';
import { CallButtons, OngoingCall } from '../calls/CallButtons';
import { CallEntry, withCalls, type TimelineCall } from '../calls/CallEntry';
import type { CallStore } from '../calls/callStore';
import { useCallHistory } from '../calls/history';
import { Avatar } from '../components/Avatar';
import { dayKey, formatDay, formatList, formatNumber, formatRelative } from '../format';
import { fitLength } from '../text';
import { translateIssue } from '../errors';
import { linkHandler } from '../router';
import { GroupInfo } from './GroupInfo';
import { GroupChangeEntry, withGroupChanges } from './GroupChangeEntry';
import type { GroupChange } from '@parley/protocol';
import { MuteButton } from '../notifications/MuteButton';
import { drafts } from '../notifications/offline';
import { statusOf, StatusTick } from './MessageStatus';
import { MESSAGE_MAX, PasteNotice } from './PasteNotice';
import { MessageRow } from './MessageRow';
import { AttachButton, MAX_FILES, UploadTray, useUploads, VoiceRecorder } from './attachments/Attachments';
import { DraftBar, NewerSentinel, replyToOf, useMessageJump, type Draft } from './RichThread';
import { conversationTitle, isOnline, lastSeen, memberName, otherMembers } from './helpers';
import { useChat, type ChatStore, type Conversation, type Message, type PendingMessage } from './store';

const EMPTY: never[] = [];

export function ChatView({ store, calls, id }: { store: ChatStore; calls: CallStore; id: string }) {
  const c = useChat(store, (s) => s.conversations[id]);
  const removed = useChat(store, (s) => s.removed[id]);
  const listLoaded = useChat(store, (s) => s.listLoaded);
  const { t } = useTranslation('chat');

  useEffect(() => {
    if (listLoaded && !c && !removed) void store.fetchConversation(id);
  }, [listLoaded, c, removed, id, store]);

  if (removed && !c)
    return (
      <section className="empty-pane">
        <h1>{t('view.unavailable')}</h1>
        <p className="muted">{t('view.unavailableText')}</p>
        <a href="/" onClick={linkHandler('/')}>
          {t('view.backToChats')}
        </a>
      </section>
    );
  if (!c)
    return (
      <section className="empty-pane" role="status">
        <p className="muted">{t('view.opening')}</p>
      </section>
    );
  return <Chat key={id} store={store} calls={calls} c={c} />;
}

type Row =
  | { kind: 'day'; key: string; label: string }
  | { kind: 'msg'; key: string; m: Message; first: boolean }
  | { kind: 'call'; key: string; call: TimelineCall }
  | { kind: 'change'; key: string; change: GroupChange }
  | { kind: 'pending'; key: string; p: PendingMessage }
  | { kind: 'unread'; key: string; count: number };

function Chat({ store, calls, c }: { store: ChatStore; calls: CallStore; c: Conversation }) {
  const callLog = useCallHistory(calls.history, c.id);
  const { t, i18n } = useTranslation('chat');
  const me = useChat(store, (s) => s.me);
  const thread = useChat(store, (s) => s.views[c.id]);
  const messages = useChat(store, (s) => s.threads[c.id]);
  const hasNewer = useChat(store, (s) => s.windows[c.id] === true);
  const changes = useChat(store, (s) => s.changes[c.id]) ?? EMPTY;
  const presence = useChat(store, (s) => s.presence);
  const typingMap = useChat(store, (s) => s.typing[c.id]);
  const reads = useChat(store, (s) => s.reads[c.id]);
  const [infoOpen, setInfoOpen] = useState(false);
  const scroller = useRef<HTMLDivElement>(null);
  const topSentinel = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const prevHeight = useRef(0);
  const prevFirst = useRef<number | null>(null);
  const prevLastKey = useRef<string | null>(null);
  const [showJump, setShowJump] = useState(false);
  // What was unread when the chat opened: the divider stays there while it is open, and the view
  // opens at it (once the first unread message is loaded) instead of at the bottom.
  const [unreadAtOpen] = useState(() => ({ after: c.lastReadSeq, count: c.unreadCount }));
  const toFirstUnread = useRef(unreadAtOpen.count > 0);
  const [draft, setDraft] = useState<Draft>(null);
  const { highlight, jumpTo, notice } = useMessageJump(store, c.id, scroller);

  const title = conversationTitle(c, me);
  const others = otherMembers(c, me);
  const other = c.kind === 'direct' ? others[0] : undefined;
  const otherOnline = other ? isOnline(other, presence) : undefined;
  const items = messages ?? EMPTY;
  const pending = thread?.pending ?? EMPTY;

  // Open: load, and read what arrives while we look.
  useEffect(() => {
    store.focused = c.id;
    void store.openThread(c.id);
    return () => {
      if (store.focused === c.id) store.focused = null;
    };
  }, [c.id, store]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: items.length: read again when a message arrives while the chat is open
  useEffect(() => {
    if (thread?.loaded) store.markRead(c.id);
  }, [thread?.loaded, items.length, c.id, store]);

  // Older pages when the top comes into view.
  // biome-ignore lint/correctness/useExhaustiveDependencies: thread?.loaded: observed afresh once loaded, so a sentinel already in view asks for more (loadOlder does nothing before)
  useEffect(() => {
    const el = topSentinel.current;
    const root = scroller.current;
    if (!el || !root) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void store.loadOlder(c.id);
      },
      { root, rootMargin: '200px 0px 0px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [c.id, store, thread?.loaded]);

  // Many unread: fetch older pages until the first unread one is here (a bounded number of them).
  const firstUnreadLoaded =
    !thread?.hasMore || (items[0]?.seq ?? Infinity) <= unreadAtOpen.after + 1 || unreadAtOpen.count > 500;
  useEffect(() => {
    if (thread?.loaded && toFirstUnread.current && !firstUnreadLoaded && !thread.loadingOlder)
      void store.loadOlder(c.id);
  }, [thread?.loaded, thread?.loadingOlder, firstUnreadLoaded, c.id, store]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: i18n.language: the day labels (formatDay) are in the current language
  const rows = useMemo(() => {
    const out: Row[] = [];
    let lastDay: number | null = null;
    let lastSender: string | null = null;
    let divider = unreadAtOpen.count === 0 || !firstUnreadLoaded;
    const timeline = withGroupChanges(withCalls(items, callLog, Boolean(thread?.hasMore)), changes, (e) =>
      e.kind === 'msg' ? e.m.seq : null,
    );
    for (const entry of timeline) {
      if (entry.kind === 'msg' && !divider && entry.m.seq > unreadAtOpen.after && entry.m.senderId !== me) {
        out.push({ kind: 'unread', key: 'unread', count: unreadAtOpen.count });
        divider = true;
      }
      const at =
        entry.kind === 'msg'
          ? entry.m.createdAt
          : entry.kind === 'call'
            ? entry.call.createdAt
            : entry.change.createdAt;
      const d = dayKey(at);
      if (d !== lastDay) {
        out.push({ kind: 'day', key: `d${d}`, label: formatDay(at) });
        lastDay = d;
        lastSender = null;
      }
      if (entry.kind === 'call') {
        out.push({ kind: 'call', key: `call-${entry.call.id}`, call: entry.call });
        lastSender = null;
        continue;
      }
      if (entry.kind === 'change') {
        out.push({ kind: 'change', key: `change-${entry.change.id}`, change: entry.change });
        lastSender = null;
        continue;
      }
      const m = entry.m;
      out.push({ kind: 'msg', key: m.id, m, first: m.senderId !== lastSender });
      lastSender = m.senderId;
    }
    if (pending.length) {
      const d = dayKey(pending[0]!.createdAt);
      if (d !== lastDay) out.push({ kind: 'day', key: `d${d}`, label: formatDay(pending[0]!.createdAt) });
      for (const p of pending) out.push({ kind: 'pending', key: p.clientId, p });
    }
    return out;
  }, [items, pending, callLog, changes, thread?.hasMore, i18n.language, unreadAtOpen, firstUnreadLoaded, me]);

  // Keep the view where the reader expects it.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const first = items[0]?.seq ?? null;
    const lastRow = rows.at(-1);
    const lastKey = lastRow?.key ?? null;
    const lastIsMine = lastRow?.kind === 'pending' || (lastRow?.kind === 'msg' && lastRow.m.senderId === me);
    if (toFirstUnread.current && thread?.loaded) {
      const divider = el.querySelector<HTMLElement>('[data-unread-divider]');
      if (divider) {
        el.scrollTop += divider.getBoundingClientRect().top - el.getBoundingClientRect().top - 8;
        toFirstUnread.current = false;
      } else el.scrollTop = 0; // older pages are on their way
    } else if (
      prevFirst.current !== null &&
      first !== null &&
      first < prevFirst.current &&
      lastKey === prevLastKey.current
    ) {
      el.scrollTop += el.scrollHeight - prevHeight.current; // older messages went in above
    } else if (lastKey !== prevLastKey.current) {
      // In a window around an older message, newer pages go in below without moving the view.
      if (hasNewer) {
        /* stay */
      } else if (atBottom.current || lastIsMine || prevLastKey.current === null) el.scrollTop = el.scrollHeight;
      else setShowJump(true);
    }
    prevFirst.current = first;
    prevLastKey.current = lastKey;
    prevHeight.current = el.scrollHeight;
  }, [rows, items, me, thread?.loaded, hasNewer]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
    if (atBottom.current) setShowJump(false);
  };
  const jump = () => {
    const el = scroller.current;
    if (el) el.scrollTo({ top: el.scrollHeight, behavior: 'smooth' });
    setShowJump(false);
  };

  // Read receipts: under my latest delivered message.
  const myLast = useMemo(() => [...items].reverse().find((m) => m.senderId === me), [items, me]);
  const seenBy = myLast ? others.filter((o) => (reads?.[o.id] ?? 0) >= myLast.seq) : [];
  const receipt = myLast
    ? seenBy.length === 0
      ? t('receipt.sent')
      : c.kind === 'direct'
        ? t('receipt.seen')
        : seenBy.length === others.length
          ? t('receipt.seenByEveryone')
          : t('receipt.seenBy', { names: formatList(seenBy.map((u) => u.displayName)) })
    : null;

  const typers = Object.keys(typingMap ?? {}).filter((u) => u !== me);
  const typingText =
    typers.length === 0
      ? null
      : c.kind === 'direct'
        ? t('typing.one', { name: title })
        : typers.length === 1
          ? t('typing.one', { name: memberName(c, typers[0]!, me) })
          : t('typing.many', { count: typers.length });
  const seen = other ? lastSeen(other, presence) : null;
  const subtitle =
    c.kind === 'group'
      ? t('members', { count: c.members.length })
      : otherOnline
        ? t('common:online')
        : seen
          ? t('view.lastSeen', { when: formatRelative(seen) })
          : t('common:offline');

  return (
    <section className="chat" aria-label={t('view.label', { title })}>
      <header className="chat-header">
        {/* biome-ignore lint/a11y/useAnchorContent: named by aria-label; the icon inside is aria-hidden */}
        <a href="/" className="icon-button back-button" onClick={linkHandler('/')} aria-label={t('view.back')}>
          <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
            <path fill="currentColor" d="M15.4 5.4 14 4l-8 8 8 8 1.4-1.4L8.8 12z" />
          </svg>
        </a>
        <Avatar
          name={title}
          seed={other?.id ?? c.id}
          url={other?.avatarUrl}
          online={otherOnline}
          group={c.kind === 'group'}
          size={38}
        />
        <div className="chat-title">
          <h1>{title}</h1>
          <p className="muted small">{subtitle}</p>
        </div>
        <CallButtons calls={calls} c={c} title={title} />
        {c.kind === 'direct' && other && <BlockButton userId={other.id} name={title} />}
        <MuteButton store={store} c={c} />
        {c.kind === 'group' && (
          <button type="button" className="ghost small" onClick={() => setInfoOpen(true)} aria-haspopup="dialog">
            {t('view.details')}
          </button>
        )}
      </header>
      <OngoingCall calls={calls} c={c} title={title} />

      <div
        className="messages"
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label={t('view.messages')}
        aria-live="polite"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (axe: scrollable-region-focusable)
        tabIndex={0}
      >
        <div ref={topSentinel} className="top-sentinel" />
        {thread?.loaded && thread.hasMore && (
          <div className="history-control">
            <button
              type="button"
              className="ghost small"
              disabled={thread.loadingOlder}
              onClick={() => void store.loadOlder(c.id)}
            >
              {thread.loadingOlder ? t('view.loadingOlder') : t('view.loadEarlier')}
            </button>
          </div>
        )}
        {thread?.loaded && !thread.hasMore && (
          <p className="history-start muted small">
            {items.length ? t('view.beginning') : t('view.sayHello', { title })}
          </p>
        )}
        {!thread?.loaded && !thread?.error && (
          <p className="history-start muted small" role="status">
            {t('view.loading')}
          </p>
        )}
        {thread?.error && (
          <p className="form-error small history-start" role="alert">
            {thread.error}
          </p>
        )}
        {rows.map((r) => {
          if (r.kind === 'day')
            return (
              <div key={r.key} className="day-sep" role="separator">
                <span>{r.label}</span>
              </div>
            );
          if (r.kind === 'unread')
            return (
              <div key={r.key} className="unread-sep" role="separator" data-unread-divider>
                <span>{t('unread.divider', { count: r.count })}</span>
              </div>
            );
          if (r.kind === 'call') return <CallEntry key={r.key} call={r.call} me={me} />;
          if (r.kind === 'change') return <GroupChangeEntry key={r.key} change={r.change} c={c} me={me} />;
          if (r.kind === 'msg') {
            const mine = r.m.senderId === me;
            return (
              <Fragment key={r.key}>
                <BlockedGate senderId={r.m.senderId} group={c.kind === 'group'}>
                  <MessageRow
                    store={store}
                    c={c}
                    m={r.m}
                    me={me}
                    first={r.first}
                    highlighted={highlight === r.m.seq}
                    onReply={(m) => setDraft({ kind: 'reply', m })}
                    onEdit={(m) => setDraft({ kind: 'edit', m })}
                    onJump={(seq) => void jumpTo(seq)}
                    tick={
                      mine ? <StatusTick status={statusOf(r.m.seq, c, me, reads)} group={c.kind === 'group'} /> : null
                    }
                  />
                </BlockedGate>
                {myLast?.id === r.m.id && pending.length === 0 && (
                  <div className="receipt" aria-live="polite">
                    {receipt}
                  </div>
                )}
              </Fragment>
            );
          }
          return <PendingBubble key={r.key} store={store} p={r.p} />;
        })}
        {hasNewer && <NewerSentinel store={store} conversationId={c.id} root={scroller} />}
      </div>
      {notice && (
        <p className="form-error small history-start" role="alert">
          {notice}
        </p>
      )}
      {hasNewer && (
        <button type="button" className="jump" onClick={() => void store.loadLatest(c.id)}>
          {t('rich:jump.latest')}
        </button>
      )}

      {showJump && (
        <button type="button" className="jump" onClick={jump}>
          {t('view.newMessages')}
        </button>
      )}
      <div className="typing-line" aria-live="polite">
        {typingText ?? ''}
      </div>
      {draft && <DraftBar draft={draft} c={c} me={me} onCancel={() => setDraft(null)} />}
      <Composer
        store={store}
        conversationId={c.id}
        title={title}
        draft={draft}
        onDraftDone={() => setDraft(null)}
        onEditLast={() => {
          // ↑ in an empty composer: edit one's own latest message (as in most messengers).
          const last = [...items].reverse().find((m) => m.senderId === me && m.deletedAt === null);
          if (last) setDraft({ kind: 'edit', m: last });
          return !!last;
        }}
      />
      {infoOpen && c.kind === 'group' && <GroupInfo store={store} c={c} onClose={() => setInfoOpen(false)} />}
    </section>
  );
}

function PendingBubble({ store, p }: { store: ChatStore; p: PendingMessage }) {
  const { t } = useTranslation('chat');
  const failed = p.status === 'failed';
  return (
    <div className={`bubble-row mine pending${failed ? ' failed' : ''}`} data-client-id={p.clientId}>
      <div className="bubble">
        <span className="body">{p.body}</span>
        <span className="stamp">{failed ? t('pending.notSent') : t('pending.sending')}</span>
        {!failed && <StatusTick status={{ kind: 'sending' }} group={false} />}
      </div>
      {failed && (
        <div className="failed-actions" role="alert">
          <span>{p.error ?? t('pending.notSentDot')}</span>
          <button type="button" className="link" onClick={() => store.retry(p.conversationId, p.clientId)}>
            {t('pending.retry')}
          </button>
          <button type="button" className="link" onClick={() => store.discard(p.conversationId, p.clientId)}>
            {t('pending.delete')}
          </button>
        </div>
      )}
    </div>
  );
}

function Composer({
  store,
  conversationId,
  title,
  draft,
  onDraftDone,
  onEditLast,
}: {
  store: ChatStore;
  conversationId: string;
  title: string;
  draft: Draft;
  onDraftDone: () => void;
  onEditLast: () => boolean;
}) {
  const [text, setText] = useState(() => drafts.get(conversationId) ?? '');
  const [error, setError] = useState<string | null>(null);
  const { t } = useTranslation('chat');
  const ref = useRef<HTMLTextAreaElement>(null);
  const id = useId();
  /** A paste that would not fit, held until the person says what to do with it. */
  const [oversize, setOversize] = useState<{ text: string; start: number; end: number; length: number } | null>(null);
  const uploads = useUploads(conversationId);
  const { t: tf } = useTranslation('files');
  const [dragging, setDragging] = useState(false);
  const onPaste = (e: ClipboardEvent<HTMLTextAreaElement>) => {
    // Pasted images (screenshots) become uploads.
    const files = [...e.clipboardData.files];
    if (files.length > 0) {
      e.preventDefault();
      uploads.add(files);
      return;
    }
    const pasted = e.clipboardData.getData('text/plain');
    const el = e.currentTarget;
    const length = el.value.length - (el.selectionEnd - el.selectionStart) + pasted.length;
    if (length <= MESSAGE_MAX) return;
    e.preventDefault();
    setOversize({ text: pasted, start: el.selectionStart, end: el.selectionEnd, length });
  };
  const pasteFit = () => {
    if (!oversize) return;
    const room = MESSAGE_MAX - (text.length - (oversize.end - oversize.start));
    const piece = fitLength(oversize.text, Math.max(0, room));
    setText(text.slice(0, oversize.start) + piece + text.slice(oversize.end));
    setOversize(null);
    const caret = oversize.start + piece.length;
    requestAnimationFrame(() => ref.current?.setSelectionRange(caret, caret));
    ref.current?.focus();
  };

  useEffect(() => {
    if (window.matchMedia('(min-width: 761px)').matches) ref.current?.focus();
    // After a reload the drafts come from IndexedDB a moment later.
    let live = true;
    void drafts.loaded.then(() => live && setText((cur) => cur || (drafts.get(conversationId) ?? '')));
    return () => {
      live = false;
    };
  }, [conversationId]);
  // Editing puts the message's text in the composer; replying and editing both focus it.
  const prevDraft = useRef<Draft>(null);
  useEffect(() => {
    if (draft?.kind === 'edit') setText(draft.m.body);
    else if (prevDraft.current?.kind === 'edit') setText(drafts.get(conversationId) ?? ''); // edit cancelled or saved
    prevDraft.current = draft;
    if (draft) ref.current?.focus();
  }, [draft, conversationId]);
  // biome-ignore lint/correctness/useExhaustiveDependencies: saved when the text changes, not when the draft kind does (ending an edit would store the edit's text until setText lands)
  useEffect(() => {
    if (draft?.kind === 'edit') return; // an edit is not a draft to keep
    drafts.set(conversationId, text);
    const el = ref.current;
    if (el) {
      el.style.height = 'auto';
      el.style.height = `${Math.min(el.scrollHeight, 160)}px`;
    }
  }, [text, conversationId]);

  const submit = (e?: FormEvent) => {
    e?.preventDefault();
    const files = draft?.kind === 'edit' || uploads.busy ? [] : uploads.ready.map((a) => a.id);
    if (files.length > 0 && text.trim().length === 0) {
      // Files alone: the body may be empty.
      for (let i = 0; i < files.length; i += MAX_FILES)
        store.send(conversationId, '', undefined, files.slice(i, i + MAX_FILES));
      uploads.clear();
      return;
    }
    const parsed = messageBody.safeParse(text);
    if (!parsed.success) {
      if (text.trim().length > 0) setError(translateIssue(parsed.error.issues[0]?.message ?? t('composer.check')));
      return;
    }
    setError(null);
    if (draft?.kind === 'edit') {
      const m = draft.m;
      if (parsed.data !== m.body) store.edit(m, parsed.data).catch(() => setError(t('rich:errors.edit')));
    } else {
      store.send(
        conversationId,
        parsed.data,
        draft?.kind === 'reply' ? replyToOf(draft.m) : undefined,
        files.length > 0 ? files : undefined,
      );
      if (files.length > 0) uploads.clear();
    }
    if (draft) onDraftDone();
    setText(draft?.kind === 'edit' ? (drafts.get(conversationId) ?? '') : '');
    ref.current?.focus();
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    } else if (e.key === 'ArrowUp' && !draft && text === '' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      if (onEditLast()) e.preventDefault();
    } else if (e.key === 'Escape' && draft) {
      e.preventDefault();
      if (draft.kind === 'edit') setText(drafts.get(conversationId) ?? '');
      onDraftDone();
    }
  };

  return (
    <form
      className={`composer${dragging ? ' dragging' : ''}`}
      onSubmit={submit}
      onDragOver={(e) => {
        if (!e.dataTransfer.types.includes('Files')) return;
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        if (e.dataTransfer.files.length === 0) return;
        e.preventDefault();
        setDragging(false);
        uploads.add([...e.dataTransfer.files]);
      }}
      aria-describedby={dragging ? `${id}-drop` : undefined}
    >
      <UploadTray items={uploads.items} />
      {dragging && (
        <p className="visually-hidden" id={`${id}-drop`}>
          {tf('dropHere')}
        </p>
      )}
      <AttachButton onFiles={uploads.add} />
      <label htmlFor={id} className="visually-hidden">
        {t('composer.label', { title })}
      </label>
      <textarea
        id={id}
        ref={ref}
        rows={1}
        placeholder={t('composer.label', { title })}
        value={text}
        aria-invalid={error || text.length > MESSAGE_MAX ? true : undefined}
        aria-describedby={oversize ? `${id}-paste` : error ? `${id}-err` : `${id}-hint`}
        onPaste={onPaste}
        onChange={(e) => {
          setText(e.target.value);
          if (error) setError(null);
          if (e.target.value.trim()) store.typing(conversationId);
        }}
        onKeyDown={onKeyDown}
      />
      <VoiceRecorder
        onRecorded={(file) =>
          void uploads.upload(file).then((a) => {
            if (!a) return;
            store.send(conversationId, '', undefined, [a.id]);
            uploads.clear();
          })
        }
      />
      <button
        type="submit"
        className="primary send"
        disabled={uploads.busy || (text.trim().length === 0 && uploads.ready.length === 0)}
        aria-label={t('composer.send')}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z" />
        </svg>
      </button>
      {text.length > MESSAGE_MAX * 0.9 && (
        <span className={`char-count${text.length > MESSAGE_MAX ? ' over' : ''}`} aria-hidden="true">
          {t('composer.count', { count: formatNumber(text.length), max: formatNumber(MESSAGE_MAX) })}
        </span>
      )}
      {oversize ? (
        <PasteNotice
          id={`${id}-paste`}
          length={oversize.length}
          onPasteFit={pasteFit}
          onCancel={() => {
            setOversize(null);
            ref.current?.focus();
          }}
        />
      ) : error ? (
        <p className="field-error composer-note" id={`${id}-err`}>
          {error}
        </p>
      ) : (
        <p className="visually-hidden" id={`${id}-hint`}>
          {t('composer.hint')}
        </p>
      )}
    </form>
  );
}
