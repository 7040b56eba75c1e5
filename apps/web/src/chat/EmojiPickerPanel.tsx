/** The emoji picker itself (frimousse), loaded only when someone opens it (see EmojiPicker.tsx). */
import { EmojiPicker } from 'frimousse';
import { useTranslation } from 'react-i18next';

export default function EmojiPickerPanel({ onPick }: { onPick: (emoji: string) => void }) {
  const { t, i18n } = useTranslation('rich');
  return (
    // emojibaseUrl: the data is built into the app (vite.config.ts), never fetched from a CDN.
    <EmojiPicker.Root
      className="emoji-picker"
      locale={i18n.language === 'de' ? 'de' : 'en'}
      emojibaseUrl="/emoji-data"
      columns={8}
      onEmojiSelect={({ emoji }) => onPick(emoji)}
    >
      <EmojiPicker.Search className="emoji-search" aria-label={t('picker.search')} placeholder={t('picker.search')} autoFocus />
      <EmojiPicker.Viewport className="emoji-viewport">
        <EmojiPicker.Loading className="emoji-status">{t('picker.loading')}</EmojiPicker.Loading>
        <EmojiPicker.Empty className="emoji-status">{t('picker.empty')}</EmojiPicker.Empty>
        <EmojiPicker.List
          className="emoji-list"
          aria-label={t('picker.title')}
          components={{
            CategoryHeader: ({ category, ...props }) => (
              <div className="emoji-category" {...props}>
                {category.label}
              </div>
            ),
            // frimousse numbers rows and columns from 0; ARIA counts from 1 (axe: aria-valid-attr-value).
            Row: ({ children, ...props }) => (
              <div {...props} aria-rowindex={props['aria-rowindex'] === undefined ? undefined : Number(props['aria-rowindex']) + 1}>
                {children}
              </div>
            ),
            // The name holds the visible emoji and then its words (WCAG 2.5.3, label in name), so
            // frimousse's aria-label (the words only) is dropped.
            Emoji: ({ emoji, 'aria-label': _wordsOnly, ...props }) => (
              <button {...props} aria-colindex={props['aria-colindex'] === undefined ? undefined : Number(props['aria-colindex']) + 1} className="emoji-button">
                {emoji.emoji}
                <span className="visually-hidden"> {emoji.label}</span>
              </button>
            ),
          }}
        />
      </EmojiPicker.Viewport>
    </EmojiPicker.Root>
  );
}
