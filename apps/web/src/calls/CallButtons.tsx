import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { RouterOutputs } from '../trpc';
import { useCall, type CallStore } from './callStore';
import { useCallHistory } from './history';
import { Icon } from './icons';

type Conversation = RouterOutputs['conversations']['byId'];

/** The chat header's voice and video call buttons, for direct chats and groups alike. */
export function CallButtons({ calls, c, title }: { calls: CallStore; c: Conversation; title: string }) {
  const { t } = useTranslation('calls');
  const inCall = useCall(calls, (s) => s.phase !== 'idle');
  const group = c.kind === 'group';
  if (c.members.length < 2) return null;
  return (
    <div className="call-buttons">
      <button
        type="button"
        className="icon-button"
        aria-label={t('start.voiceWith', { title })}
        title={t('start.voice')}
        disabled={inCall}
        onClick={() => void calls.startCall(c.id, 'audio', title, group)}
      >
        <Icon name="phone" />
      </button>
      <button
        type="button"
        className="icon-button"
        aria-label={t('start.videoWith', { title })}
        title={t('start.video')}
        disabled={inCall}
        onClick={() => void calls.startCall(c.id, 'video', title, group)}
      >
        <Icon name="camera" />
      </button>
    </div>
  );
}

/**
 * Loads the conversation's calls for its timeline, and says when a group call is going on that
 * this device is not in, with a button to join it.
 */
export function OngoingCall({ calls, c, title }: { calls: CallStore; c: Conversation; title: string }) {
  const { t } = useTranslation('calls');
  const history = useCallHistory(calls.history, c.id);
  const current = useCall(calls, (s) => (s.phase === 'idle' ? null : (s.call?.id ?? 'placing')));
  useEffect(() => void calls.history.load(c.id), [calls, c.id]);
  const live = c.kind === 'group' ? history.find((x) => x.kind === 'group' && x.state !== 'ended') : undefined;
  if (!live || current === live.id) return null;
  const count = live.participants.filter((p) => p.leftAt === null).length;
  return (
    <div className="ongoing-call" role="region" aria-label={t('ongoing.label')}>
      <Icon name="group" />
      <span>{t(live.media === 'video' ? 'ongoing.video' : 'ongoing.voice', { count })}</span>
      <button
        type="button"
        className="primary small-btn"
        disabled={current !== null}
        onClick={() => void calls.join(live, title)}
      >
        {t('ongoing.join')}
      </button>
    </div>
  );
}
