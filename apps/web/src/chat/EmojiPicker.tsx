import { lazy, Suspense, useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';

// Lazy: the picker and its data load the first time someone opens it, not with the app.
const Panel = lazy(() => import('./EmojiPickerPanel'));

/** A popover dialog with a searchable emoji picker; Escape (refocus) or a click outside closes it. */
export function EmojiPicker({
  onPick,
  onClose,
}: {
  onPick: (emoji: string) => void;
  onClose: (refocus: boolean) => void;
}) {
  const { t } = useTranslation('rich');
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const outside = (e: PointerEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [onClose]);
  return (
    <div
      ref={ref}
      className="emoji-popover"
      role="dialog"
      aria-label={t('picker.title')}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose(true);
        }
      }}
    >
      <Suspense
        fallback={
          <p className="emoji-status" role="status">
            {t('picker.loading')}
          </p>
        }
      >
        <Panel
          onPick={(emoji) => {
            onClose(true);
            onPick(emoji);
          }}
        />
      </Suspense>
    </div>
  );
}
