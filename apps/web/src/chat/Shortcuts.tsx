import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { navigate } from '../router';
import { Modal } from './GroupDialog';
import { listedConversations } from './helpers';
import type { ChatStore } from './store';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
const mod = isMac ? '⌘' : 'Ctrl';

/** What the help dialog lists; keys are shown as written here, descriptions are translated. */
export const SHORTCUTS: { keys: string[]; what: string }[] = [
  { keys: [mod, 'K'], what: 'search' },
  { keys: ['Alt', '↑'], what: 'previous' },
  { keys: ['Alt', '↓'], what: 'next' },
  { keys: ['Esc'], what: 'close' },
  { keys: ['Enter'], what: 'send' },
  { keys: ['Shift', 'Enter'], what: 'newline' },
  { keys: ['↑'], what: 'edit' },
  { keys: ['?'], what: 'help' },
];

/** Other places (settings) open the list with this window event. */
export const OPEN_SHORTCUTS = 'parley:shortcuts';

const typingInField = (e: KeyboardEvent) => {
  const el = e.target as HTMLElement | null;
  return !!el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
};

/**
 * The keyboard: Ctrl/⌘+K to search, Alt+↑/↓ to the previous/next chat of the list, ? for the
 * list of shortcuts. Escape is the dialogs' own (and clears the search box).
 */
export function useShortcuts({
  store,
  chatId,
  focusSearch,
}: {
  store: ChatStore;
  chatId: string | null;
  focusSearch: () => void;
}) {
  const [help, setHelp] = useState(false);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        focusSearch();
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === 'ArrowUp' || e.key === 'ArrowDown')) {
        if (document.querySelector('dialog[open]')) return;
        const list = listedConversations(store.getState().conversations);
        if (list.length === 0) return;
        e.preventDefault();
        const at = list.findIndex((c) => c.id === chatId);
        const next = e.key === 'ArrowUp' ? (at <= 0 ? 0 : at - 1) : at < 0 ? 0 : Math.min(list.length - 1, at + 1);
        navigate(`/c/${list[next]!.id}`);
      } else if (e.key === '?' && !e.ctrlKey && !e.metaKey && !e.altKey && !typingInField(e)) {
        e.preventDefault();
        setHelp(true);
      }
    };
    const onAsk = () => setHelp(true);
    window.addEventListener('keydown', onKey);
    window.addEventListener(OPEN_SHORTCUTS, onAsk);
    return () => {
      window.removeEventListener('keydown', onKey);
      window.removeEventListener(OPEN_SHORTCUTS, onAsk);
    };
  }, [store, chatId, focusSearch]);
  return { help, openHelp: () => setHelp(true), closeHelp: () => setHelp(false) };
}

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation('shortcuts');
  return (
    <Modal title={t('title')} onClose={onClose}>
      <table className="shortcuts">
        <caption className="visually-hidden">{t('title')}</caption>
        <thead className="visually-hidden">
          <tr>
            <th scope="col">{t('keys')}</th>
            <th scope="col">{t('action')}</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.what}>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 && ' + '}
                    <kbd>{k}</kbd>
                  </span>
                ))}
              </td>
              <td>{t(`what.${s.what}`)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
