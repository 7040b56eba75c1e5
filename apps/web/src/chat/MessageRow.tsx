import { MessageAttachments } from './attachments/Attachments';
import { useCallback, useRef, useState, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { formatFull, formatTime } from '../format';
import { EmojiPicker } from './EmojiPicker';
import { Modal } from './GroupDialog';
import { memberName } from './helpers';
import { MessageMenu } from './MessageMenu';
import { NamesakeMark } from './NamesakeMark';
import { namesakes } from './namesakes';
import { Reactions } from './Reactions';
import { RichText } from './RichText';
import { parseRich, plainText } from './richText';
import type { ChatStore, Conversation, Message } from './store';
import './rich.css';

const LONG_PRESS_MS = 500;

/**
 * One delivered message: its reply quote, its formatted body (or "message deleted"), "edited",
 * its reactions and its menu, opened by the ⋯ button, a right click, a long press (touch) or
 * the keyboard (the ContextMenu key or Shift+F10 on the focused message).
 */
export function MessageRow({
  store,
  c,
  m,
  me,
  first,
  highlighted,
  onReply,
  onEdit,
  onJump,
  tick,
}: {
  store: ChatStore;
  c: Conversation;
  m: Message;
  me: string;
  first: boolean;
  highlighted: boolean;
  onReply: (m: Message) => void;
  onEdit: (m: Message) => void;
  onJump: (seq: number) => void;
  /** The delivery status of one's own message (MessageStatus.tsx). */
  tick?: ReactNode;
}) {
  const { t } = useTranslation('rich');
  const mine = m.senderId === me;
  const deleted = m.deletedAt !== null;
  const [menu, setMenu] = useState(false);
  const [picker, setPicker] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** Menus open upwards from messages in the lower part of the view, so they stay on screen. */
  const [up, setUp] = useState(false);
  const rowRef = useRef<HTMLDivElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const press = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const nameOf = (id: string) => memberName(c, id, me);

  const act = (p: Promise<unknown>, failed: string) => {
    setError(null);
    p.catch(() => setError(failed));
  };
  const react = (emoji: string) => act(store.toggleReaction(m, emoji), t('errors.react'));
  const closeMenu = useCallback((refocus: boolean) => {
    setMenu(false);
    if (refocus) trigger.current?.focus();
  }, []);
  const closePicker = useCallback((refocus: boolean) => {
    setPicker(false);
    if (refocus) trigger.current?.focus();
  }, []);
  const placeMenu = () => {
    const row = rowRef.current?.getBoundingClientRect();
    const view = rowRef.current?.closest('.messages')?.getBoundingClientRect();
    setUp(!!row && !!view && row.top - view.top > view.height / 2);
  };
  const open = () => {
    if (deleted) return;
    placeMenu();
    setMenu(true);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.target !== e.currentTarget) return;
    if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      e.preventDefault();
      open();
    }
  };
  // Long press on touch screens; a move or lifting the finger early is a scroll or a tap.
  const onPointerDown = (e: PointerEvent) => {
    if (e.pointerType !== 'touch') return;
    clearTimeout(press.current);
    press.current = setTimeout(open, LONG_PRESS_MS);
  };
  const cancelPress = () => clearTimeout(press.current);

  const quoteName = m.replyTo ? nameOf(m.replyTo.senderId) : '';
  const quoteText = !m.replyTo
    ? ''
    : m.replyTo.excerpt === null
      ? t('deleted')
      : plainText(parseRich(m.replyTo.excerpt));
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: right-click and long press open the message menu, which the row's keys (Shift+F10, ContextMenu) open too
    <div
      ref={rowRef}
      className={`bubble-row${mine ? ' mine' : ''}${first ? ' first' : ''}${highlighted ? ' highlighted' : ''}${deleted ? ' deleted' : ''}${up ? ' menu-up' : ''}`}
      data-seq={m.seq}
      data-message-id={m.id}
      tabIndex={-1}
      onKeyDown={onKeyDown}
      onContextMenu={(e) => {
        if (deleted || (e.target as HTMLElement).closest('a')) return;
        e.preventDefault();
        open();
      }}
      onPointerDown={onPointerDown}
      onPointerUp={cancelPress}
      onPointerMove={cancelPress}
      onPointerCancel={cancelPress}
    >
      <div className="bubble-line">
        <div className="bubble">
          {!mine && c.kind === 'group' && first && (
            <span className="sender">
              {nameOf(m.senderId)}
              {namesakes(c.members).has(m.senderId) && <NamesakeMark />}
            </span>
          )}
          {m.replyTo && !deleted && (
            <button type="button" className="quote" onClick={() => onJump(m.replyTo!.seq)}>
              {/* Named by what it shows, then what it does (WCAG 2.5.3, label in name). */}
              <span className="quote-name">{quoteName}</span>
              <span className="quote-text">{quoteText}</span>
              <span className="visually-hidden"> {t('quote.show')}</span>
            </button>
          )}
          {!deleted && m.attachments.length > 0 && <MessageAttachments items={m.attachments} />}
          {deleted ? <span className="body deleted-mark">{t('deleted')}</span> : m.body && <RichText body={m.body} />}
          <span className="stamp">
            {m.editedAt && !deleted && (
              <span className="edited" title={formatFull(m.editedAt)}>
                {t('edited')} ·{' '}
              </span>
            )}
            <time dateTime={m.createdAt} title={formatFull(m.createdAt)}>
              {formatTime(m.createdAt)}
            </time>
            {!deleted && tick}
          </span>
        </div>
        {!deleted && (
          <button
            ref={trigger}
            type="button"
            className="menu-trigger"
            aria-label={t('menu.open')}
            aria-haspopup="menu"
            aria-expanded={menu}
            onClick={() => (menu ? setMenu(false) : open())}
          >
            <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true">
              <path
                fill="currentColor"
                d="M6 10.5a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3Zm6 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3Zm6 0a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3Z"
              />
            </svg>
          </button>
        )}
      </div>
      {menu && (
        <MessageMenu
          onClose={closeMenu}
          actions={{
            reply: () => onReply(m),
            react: (emoji) => {
              react(emoji);
              trigger.current?.focus();
            },
            more: () => setPicker(true),
            copy: () => {
              void navigator.clipboard?.writeText(m.body).catch(() => undefined);
              trigger.current?.focus();
            },
            edit: mine ? () => onEdit(m) : undefined,
            delete: mine ? () => setConfirming(true) : undefined,
          }}
        />
      )}
      {picker && <EmojiPicker onPick={react} onClose={closePicker} />}
      {!deleted && <Reactions m={m} me={me} nameOf={nameOf} onToggle={react} />}
      {error && (
        <p className="rich-error" role="alert">
          {error}
        </p>
      )}
      {confirming && (
        <Modal title={t('confirmDelete.title')} onClose={() => setConfirming(false)}>
          <p>{t('confirmDelete.text')}</p>
          <div className="button-row">
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              {t('confirmDelete.cancel')}
            </button>
            <button
              type="button"
              className="danger"
              onClick={() => {
                setConfirming(false);
                act(store.remove(m), t('errors.delete'));
              }}
            >
              {t('confirmDelete.confirm')}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
