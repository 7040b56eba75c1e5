import { useEffect, useRef, type KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

export interface MenuActions {
  reply(): void;
  react(emoji: string): void;
  more(): void;
  copy(): void;
  edit?: (() => void) | undefined;
  delete?: (() => void) | undefined;
}

/**
 * The message's menu (WAI-ARIA menu pattern): quick reactions, then reply, add reaction, copy,
 * and for one's own messages edit and delete. Arrow keys, Home and End move; Escape or Tab close
 * it with focus back on its button (`refocus`), as does a click outside (without moving focus).
 */
export function MessageMenu({ actions, onClose }: { actions: MenuActions; onClose: (refocus: boolean) => void }) {
  const { t } = useTranslation('rich');
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
    const outside = (e: PointerEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [onClose]);

  // The action decides where focus goes next (the composer, a dialog, the picker, back to the message).
  const run = (f: () => void) => () => {
    onClose(false);
    f();
  };
  const onKeyDown = (e: KeyboardEvent) => {
    const items = [...(ref.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    const go = (n: number) => {
      e.preventDefault();
      items[(n + items.length) % items.length]?.focus();
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') go(i + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') go(i - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(items.length - 1);
    else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      e.stopPropagation();
      onClose(true);
    }
  };
  return (
    <div ref={ref} className="message-menu" role="menu" aria-label={t('menu.label')} onKeyDown={onKeyDown}>
      <div className="menu-reactions" role="group" aria-label={t('menu.quick')}>
        {QUICK_REACTIONS.map((emoji) => (
          <button
            key={emoji}
            type="button"
            role="menuitem"
            tabIndex={-1}
            className="menu-emoji"
            aria-label={t('menu.reactWith', { emoji })}
            onClick={run(() => actions.react(emoji))}
          >
            {emoji}
          </button>
        ))}
      </div>
      <button type="button" role="menuitem" tabIndex={-1} onClick={run(actions.reply)}>
        {t('menu.reply')}
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={run(actions.more)}>
        {t('menu.react')}
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={run(actions.copy)}>
        {t('menu.copy')}
      </button>
      {actions.edit && (
        <button type="button" role="menuitem" tabIndex={-1} onClick={run(actions.edit)}>
          {t('menu.edit')}
        </button>
      )}
      {actions.delete && (
        <button type="button" role="menuitem" tabIndex={-1} className="danger-item" onClick={run(actions.delete)}>
          {t('menu.delete')}
        </button>
      )}
    </div>
  );
}
