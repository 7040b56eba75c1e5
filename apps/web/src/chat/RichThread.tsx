/** Reply and edit drafts, jumping to a message in its thread, and paging forward from a window. */
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { excerpt } from '../text';
import { memberName } from './helpers';
import { parseRich, plainText } from './richText';
import { useChat, type ChatStore, type Conversation, type Message } from './store';

export type Draft = { kind: 'reply' | 'edit'; m: Message } | null;

/** The quote a reply carries until the server answers with its own. */
export const replyToOf = (m: Message): NonNullable<Message['replyTo']> => ({
  id: m.id,
  seq: m.seq,
  senderId: m.senderId,
  excerpt: m.body.slice(0, 200),
});

/** Above the composer: "Replying to Ada: …" or "Editing message", with a cancel button. */
export function DraftBar({
  draft,
  c,
  me,
  onCancel,
}: {
  draft: NonNullable<Draft>;
  c: Conversation;
  me: string;
  onCancel: () => void;
}) {
  const { t } = useTranslation('rich');
  const reply = draft.kind === 'reply';
  return (
    <div className="draft-bar" role="status">
      <div className="draft-text">
        <span className="draft-title">
          {reply ? t('composer.replyingTo', { name: memberName(c, draft.m.senderId, me) }) : t('composer.editing')}
        </span>
        <span className="draft-excerpt">{excerpt(plainText(parseRich(draft.m.body)), 120)}</span>
      </div>
      <button
        type="button"
        className="icon-button"
        aria-label={reply ? t('composer.cancelReply') : t('composer.cancelEdit')}
        onClick={onCancel}
      >
        ✕
      </button>
    </div>
  );
}

/**
 * Shows a message of this thread (a reply's quote, a search hit): loads history around it when
 * needed, scrolls it to the middle, focuses and highlights it. Search hits arrive through the
 * store's `jump` request.
 */
export function useMessageJump(store: ChatStore, conversationId: string, scroller: RefObject<HTMLDivElement | null>) {
  const { t } = useTranslation('rich');
  const [highlight, setHighlight] = useState<number | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const jump = useChat(store, (s) => s.jump);
  const loaded = useChat(store, (s) => s.views[conversationId]?.loaded ?? false);

  const jumpTo = useCallback(
    async (seq: number) => {
      setNotice(null);
      if (!(await store.showMessage(conversationId, seq))) {
        setNotice(t('quote.notFound'));
        return;
      }
      setHighlight(seq);
      // After React has drawn the window.
      requestAnimationFrame(() =>
        requestAnimationFrame(() => {
          const el = scroller.current?.querySelector<HTMLElement>(`[data-seq="${seq}"]`);
          el?.scrollIntoView({ block: 'center' });
          el?.focus({ preventScroll: true });
        }),
      );
    },
    [store, conversationId, scroller, t],
  );

  useEffect(() => {
    if (loaded && jump?.conversationId === conversationId) {
      store.clearJump();
      void jumpTo(jump.seq);
    }
  }, [loaded, jump, conversationId, store, jumpTo]);

  return { highlight, jumpTo, notice };
}

/** At the bottom of a window around an older message: loads newer pages as it comes into view. */
export function NewerSentinel({
  store,
  conversationId,
  root,
}: {
  store: ChatStore;
  conversationId: string;
  root: RefObject<HTMLDivElement | null>;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const count = useChat(store, (s) => s.threads[conversationId]?.length ?? 0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: count: observed afresh after each page, so a sentinel still in view asks for the next one
  useEffect(() => {
    const el = ref.current;
    if (!el || !root.current) return;
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) void store.loadNewer(conversationId);
      },
      { root: root.current, rootMargin: '0px 0px 200px 0px' },
    );
    io.observe(el);
    return () => io.disconnect();
  }, [store, conversationId, root, count]);
  return <div ref={ref} className="top-sentinel" />;
}
