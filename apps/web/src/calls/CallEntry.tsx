import { useTranslation } from 'react-i18next';
import { formatFull, formatTime } from '../format';
import type { RouterOutputs } from '../trpc';
import { Icon } from './icons';

type Call = RouterOutputs['calls']['history'][number];
export type TimelineCall = Call;

/** A conversation's timeline: its messages with its ended calls in between, by time. */
export function withCalls<M extends { createdAt: string }>(
  messages: M[],
  calls: Call[],
  /** Older messages exist that are not loaded: calls before the first loaded one wait for them. */
  hasOlder: boolean,
): ({ kind: 'msg'; m: M } | { kind: 'call'; call: Call })[] {
  const ended = calls.filter((c) => c.state === 'ended');
  const from = hasOlder ? messages[0]?.createdAt : undefined;
  const out: ({ kind: 'msg'; m: M } | { kind: 'call'; call: Call })[] = [];
  let i = 0;
  for (const m of messages) {
    for (; i < ended.length && ended[i]!.createdAt <= m.createdAt; i++) {
      if (!from || ended[i]!.createdAt >= from) out.push({ kind: 'call', call: ended[i]! });
    }
    out.push({ kind: 'msg', m });
  }
  for (; i < ended.length; i++) if (!from || ended[i]!.createdAt >= from) out.push({ kind: 'call', call: ended[i]! });
  return out;
}

function minutes(ms: number) {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** What a call looks like from `me`'s side: missed, declined, busy, or its duration. */
export function describeCall(call: Call, me: string, t: (key: string, opts?: Record<string, unknown>) => string) {
  const media = t(call.media === 'video' ? 'history.video' : 'history.voice');
  const took = call.answeredAt && call.endedAt ? minutes(Date.parse(call.endedAt) - Date.parse(call.answeredAt)) : null;
  if (call.kind === 'group') {
    const joined = call.participants.some((p) => p.userId === me);
    const count = call.participants.length;
    if (!took)
      return {
        missed: call.callerId !== me,
        text: call.callerId === me ? t('history.groupNoAnswer', { media }) : t('history.groupMissed', { media }),
      };
    if (!joined) return { missed: true, text: t('history.groupMissedJoined', { media, count }) };
    return { missed: false, text: t('history.group', { media, duration: took, count }) };
  }
  const mine = call.callerId === me;
  switch (call.endReason) {
    case 'missed':
      return { missed: !mine, text: mine ? t('history.noAnswer', { media }) : t('history.missed', { media }) };
    case 'declined':
      return { missed: false, text: t('history.declined', { media }) };
    case 'busy':
      return { missed: !mine, text: mine ? t('history.busy', { media }) : t('history.missed', { media }) };
    default:
      if (!took) return { missed: false, text: t('history.failed', { media }) };
      return { missed: false, text: t(mine ? 'history.outgoing' : 'history.incoming', { media, duration: took }) };
  }
}

/** One call in the timeline. */
export function CallEntry({ call, me }: { call: Call; me: string }) {
  const { t } = useTranslation('calls');
  const { missed, text } = describeCall(call, me, (k, o) => t(k, o ?? {}));
  return (
    <div className={`call-entry${missed ? ' missed' : ''}`} data-call={call.id} data-end-reason={call.endReason ?? ''}>
      <span className="call-entry-pill">
        <Icon name={call.media === 'video' ? 'camera' : 'phone'} size={16} />
        <span>{text}</span>
        <time dateTime={call.createdAt} title={formatFull(call.createdAt)}>
          {formatTime(call.createdAt)}
        </time>
      </span>
    </div>
  );
}
