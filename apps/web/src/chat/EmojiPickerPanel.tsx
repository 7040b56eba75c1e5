/** The emoji picker itself (frimousse), loaded only when someone opens it (see EmojiPicker.tsx). */
import {
  EmojiPicker,
  type EmojiPickerListCategoryHeaderProps,
  type EmojiPickerListEmojiProps,
  type EmojiPickerListRowProps,
} from 'frimousse';
import { useTranslation } from 'react-i18next';

// Outside the component, so each render hands frimousse the same components (no remounted rows).
function CategoryHeader({ category, ...props }: EmojiPickerListCategoryHeaderProps) {
  return (
    <div className="emoji-category" {...props}>
      {category.label}
    </div>
  );
}
// frimousse numbers rows and columns from 0; ARIA counts from 1 (axe: aria-valid-attr-value).
function Row({ children, ...props }: EmojiPickerListRowProps) {
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: props carry frimousse's role="row"
    <div
      {...props}
      aria-rowindex={props['aria-rowindex'] === undefined ? undefined : Number(props['aria-rowindex']) + 1}
    >
      {children}
    </div>
  );
}
// The name holds the visible emoji and then its words (WCAG 2.5.3, label in name), so
// frimousse's aria-label (the words only) is dropped.
function EmojiButton({ emoji, 'aria-label': _wordsOnly, ...props }: EmojiPickerListEmojiProps) {
  return (
    // biome-ignore lint/a11y/useAriaPropsSupportedByRole: props carry frimousse's role="gridcell"
    <button
      {...props}
      aria-colindex={props['aria-colindex'] === undefined ? undefined : Number(props['aria-colindex']) + 1}
      className="emoji-button"
    >
      {emoji.emoji}
      <span className="visually-hidden"> {emoji.label}</span>
    </button>
  );
}
const LIST_COMPONENTS = { CategoryHeader, Row, Emoji: EmojiButton };

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
      <EmojiPicker.Search
        className="emoji-search"
        aria-label={t('picker.search')}
        placeholder={t('picker.search')}
        autoFocus
      />
      <EmojiPicker.Viewport className="emoji-viewport">
        <EmojiPicker.Loading className="emoji-status">{t('picker.loading')}</EmojiPicker.Loading>
        <EmojiPicker.Empty className="emoji-status">{t('picker.empty')}</EmojiPicker.Empty>
        <EmojiPicker.List className="emoji-list" aria-label={t('picker.title')} components={LIST_COMPONENTS} />
      </EmojiPicker.Viewport>
    </EmojiPicker.Root>
  );
}
