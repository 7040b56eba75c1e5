import { useTranslation } from 'react-i18next';
import type { Conversation } from './store';
import './comforts.css';

export type Status = { kind: 'sending' } | { kind: 'sent' } | { kind: 'seen'; by: number; of: number };

/** Where one of my messages stands: still sending, sent, or read (by the other / by how many of a group). */
export function statusOf(seq: number, c: Conversation, me: string, reads: Record<string, number> | undefined): Status {
  const others = c.members.filter((m) => m.id !== me);
  const by = others.filter((o) => (reads?.[o.id] ?? 0) >= seq).length;
  return by === 0 ? { kind: 'sent' } : { kind: 'seen', by, of: others.length };
}

/** A clock, one tick or two: drawn, and said in words for screen readers (and on hover). */
export function StatusTick({ status, group }: { status: Status; group: boolean }) {
  const { t } = useTranslation('chat');
  const everyone = status.kind === 'seen' && status.by >= status.of;
  const label =
    status.kind === 'sending'
      ? t('status.sending')
      : status.kind === 'sent'
        ? t('status.sent')
        : !group
          ? t('status.seen')
          : everyone
            ? t('status.seenByEveryone')
            : t('status.seenBySome', { count: status.by, total: status.of });
  const state = status.kind === 'seen' ? (everyone ? 'read' : 'partly-read') : status.kind;
  return (
    <span className={`tick tick-${state}`} role="img" aria-label={label} title={label} data-status={state}>
      <svg viewBox="0 0 18 12" width="16" height="11" aria-hidden="true">
        {status.kind === 'sending' ? (
          <g fill="none" stroke="currentColor" strokeWidth="1.5">
            <circle cx="9" cy="6" r="4.5" />
            <path d="M9 3.5V6l1.8 1.2" />
          </g>
        ) : (
          <g fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round">
            <path d="M1.5 6.5 4.5 9.5 10.5 2.5" />
            {everyone && <path d="M7.5 9.5 8 10l6.5-7.5" />}
          </g>
        )}
      </svg>
    </span>
  );
}
