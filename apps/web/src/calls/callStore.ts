import { useSyncExternalStore } from 'react';
import { humanError } from '../errors';
import { i18n } from '../i18n';
import { parley, recheckSession, type RouterOutputs } from '../trpc';
import { callHistoryFor, type CallHistory } from './history';
import { Peer, type Quality, type Signal } from './peer';

export type Call = RouterOutputs['calls']['start'];
export type CallMedia = Call['media'];
type CallEvent = RouterOutputs['calls']['onEvent'] extends AsyncIterable<infer T> ? T : never;

export type CallPhase = 'idle' | 'outgoing' | 'incoming' | 'connecting' | 'connected' | 'reconnecting';

/** One other person in the call, as the screen shows them. */
export interface PeerView {
  userId: string;
  name: string;
  camera: MediaStream | null;
  screen: MediaStream | null;
  connection: string;
  muted: boolean;
  cameraOff: boolean;
  level: number;
  quality: Quality;
}

export interface Devices {
  audioinput: MediaDeviceInfo[];
  videoinput: MediaDeviceInfo[];
  audiooutput: MediaDeviceInfo[];
}

export interface CallState {
  phase: CallPhase;
  call: Call | null;
  /** Display name of the other person (1:1), or of the caller while a group call rings. */
  peerName: string;
  /** The group's title in a group call. */
  groupTitle: string | null;
  localStream: MediaStream | null;
  screenStream: MediaStream | null;
  muted: boolean;
  cameraOff: boolean;
  /** Everyone else in the call, in the order they came. */
  peers: PeerView[];
  connectedAt: number | null;
  /** A message about how the last call ended (declined, missed, busy, failed). */
  notice: string | null;
  /** The call's connection state (1:1: the peer connection's; group: connected if any is), for tests and the status line. */
  connection: string;
  /** Some device of the person called has the call ("Ringing…" rather than "Calling…"). */
  ringing: boolean;
  /** Who speaks loudest now (user id), for the highlight. */
  speaker: string | null;
  /** The worst network quality among the peer connections. */
  quality: Quality;
  /** Minimised to a small panel while chatting. */
  docked: boolean;
  devices: Devices;
  selected: { audioinput: string | null; videoinput: string | null; audiooutput: string | null };
}

const NO_DEVICES: Devices = { audioinput: [], videoinput: [], audiooutput: [] };
const IDLE: Omit<CallState, 'notice' | 'devices' | 'selected' | 'docked'> = {
  phase: 'idle',
  call: null,
  peerName: '',
  groupTitle: null,
  localStream: null,
  screenStream: null,
  muted: false,
  cameraOff: false,
  peers: [],
  connectedAt: null,
  connection: 'new',
  ringing: false,
  speaker: null,
  quality: 'unknown',
};

const testSwitches = new URLSearchParams(window.location.search);
/** A test-only switch: `?relay=1` at page load forces every call through TURN. */
const FORCE_RELAY = testSwitches.get('relay') === '1';
/**
 * How long a call may go without a media path (connecting, or reconnecting after a drop) before
 * it ends as failed; `?lostAfterMs=` at page load shortens it for tests.
 */
const LOST_AFTER_MS = Number(testSwitches.get('lostAfterMs')) || 30_000;
/** A group call rings this long on a member's devices (the server's ring time); then "Join" stays in the chat. */
const GROUP_RING_MS = 45_000;

const t = (key: string, opts: Record<string, unknown> = {}) => i18n.t(`calls:${key}`, opts);

function errorCode(err: unknown): string | undefined {
  return (err as { data?: { code?: string } }).data?.code;
}
function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One call at a time: rings on incoming calls (on every open device; stops when one answers),
 * places and joins calls, and runs one peer connection per other participant (a mesh), with ICE
 * servers from `calls.iceServers`, ICE restarts and credential renewal on each. Whoever joins
 * sends the offers to those already in the call; signals go to one participant's device.
 */
export class CallStore {
  private state: CallState = {
    ...IDLE,
    notice: null,
    docked: false,
    devices: NO_DEVICES,
    selected: { audioinput: null, videoinput: null, audiooutput: null },
  };
  private listeners = new Set<() => void>();
  private sub: { unsubscribe(): void } | null = null;
  private peers = new Map<string, Peer>();
  /** Peers being created (their ICE servers are fetched first); signals wait for them. */
  private creating = new Map<string, Promise<Peer | null>>();
  /** People in the call whose offer has not come yet (shown as connecting). */
  private expected = new Set<string>();
  private stopped = true;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  private ringTimer: ReturnType<typeof setTimeout> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Renews TURN credentials (and restarts ICE with them) before they expire. */
  private credentialTimer: ReturnType<typeof setTimeout> | undefined;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private statsTick = 0;
  readonly history: CallHistory;
  /** Who is on the other end, by user id → name; filled by the UI. */
  names: (userId: string) => string | null = () => null;
  /** A conversation's title; filled by the UI. */
  titles: (conversationId: string) => string | null = () => null;

  constructor(readonly me: string) {
    this.history = callHistoryFor(me);
  }

  getState = () => this.state;
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  private set(patch: Partial<CallState>) {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscribeEvents();
    navigator.mediaDevices?.addEventListener?.('devicechange', this.loadDevices);
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.sub?.unsubscribe();
    this.sub = null;
    navigator.mediaDevices?.removeEventListener?.('devicechange', this.loadDevices);
    if (this.state.call && this.state.phase !== 'idle' && this.state.phase !== 'incoming') void this.hangup();
    this.teardown();
  }

  private subscribeEvents() {
    this.sub?.unsubscribe();
    this.sub = parley.api.calls.onEvent.subscribe(undefined, {
      onData: (e) => void this.onEvent(e),
      onError: (err) => {
        if (errorCode(err) !== 'UNAUTHORIZED') this.scheduleResubscribe();
        else void recheckSession().then((renewed) => renewed && this.scheduleResubscribe());
      },
      onComplete: () => this.scheduleResubscribe(),
    });
  }
  private scheduleResubscribe() {
    if (this.stopped) return;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => !this.stopped && this.subscribeEvents(), 1_000);
  }

  private isCurrent(callId: string) {
    return this.state.call?.id === callId && this.state.phase !== 'idle';
  }
  /** In the call on this device (not merely ringing). */
  private inCall(callId: string) {
    return this.isCurrent(callId) && this.state.phase !== 'incoming';
  }
  private nameOf(userId: string) {
    return this.names(userId) ?? i18n.t('common:someone');
  }

  private async onEvent(e: CallEvent) {
    if (e.type === 'signal') {
      if (this.inCall(e.callId)) void this.onSignal(e.fromUserId, e.signal);
      return;
    }
    if (e.type === 'call.ringing') {
      if (this.isCurrent(e.callId) && this.state.phase === 'outgoing') this.set({ ringing: true });
      return;
    }
    const call = e.call;
    this.history.put(call);
    if (call.kind === 'group') return this.onGroupEvent(e);
    const peerId = (call.callerId === this.me ? call.calleeId : call.callerId) ?? '';
    switch (e.type) {
      case 'call.incoming': {
        if (call.calleeId !== this.me || call.state !== 'ringing') return;
        if (this.state.phase !== 'idle') return; // busy here; the server answers busy to new calls
        this.ring(call, peerId, null);
        return;
      }
      case 'call.accepted':
        if (!this.isCurrent(call.id)) return;
        if (this.state.phase === 'incoming') {
          // Answered on another device: stop ringing here.
          this.finish(t('notice.answeredElsewhere'));
        } else if (this.state.phase === 'outgoing' && call.callerId === this.me) {
          // The callee sends the offer.
          this.expected.add(peerId);
          this.set({ call, phase: 'connecting' });
          this.refreshPeers();
          // If the callee's offer never comes (their page closed), the call fails like a lost path.
          clearTimeout(this.connectTimer);
          this.connectTimer = setTimeout(() => {
            if (this.inCall(call.id) && this.peers.size === 0) void this.fail(new Error('no offer'));
          }, LOST_AFTER_MS);
        }
        return;
      case 'call.declined':
        if (!this.isCurrent(call.id)) return;
        this.finish(call.callerId === this.me ? t('notice.declined', { name: this.state.peerName }) : null);
        return;
      case 'call.ended': {
        if (!this.isCurrent(call.id)) return;
        const who = this.state.peerName;
        const mine = call.callerId === this.me;
        const notice =
          call.endReason === 'missed'
            ? mine
              ? t('notice.noAnswer', { name: who })
              : t('notice.missedFrom', { name: who })
            : call.endReason === 'busy'
              ? t('notice.busy', { name: who })
              : call.endReason === 'failed'
                ? t('notice.failed')
                : call.endReason === 'declined'
                  ? mine
                    ? t('notice.declined', { name: who })
                    : null
                  : this.state.phase === 'incoming'
                    ? t('notice.missedFrom', { name: who })
                    : t('notice.ended');
        this.finish(notice);
        return;
      }
      default:
        return;
    }
  }

  private onGroupEvent(e: Exclude<CallEvent, { type: 'signal' | 'call.ringing' }>) {
    const call = e.call;
    switch (e.type) {
      case 'call.incoming':
        if (this.state.phase !== 'idle' || call.callerId === this.me) return;
        this.ring(call, call.callerId, this.titles(call.conversationId));
        clearTimeout(this.ringTimer);
        // Rings for the ring time; the chat keeps offering "Join" while the call lasts.
        this.ringTimer = setTimeout(
          () => this.isCurrent(call.id) && this.state.phase === 'incoming' && this.finish(null),
          GROUP_RING_MS,
        );
        return;
      case 'call.joined':
        if (!this.isCurrent(call.id)) return;
        if (this.state.phase === 'incoming') {
          if (e.userId === this.me) this.finish(t('notice.answeredElsewhere'));
          else this.set({ call });
          return;
        }
        if (e.userId !== this.me && !this.peers.has(e.userId)) this.expected.add(e.userId);
        if (e.userId !== this.me && this.state.phase === 'outgoing') this.set({ phase: 'connecting' });
        this.set({ call });
        this.refreshPeers();
        return;
      case 'call.left':
        if (!this.isCurrent(call.id)) return;
        this.set({ call });
        if (e.userId !== this.me) this.dropPeer(e.userId);
        return;
      case 'call.declined':
        // Declined on another of my devices.
        if (this.isCurrent(call.id) && this.state.phase === 'incoming') this.finish(null);
        return;
      case 'call.ended':
        if (!this.isCurrent(call.id)) return;
        this.finish(
          this.state.phase === 'incoming'
            ? t('notice.missedGroup', { name: this.state.groupTitle ?? '' })
            : t('notice.ended'),
        );
        return;
      default:
        return;
    }
  }

  /** Shows the incoming call and tells the caller that this device rings. */
  private ring(call: Call, callerId: string, groupTitle: string | null) {
    const known = this.names(callerId);
    this.set({
      ...IDLE,
      phase: 'incoming',
      call,
      peerName: known ?? i18n.t('common:someone'),
      groupTitle,
      notice: null,
      docked: false,
    });
    void parley.api.calls.ringing.mutate({ callId: call.id }).catch(() => {});
    // A caller whose conversation has not reached this device yet: ask who it is.
    if (!known)
      void parley.api.users.byId
        .query({ id: callerId })
        .then((u) => this.isCurrent(call.id) && this.set({ peerName: u.displayName }))
        .catch(() => {});
  }

  // ---- actions ----
  /** Calls the other person of a direct chat, or rings a group (joining its call if one is on). */
  async startCall(conversationId: string, media: CallMedia, title: string, group = false) {
    if (this.state.phase !== 'idle') return;
    this.set({
      ...IDLE,
      phase: 'outgoing',
      peerName: title,
      groupTitle: group ? title : null,
      notice: null,
      docked: false,
    });
    let stream: MediaStream;
    try {
      stream = await this.getMedia(media);
    } catch (err) {
      this.finish(mediaError(err, media));
      return;
    }
    this.set({ localStream: stream });
    try {
      const call = await parley.api.calls.start.mutate({ conversationId, media });
      if ((this.state.phase as CallPhase) !== 'outgoing' || this.state.call) {
        // Hung up while the call was being placed: end it, or it would ring on.
        void parley.api.calls.hangup.mutate({ callId: call.id }).catch(() => {});
        return;
      }
      this.history.put(call);
      this.set({ call });
      // A group call already going on: this was a join, so send offers to those in it.
      if (call.kind === 'group' && this.othersIn(call).length > 0) await this.connectTo(call);
    } catch (err) {
      this.finish(
        errorCode(err) === 'CONFLICT'
          ? /already in a call/i.test(errorMessage(err))
            ? t('notice.alreadyInCall')
            : t('notice.busy', { name: title })
          : t('notice.startFailed', { error: humanError(err) }),
      );
    }
  }

  async accept() {
    const call = this.state.call;
    if (!call || this.state.phase !== 'incoming') return;
    clearTimeout(this.ringTimer);
    await this.enter(call, () => parley.api.calls.accept.mutate({ callId: call.id }));
  }

  /** Joins a group call that is going on (from the chat's "Join" banner). */
  async join(call: Call, title: string) {
    if (this.state.phase !== 'idle' && !(this.state.phase === 'incoming' && this.state.call?.id === call.id)) return;
    clearTimeout(this.ringTimer);
    this.set({ ...IDLE, phase: 'connecting', call, peerName: title, groupTitle: title, notice: null, docked: false });
    await this.enter(call, () => parley.api.calls.join.mutate({ callId: call.id }));
  }

  private async enter(call: Call, answer: () => Promise<Call>) {
    this.set({ phase: 'connecting' });
    let stream: MediaStream;
    try {
      stream = await this.getMedia(call.media);
    } catch (err) {
      if (call.kind === 'direct') void parley.api.calls.decline.mutate({ callId: call.id }).catch(() => {});
      this.finish(mediaError(err, call.media));
      return;
    }
    this.set({ localStream: stream });
    try {
      const accepted = await answer();
      if (!this.isCurrent(call.id)) return;
      this.history.put(accepted);
      this.set({ call: accepted });
      await this.connectTo(accepted);
    } catch (err) {
      this.finish(
        errorCode(err) === 'CONFLICT'
          ? call.kind === 'group'
            ? errorMessage(err)
            : t('notice.answeredOrEnded')
          : t('notice.answerFailed', { error: humanError(err) }),
      );
    }
  }

  async decline() {
    const call = this.state.call;
    if (!call) return;
    this.finish(null);
    await parley.api.calls.decline.mutate({ callId: call.id }).catch(() => {});
  }

  async hangup() {
    const call = this.state.call;
    this.finish(null);
    if (call) await parley.api.calls.hangup.mutate({ callId: call.id }).catch(() => {});
  }

  toggleMute() {
    const muted = !this.state.muted;
    for (const tr of this.state.localStream?.getAudioTracks() ?? []) tr.enabled = !muted;
    this.set({ muted });
    this.broadcastState();
  }
  toggleCamera() {
    const cameraOff = !this.state.cameraOff;
    for (const tr of this.state.localStream?.getVideoTracks() ?? []) tr.enabled = !cameraOff;
    this.set({ cameraOff });
    this.broadcastState();
  }

  /** Shares a screen (a track added to every peer connection, renegotiated), or stops sharing. */
  async toggleScreen() {
    if (this.state.screenStream) return this.stopScreen();
    let screen: MediaStream;
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (err) {
      if ((err as { name?: string }).name !== 'NotAllowedError') this.flash(t('notice.shareFailed'));
      return;
    }
    if (!this.state.call || this.state.phase === 'idle') {
      for (const tr of screen.getTracks()) tr.stop();
      return;
    }
    // The browser's own "Stop sharing" button.
    screen
      .getVideoTracks()[0]
      ?.addEventListener('ended', () => this.state.screenStream === screen && this.stopScreen());
    this.set({ screenStream: screen });
    for (const p of this.peers.values()) p.addScreen(screen);
    this.broadcastState();
  }
  private stopScreen() {
    const screen = this.state.screenStream;
    if (!screen) return;
    for (const p of this.peers.values()) p.removeScreen();
    for (const tr of screen.getTracks()) tr.stop();
    this.set({ screenStream: null });
    this.broadcastState();
  }

  setDocked(docked: boolean) {
    this.set({ docked });
  }
  dismissNotice() {
    clearTimeout(this.noticeTimer);
    this.set({ notice: null });
  }

  loadDevices = async () => {
    const list = (await navigator.mediaDevices?.enumerateDevices?.().catch(() => [])) ?? [];
    const devices: Devices = { audioinput: [], videoinput: [], audiooutput: [] };
    for (const d of list) if (d.deviceId && d.kind in devices) devices[d.kind].push(d);
    const trackDevice = (kind: 'audio' | 'video') => {
      const tr =
        kind === 'audio' ? this.state.localStream?.getAudioTracks()[0] : this.state.localStream?.getVideoTracks()[0];
      return tr?.getSettings().deviceId ?? null;
    };
    this.set({
      devices,
      selected: {
        audioinput: this.state.selected.audioinput ?? trackDevice('audio'),
        videoinput: this.state.selected.videoinput ?? trackDevice('video'),
        audiooutput: this.state.selected.audiooutput,
      },
    });
  };

  /** Another microphone or camera (its track replaces the old one on every connection), or speaker. */
  async selectDevice(kind: keyof Devices, deviceId: string) {
    this.set({ selected: { ...this.state.selected, [kind]: deviceId } });
    const local = this.state.localStream;
    if (kind === 'audiooutput' || !local) return;
    try {
      const fresh = await navigator.mediaDevices.getUserMedia(
        kind === 'audioinput'
          ? { audio: { deviceId: { exact: deviceId } } }
          : { video: { deviceId: { exact: deviceId } } },
      );
      const track = fresh.getTracks()[0]!;
      const old = kind === 'audioinput' ? local.getAudioTracks()[0] : local.getVideoTracks()[0];
      track.enabled = kind === 'audioinput' ? !this.state.muted : !this.state.cameraOff;
      for (const p of this.peers.values()) p.replaceTrack(track);
      if (old) {
        local.removeTrack(old);
        old.stop();
      }
      local.addTrack(track);
      this.set({ localStream: new MediaStream(local.getTracks()) });
    } catch (err) {
      this.flash(mediaError(err, kind === 'audioinput' ? 'audio' : 'video'));
    }
  }

  // ---- WebRTC ----
  private getMedia(media: CallMedia) {
    const { audioinput, videoinput } = this.state.selected;
    return navigator.mediaDevices.getUserMedia({
      audio: audioinput ? { deviceId: audioinput } : true,
      video: media === 'video' ? (videoinput ? { deviceId: videoinput } : true) : false,
    });
  }

  private rtcConfig = async (): Promise<RTCConfiguration> => {
    const { iceServers, ttlSeconds } = await parley.api.calls.iceServers.query();
    this.scheduleCredentialRenewal(iceServers.some((s) => s.credential) ? ttlSeconds : null);
    return { iceServers, ...(FORCE_RELAY ? { iceTransportPolicy: 'relay' as const } : {}) };
  };

  /**
   * coturn checks the credential's expiry on every refresh of an allocation, so a call that
   * outlives it would lose its relay. Shortly before that, every peer connection restarts ICE
   * with fresh credentials (its impolite side offers; the other takes fresh ones with the offer).
   */
  private scheduleCredentialRenewal(ttlSeconds: number | null) {
    clearTimeout(this.credentialTimer);
    if (ttlSeconds === null) return;
    const renewInMs = Math.max(ttlSeconds * 1000 - Math.min(60_000, ttlSeconds * 200), 10_000);
    this.credentialTimer = setTimeout(() => {
      for (const p of this.peers.values()) void p.restartIce(true);
    }, renewInMs);
  }

  private othersIn(call: Call) {
    return call.participants.filter((p) => p.leftAt === null && p.userId !== this.me).map((p) => p.userId);
  }

  /** Joined: offers to everyone already in the call. */
  private async connectTo(call: Call) {
    for (const userId of this.othersIn(call)) void this.peerFor(userId);
  }

  private peerFor(userId: string): Promise<Peer | null> {
    const existing = this.peers.get(userId);
    if (existing) return Promise.resolve(existing);
    const pending = this.creating.get(userId);
    if (pending) return pending;
    const created = (async () => {
      const call = this.state.call;
      const local = this.state.localStream;
      if (!call || !local) return null;
      const config = await this.rtcConfig();
      if (!this.inCall(call.id) || this.peers.has(userId)) return this.peers.get(userId) ?? null;
      const peer = new Peer(
        userId,
        this.me > userId,
        config,
        local,
        this.state.screenStream,
        {
          send: (signal) => this.send(call.id, userId, signal),
          changed: () => this.refreshPeers(),
          rtcConfig: this.rtcConfig,
          lost: () => this.onPeerLost(call, userId),
        },
        LOST_AFTER_MS,
      );
      this.peers.set(userId, peer);
      this.expected.delete(userId);
      this.startStats();
      // So the other side shows my microphone and camera state from the start.
      this.sendState(call.id, userId);
      this.refreshPeers();
      return peer;
    })().finally(() => this.creating.delete(userId));
    this.creating.set(userId, created);
    return created;
  }

  private async onSignal(fromUserId: string, signal: Signal) {
    const peer = await this.peerFor(fromUserId);
    peer?.receive(signal);
  }

  private send(callId: string, toUserId: string, signal: Signal) {
    void parley.api.calls.signal.mutate({ callId, toUserId, signal }).catch((err: unknown) => {
      if (signal.type !== 'ice' && signal.type !== 'state') console.warn('Signal not sent', err);
    });
  }

  private mediaState(): Signal {
    return {
      type: 'state',
      muted: this.state.muted,
      cameraOff: this.state.cameraOff,
      screen: Boolean(this.state.screenStream),
    };
  }
  private sendState(callId: string, userId: string) {
    this.send(callId, userId, this.mediaState());
  }
  private broadcastState() {
    const call = this.state.call;
    if (!call || !this.inCall(call.id)) return;
    for (const userId of this.peers.keys()) this.sendState(call.id, userId);
  }

  private onPeerLost(call: Call, userId: string) {
    if (!this.inCall(call.id)) return;
    // A 1:1 call without its one connection is over; a group call goes on without that person.
    if (call.kind === 'direct') void this.fail(new Error('no media path'));
    else this.dropPeer(userId);
  }

  private dropPeer(userId: string) {
    this.peers.get(userId)?.close();
    this.peers.delete(userId);
    this.expected.delete(userId);
    this.refreshPeers();
  }

  /** Rebuilds what the screen shows of the peers, and the call's phase from their connections. */
  private refreshPeers() {
    const call = this.state.call;
    if (!call || !this.inCall(call.id)) return;
    const order = call.participants.map((p) => p.userId);
    const ids = [...new Set([...this.peers.keys(), ...this.expected])].sort(
      (a, b) => order.indexOf(a) - order.indexOf(b),
    );
    const views: PeerView[] = ids.map((userId) => {
      const p = this.peers.get(userId);
      const media = p?.media() ?? { camera: null, screen: null };
      return {
        userId,
        name: this.nameOf(userId),
        camera: media.camera,
        screen: media.screen,
        connection: p?.connection ?? 'new',
        muted: p?.remote.muted ?? false,
        cameraOff: p?.remote.cameraOff ?? false,
        level: p?.level ?? 0,
        quality: p?.quality ?? 'unknown',
      };
    });
    const states = views.map((v) => v.connection);
    const anyConnected = states.includes('connected');
    const connection = anyConnected
      ? 'connected'
      : (states.find((s) => s !== 'new') ?? (states.length ? 'new' : this.state.connection));
    const patch: Partial<CallState> = { peers: views, connection };
    const phase = this.state.phase;
    if (anyConnected) {
      if (phase !== 'connected') patch.phase = 'connected';
      patch.connectedAt = this.state.connectedAt ?? Date.now();
    } else if (
      phase === 'connected' &&
      views.some((v) => v.connection === 'disconnected' || v.connection === 'failed')
    ) {
      patch.phase = 'reconnecting';
    } else if (phase === 'connected' && views.length === 0 && call.kind === 'group') {
      // Everyone else left: still in the call, waiting for someone.
      patch.connection = 'new';
    }
    this.set(patch);
  }

  /** Audio levels (active speaker) often, network quality now and then. */
  private startStats() {
    if (this.statsTimer) return;
    this.statsTimer = setInterval(() => void this.sampleStats(), 400);
  }
  private async sampleStats() {
    const peers = [...this.peers.values()];
    let speaker: string | null = null;
    let loudest = 0.02; // below this, nobody is speaking
    for (const p of peers) {
      const level = p.sampleLevel();
      if (level > loudest) {
        loudest = level;
        speaker = p.userId;
      }
    }
    let quality = this.state.quality;
    if (++this.statsTick % 5 === 0) {
      const all = await Promise.all(peers.map((p) => p.sampleQuality().catch((): Quality => 'unknown')));
      const rank: Quality[] = ['poor', 'fair', 'good', 'unknown'];
      quality = all.sort((a, b) => rank.indexOf(a) - rank.indexOf(b))[0] ?? 'unknown';
    }
    // Keep the last speaker highlighted through short pauses.
    const nextSpeaker = speaker ?? this.state.speaker;
    const levelsChanged = this.state.peers.some(
      (v) => Math.abs(v.level - (this.peers.get(v.userId)?.level ?? 0)) > 0.05,
    );
    if (nextSpeaker !== this.state.speaker || quality !== this.state.quality || levelsChanged) {
      this.set({ speaker: nextSpeaker, quality });
      this.refreshPeers();
    }
  }

  private async fail(err: unknown) {
    console.warn('Call failed', err);
    const call = this.state.call;
    this.finish(t('notice.failed'));
    if (call) await parley.api.calls.hangup.mutate({ callId: call.id }).catch(() => {});
  }

  private teardown() {
    clearTimeout(this.credentialTimer);
    clearTimeout(this.ringTimer);
    clearTimeout(this.connectTimer);
    clearInterval(this.statsTimer);
    this.statsTimer = undefined;
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    this.creating.clear();
    this.expected.clear();
    for (const tr of this.state.localStream?.getTracks() ?? []) tr.stop();
    for (const tr of this.state.screenStream?.getTracks() ?? []) tr.stop();
  }

  private finish(notice: string | null) {
    this.teardown();
    this.set({ ...IDLE, notice });
    this.flash(notice);
  }
  private flash(notice: string | null) {
    clearTimeout(this.noticeTimer);
    if (notice !== this.state.notice) this.set({ notice });
    if (notice) this.noticeTimer = setTimeout(() => this.set({ notice: null }), 10_000);
  }
}

function mediaError(err: unknown, media: CallMedia) {
  const name = (err as { name?: string }).name;
  const what = t(media === 'video' ? 'media.cameraAndMic' : 'media.mic');
  if (name === 'NotAllowedError') return t('media.denied', { what });
  if (name === 'NotFoundError') return t('media.notFound', { what });
  return t('media.failed', { what });
}

let current: CallStore | null = null;
export function callStoreFor(me: string) {
  if (current?.me !== me) {
    current?.stop();
    current = new CallStore(me);
  }
  return current;
}

export function useCall<T>(store: CallStore, select: (s: CallState) => T): T {
  return useSyncExternalStore(store.subscribe, () => select(store.getState()));
}
