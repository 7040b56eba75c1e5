import { useEffect, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { humanError } from '../errors';
import { formatFull } from '../format';
import { parley } from '../trpc';
import type { ChatStore, Conversation } from '../chat/store';
import './notifications.css';

/** The server shows "until I unmute" as this far-away instant. */
const FOREVER_YEAR = 9999;
const CHOICES = [
  { key: 'hour', ms: 3_600_000 },
  { key: 'eightHours', ms: 8 * 3_600_000 },
  { key: 'week', ms: 7 * 86_400_000 },
  { key: 'forever', ms: null },
] as const;

/** Mute pushes and alerts for one conversation, for a while or until unmuted. */
export function MuteButton({ store, c }: { store: ChatStore; c: Conversation }) {
  const { t } = useTranslation('notifications');
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const menuId = useId();
  const root = useRef<HTMLDivElement>(null);
  const muted = c.mutedUntil !== null && Date.parse(c.mutedUntil) > Date.now();
  const forever = muted && new Date(c.mutedUntil!).getUTCFullYear() >= FOREVER_YEAR;

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const apply = async (ms: number | null | 'unmute') => {
    setOpen(false);
    setError(null);
    try {
      const updated =
        ms === 'unmute'
          ? await parley.api.conversations.unmute.mutate({ conversationId: c.id })
          : await parley.api.conversations.mute.mutate({
              conversationId: c.id,
              until: ms === null ? null : new Date(Date.now() + ms).toISOString(),
            });
      store.adopt(updated);
    } catch (err) {
      setError(humanError(err));
    }
  };

  const label = muted
    ? forever
      ? t('mute.mutedForever')
      : t('mute.mutedUntil', { time: formatFull(c.mutedUntil!) })
    : t('mute.button');
  return (
    <div className="mute" ref={root}>
      <button
        type="button"
        className={`icon-button${muted ? ' is-muted' : ''}`}
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => setOpen((o) => !o)}
      >
        <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true">
          <path
            fill="currentColor"
            d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6V11a6 6 0 0 0-5-5.9V4a1 1 0 0 0-2 0v1.1A6 6 0 0 0 6 11v5l-2 2v1h16v-1z"
          />
          {muted && <path stroke="currentColor" strokeWidth="2" d="M3 3l18 18" />}
        </svg>
      </button>
      {open && (
        <div className="mute-menu" role="menu" id={menuId} aria-label={t('mute.menu')}>
          {muted && (
            <button type="button" role="menuitem" onClick={() => void apply('unmute')}>
              {t('mute.unmute')}
            </button>
          )}
          {CHOICES.map((choice) => (
            <button key={choice.key} type="button" role="menuitem" onClick={() => void apply(choice.ms)}>
              {t(`mute.for.${choice.key}`)}
            </button>
          ))}
        </div>
      )}
      {error && (
        <p className="field-error mute-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
