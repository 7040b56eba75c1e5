import { useEffect, useRef, useState } from 'react';
import { Avatar } from '../components/Avatar';
import { useCall, type CallStore } from './callStore';

function VideoOf({ stream, muted, label, className }: { stream: MediaStream | null; muted: boolean; label: string; className: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el && el.srcObject !== stream) {
      el.srcObject = stream;
      if (stream) void el.play().catch(() => {});
    }
  }, [stream]);
  return <video ref={ref} className={className} autoPlay playsInline muted={muted} aria-label={label} />;
}

function duration(ms: number) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function useNow(active: boolean) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

/** Incoming-call screen, the call view, and the message about how a call ended. */
export function CallLayer({ store }: { store: CallStore }) {
  const s = useCall(store, (x) => x);
  const now = useNow(s.phase === 'connected' || s.phase === 'reconnecting');
  const acceptRef = useRef<HTMLButtonElement>(null);
  const hangupRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (s.phase === 'incoming') acceptRef.current?.focus();
    else if (s.phase === 'outgoing' || s.phase === 'connecting') hangupRef.current?.focus();
  }, [s.phase]);

  if (s.phase === 'idle') {
    if (!s.notice) return null;
    return (
      <div className="call-notice" role="status">
        <span>{s.notice}</span>
        <button type="button" className="ghost small" onClick={() => store.dismissNotice()}>
          Dismiss
        </button>
      </div>
    );
  }

  const call = s.call;
  const video = call ? call.media === 'video' : true;
  const kind = video ? 'video call' : 'voice call';

  if (s.phase === 'incoming' && call) {
    return (
      <div className="call-overlay" role="alertdialog" aria-modal="true" aria-labelledby="incoming-title" aria-describedby="incoming-desc">
        <div className="incoming-card ringing">
          <Avatar name={s.peerName} seed={call.callerId} size={88} />
          <h2 id="incoming-title">{s.peerName}</h2>
          <p id="incoming-desc" className="muted">Incoming {kind}…</p>
          <div className="call-controls">
            <button type="button" className="call-btn decline" onClick={() => void store.decline()}>
              Decline
            </button>
            <button ref={acceptRef} type="button" className="call-btn accept" onClick={() => void store.accept()}>
              Accept
            </button>
          </div>
        </div>
      </div>
    );
  }

  const connected = s.phase === 'connected';
  const status =
    s.phase === 'outgoing'
      ? call
        ? 'Ringing…'
        : 'Calling…'
      : s.phase === 'connecting'
        ? 'Connecting…'
        : s.phase === 'reconnecting'
          ? 'Reconnecting…'
          : 'Connected';

  return (
    <div className="call-overlay" role="dialog" aria-modal="true" aria-label={`Call with ${s.peerName}`}>
      <div className={`call-view${video ? ' video' : ' voice'}`} data-connection={s.connection} data-phase={s.phase}>
        <div className="call-stage">
          {video && s.remoteStream ? (
            <VideoOf stream={s.remoteStream} muted={false} label={`Video from ${s.peerName}`} className="remote-video" />
          ) : (
            <>
              <Avatar name={s.peerName} seed={call?.callerId === store.me ? (call?.calleeId ?? '') : (call?.callerId ?? '')} size={112} />
              {/* Voice calls still play the remote audio. */}
              {s.remoteStream && <VideoOf stream={s.remoteStream} muted={false} label={`Audio from ${s.peerName}`} className="remote-audio" />}
            </>
          )}
          {video && (
            <VideoOf stream={s.localStream} muted label="Your camera" className={`local-video${s.cameraOff ? ' off' : ''}`} />
          )}
        </div>
        <div className="call-info">
          <h2>{s.peerName}</h2>
          {/* The phase is announced; the running duration is a timer, which is not (every second would be noise). */}
          <p className="call-status">
            <span role="status" className={connected ? 'visually-hidden' : undefined}>
              {status}
            </span>
            {connected && (
              <span role="timer" aria-label="Call duration">
                {duration(now - (s.connectedAt ?? now))}
              </span>
            )}
          </p>
        </div>
        <div className="call-controls">
          <button type="button" className="call-btn" aria-pressed={s.muted} onClick={() => store.toggleMute()}>
            Mute
          </button>
          {video && (
            <button type="button" className="call-btn" aria-pressed={s.cameraOff} onClick={() => store.toggleCamera()}>
              Camera off
            </button>
          )}
          <button ref={hangupRef} type="button" className="call-btn decline" onClick={() => void store.hangup()}>
            Hang up
          </button>
        </div>
      </div>
    </div>
  );
}
