import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Avatar } from '../components/Avatar';
import { DevicePanel } from './DevicePanel';
import { Icon } from './icons';
import { useCall, type CallState, type CallStore, type PeerView } from './callStore';
import './calls.css';

/** A <video> (always muted: sound plays through <PeerAudio>) showing a stream. */
function VideoOf({
  stream,
  label,
  className,
  mirror = false,
}: {
  stream: MediaStream | null;
  label: string;
  className: string;
  mirror?: boolean;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el && el.srcObject !== stream) {
      el.srcObject = stream;
      if (stream) void el.play().catch(() => {});
    }
  }, [stream]);
  return (
    <video
      ref={ref}
      className={`${className}${mirror ? ' mirror' : ''}`}
      autoPlay
      playsInline
      muted
      aria-label={label}
    />
  );
}

/** A peer's sound, on the chosen speaker where the browser can pick one (setSinkId). */
function PeerAudio({ stream, sinkId, label }: { stream: MediaStream | null; sinkId: string | null; label: string }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (el && el.srcObject !== stream) {
      el.srcObject = stream;
      if (stream) void el.play().catch(() => {});
    }
  }, [stream]);
  useEffect(() => {
    const el = ref.current as (HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> }) | null;
    if (el && sinkId && el.setSinkId) void el.setSinkId(sinkId).catch(() => {});
  }, [sinkId]);
  // biome-ignore lint/a11y/useMediaCaption: a live call: there is no caption track to give
  return <audio ref={ref} autoPlay aria-label={label} className="peer-audio" />;
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
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return now;
}

const hasVideo = (s: MediaStream | null) => Boolean(s?.getVideoTracks().some((tr) => tr.readyState === 'live'));

/** One person's tile: their video, or their avatar when the camera is off; their mute mark; the speaker highlight. */
function Tile({
  peer,
  video,
  speaking,
  compact,
}: {
  peer: PeerView;
  video: boolean;
  speaking: boolean;
  compact: boolean;
}) {
  const { t } = useTranslation('calls');
  const showVideo = video && !peer.cameraOff && hasVideo(peer.camera);
  const connecting = peer.connection !== 'connected';
  return (
    <div
      role="group"
      aria-label={peer.name}
      className={`tile${speaking ? ' speaking' : ''}${compact ? ' compact' : ''}`}
      data-user={peer.userId}
      data-muted={peer.muted}
      data-camera-off={peer.cameraOff}
    >
      {showVideo ? (
        <VideoOf
          stream={peer.camera}
          label={t('screen.videoFrom', { name: peer.name })}
          className="tile-video remote"
        />
      ) : (
        <div className="tile-avatar">
          <Avatar name={peer.name} seed={peer.userId} size={compact ? 44 : 88} />
        </div>
      )}
      <div className="tile-caption">
        <span className="tile-name">{peer.name}</span>
        {peer.muted && (
          <span className="tile-badge">
            <Icon name="micOff" />
            <span>{t('tile.muted')}</span>
          </span>
        )}
        {video && peer.cameraOff && (
          <span className="tile-badge">
            <Icon name="cameraOff" />
            <span>{t('tile.cameraOff')}</span>
          </span>
        )}
        {connecting && <span className="tile-badge">{t('tile.connecting')}</span>}
        {speaking && <span className="visually-hidden">{t('tile.speaking')}</span>}
      </div>
    </div>
  );
}

function SelfTile({ s, video, compact }: { s: CallState; video: boolean; compact: boolean }) {
  const { t } = useTranslation('calls');
  const showVideo = video && !s.cameraOff && hasVideo(s.localStream);
  return (
    <div role="group" aria-label={t('tile.you')} className={`tile self${compact ? ' compact' : ''}`}>
      {showVideo ? (
        <VideoOf stream={s.localStream} label={t('screen.yourCamera')} className="tile-video self-video" mirror />
      ) : (
        <div className="tile-avatar">
          <Avatar name={t('tile.you')} seed="self" size={compact ? 44 : 72} />
        </div>
      )}
      <div className="tile-caption">
        <span className="tile-name">{t('tile.you')}</span>
        {s.muted && (
          <span className="tile-badge">
            <Icon name="micOff" />
            <span>{t('tile.muted')}</span>
          </span>
        )}
      </div>
    </div>
  );
}

function QualityMark({ quality }: { quality: CallState['quality'] }) {
  const { t } = useTranslation('calls');
  if (quality === 'unknown') return null;
  const bars = quality === 'good' ? 3 : quality === 'fair' ? 2 : 1;
  return (
    <span
      className={`quality q-${quality}`}
      role="img"
      aria-label={t('quality.label', { quality: t(`quality.${quality}`) })}
      title={t(`quality.${quality}`)}
    >
      {[1, 2, 3].map((i) => (
        <span key={i} className={`bar${i <= bars ? ' on' : ''}`} />
      ))}
    </span>
  );
}

function Incoming({ store, s }: { store: CallStore; s: CallState }) {
  const { t } = useTranslation('calls');
  const acceptRef = useRef<HTMLButtonElement>(null);
  useEffect(() => acceptRef.current?.focus(), []);
  const call = s.call!;
  const video = call.media === 'video';
  const desc =
    call.kind === 'group'
      ? t(video ? 'incoming.groupVideo' : 'incoming.groupVoice', { title: s.groupTitle ?? '' })
      : t(video ? 'incoming.video' : 'incoming.voice');
  return (
    <div
      className="call-overlay"
      role="alertdialog"
      aria-modal="true"
      aria-labelledby="incoming-title"
      aria-describedby="incoming-desc"
    >
      <div className="incoming-card ringing">
        <Avatar name={s.peerName} seed={call.callerId} size={88} />
        <h2 id="incoming-title">{s.peerName}</h2>
        <p id="incoming-desc" className="muted">
          {desc}
        </p>
        <div className="call-controls">
          <button type="button" className="call-btn decline" onClick={() => void store.decline()}>
            <Icon name="hangup" />
            <span>{t('controls.decline')}</span>
          </button>
          <button ref={acceptRef} type="button" className="call-btn accept" onClick={() => void store.accept()}>
            <Icon name={video ? 'camera' : 'phone'} />
            <span>{t('controls.accept')}</span>
          </button>
        </div>
      </div>
    </div>
  );
}

/** Incoming-call screen, the call screen (full, or docked while chatting), and the message about how a call ended. */
export function CallLayer({ store }: { store: CallStore }) {
  const { t } = useTranslation('calls');
  const s = useCall(store, (x) => x);
  const now = useNow(s.phase === 'connected' || s.phase === 'reconnecting');
  const hangupRef = useRef<HTMLButtonElement>(null);
  const viewRef = useRef<HTMLDivElement>(null);
  const [devicesOpen, setDevicesOpen] = useState(false);

  useEffect(() => {
    if (s.phase === 'outgoing' || s.phase === 'connecting') hangupRef.current?.focus();
  }, [s.phase]);
  useEffect(() => {
    if (s.phase === 'idle') setDevicesOpen(false);
  }, [s.phase]);

  if (s.phase === 'idle') {
    if (!s.notice) return null;
    return (
      <div className="call-notice" role="status">
        <span>{s.notice}</span>
        <button type="button" className="ghost small" onClick={() => store.dismissNotice()}>
          {t('common:dismiss')}
        </button>
      </div>
    );
  }
  if (s.phase === 'incoming' && s.call) return <Incoming store={store} s={s} />;

  const call = s.call;
  const group = call?.kind === 'group' || s.groupTitle !== null;
  const video = call ? call.media === 'video' : true;
  const name = group ? (s.groupTitle ?? '') : s.peerName;
  const connected = s.phase === 'connected';
  const alone = group && connected && s.peers.length === 0;
  const status =
    s.phase === 'outgoing'
      ? s.ringing
        ? t('status.ringing')
        : t('status.calling')
      : s.phase === 'connecting'
        ? t('status.connecting')
        : s.phase === 'reconnecting'
          ? t('status.reconnecting')
          : alone
            ? t('status.waiting')
            : t('status.connected');
  const sharer = s.peers.find((p) => p.screen);
  const pipAvailable = typeof document !== 'undefined' && document.pictureInPictureEnabled;
  const pip = () => {
    const el = viewRef.current?.querySelector<HTMLVideoElement>('video.screen-video, video.remote');
    if (!el) return;
    if (document.pictureInPictureElement) void document.exitPictureInPicture().catch(() => {});
    else void el.requestPictureInPicture().catch(() => {});
  };
  const docked = s.docked;

  return (
    <div
      className={`call-overlay call-screen${docked ? ' docked' : ''}`}
      role="dialog"
      // Docked, the call sits beside the chat, which stays usable: not modal then.
      aria-modal={docked ? undefined : true}
      aria-label={t('screen.label', { name })}
    >
      <div
        ref={viewRef}
        className={`call-view${video ? ' video' : ' voice'}${group ? ' group' : ''}`}
        data-connection={s.connection}
        data-phase={s.phase}
        data-quality={s.quality}
      >
        <div className="call-top">
          <div className="call-info">
            <h2>{name}</h2>
            {/* The phase is announced; the running duration is a timer, which is not (every second would be noise). */}
            <p className="call-status">
              <span role="status" className={connected && !alone ? 'visually-hidden' : undefined}>
                {status}
              </span>
              {connected && (
                <span role="timer" aria-label={t('screen.duration')}>
                  {duration(now - (s.connectedAt ?? now))}
                </span>
              )}
              {connected && <QualityMark quality={s.quality} />}
            </p>
          </div>
          <div className="call-top-actions">
            {pipAvailable && video && !docked && (
              <button
                type="button"
                className="call-icon-btn"
                onClick={pip}
                aria-label={t('controls.pip')}
                title={t('controls.pip')}
              >
                <Icon name="pip" />
              </button>
            )}
            <button
              type="button"
              className="call-icon-btn"
              onClick={() => store.setDocked(!docked)}
              aria-label={docked ? t('controls.expand') : t('controls.minimise')}
              title={docked ? t('controls.expand') : t('controls.minimise')}
            >
              <Icon name={docked ? 'expand' : 'minimise'} />
            </button>
          </div>
        </div>

        <div className={`call-stage${sharer ? ' sharing' : ''}`} data-count={s.peers.length + 1}>
          {sharer && (
            <div className="screen-share">
              <VideoOf
                stream={sharer.screen}
                label={t('screen.screenFrom', { name: sharer.name })}
                className="screen-video"
              />
            </div>
          )}
          {(!docked || !sharer) && (
            <div className={`tiles${sharer || docked ? ' strip' : ''}`}>
              {s.peers.map((p) => (
                <Tile
                  key={p.userId}
                  peer={p}
                  video={video}
                  speaking={group && s.speaker === p.userId}
                  compact={Boolean(sharer) || docked}
                />
              ))}
              {(!docked || s.peers.length === 0) && (
                <SelfTile s={s} video={video} compact={Boolean(sharer) || docked || s.peers.length > 0} />
              )}
            </div>
          )}
          {s.peers.map((p) => (
            <PeerAudio
              key={p.userId}
              stream={p.camera}
              sinkId={s.selected.audiooutput}
              label={t('screen.audioFrom', { name: p.name })}
            />
          ))}
        </div>

        <div className="call-controls">
          <button type="button" className="call-btn" aria-pressed={s.muted} onClick={() => store.toggleMute()}>
            <Icon name={s.muted ? 'micOff' : 'mic'} />
            <span>{t('controls.mute')}</span>
          </button>
          {video && (
            <button type="button" className="call-btn" aria-pressed={s.cameraOff} onClick={() => store.toggleCamera()}>
              <Icon name={s.cameraOff ? 'cameraOff' : 'camera'} />
              <span>{t('controls.cameraOff')}</span>
            </button>
          )}
          {!docked && typeof navigator.mediaDevices?.getDisplayMedia === 'function' && (
            <button
              type="button"
              className="call-btn"
              aria-pressed={Boolean(s.screenStream)}
              onClick={() => void store.toggleScreen()}
            >
              <Icon name="screen" />
              <span>{t('controls.share')}</span>
            </button>
          )}
          {!docked && (
            <button
              type="button"
              className="call-btn"
              aria-expanded={devicesOpen}
              aria-controls="call-devices"
              onClick={() => {
                if (!devicesOpen) void store.loadDevices();
                setDevicesOpen(!devicesOpen);
              }}
            >
              <Icon name="settings" />
              <span>{t('controls.devices')}</span>
            </button>
          )}
          <button ref={hangupRef} type="button" className="call-btn decline" onClick={() => void store.hangup()}>
            <Icon name="hangup" />
            <span>{t('controls.hangup')}</span>
          </button>
        </div>
        {devicesOpen && !docked && (
          <DevicePanel store={store} s={s} video={video} onClose={() => setDevicesOpen(false)} />
        )}
      </div>
    </div>
  );
}
