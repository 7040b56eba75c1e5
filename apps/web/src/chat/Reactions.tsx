import { useTranslation } from 'react-i18next';
import { formatList, formatNumber } from '../format';
import type { Message } from './store';

/** The reaction chips under a message: who reacted (label and tooltip); a click toggles one's own. */
export function Reactions({
  m,
  me,
  nameOf,
  onToggle,
}: {
  m: Message;
  me: string;
  nameOf: (userId: string) => string;
  onToggle: (emoji: string) => void;
}) {
  const { t } = useTranslation('rich');
  if (m.reactions.length === 0) return null;
  return (
    <ul className="reactions" aria-label={t('reactions.label')}>
      {m.reactions.map((r) => {
        const mine = r.userIds.includes(me);
        const names = formatList(r.userIds.map(nameOf));
        return (
          <li key={r.emoji}>
            <button
              type="button"
              className={`reaction-chip${mine ? ' mine' : ''}`}
              aria-pressed={mine}
              title={names}
              onClick={() => onToggle(r.emoji)}
            >
              {/* The name is what is seen, then who: "👍 2 from Ada and Bob" (WCAG 2.5.3, label in name). */}
              <span>{r.emoji}</span> <span className="reaction-count">{formatNumber(r.userIds.length)}</span>
              <span className="visually-hidden"> {t('reactions.from', { names })}</span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
