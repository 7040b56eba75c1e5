import { useSyncExternalStore } from 'react';
import { humanError } from '../errors';
import { parley, recheckSession, type RouterInputs, type RouterOutputs } from '../trpc';

export type Call = RouterOutputs['calls']['start'];
export type CallMedia = Call['media'];
type Signal = RouterInputs['calls']['signal']['signal'];
type CallEvent = RouterOutputs['calls']['onEvent'] extends AsyncIterable<infer T> ? T : never;

export type CallPhase = 'idle' | 'outgoing' | 'incoming' | 'connecting' | 'connected' | 'reconnecting';

export interface CallState {
  phase: CallPhase;
  call: Call | null;
  /** Display name of the other person. */
  peerName: string;
  localStream: MediaStream | null;
  remoteStream: MediaStream | null;
  muted: boolean;
  cameraOff: boolean;
  connectedAt: number | null;
  /** A message about how the last call ended (declined, missed, busy, failed). */
  notice: string | null;
  /** The RTCPeerConnection's connection state, for tests and the status line. */
  connection: string;
}

const IDLE: Omit<CallState, 'notice'> = {
  phase: 'idle',
  call: null,
  peerName: '',
  localStream: null,
  remoteStream: null,
  muted: false,
  cameraOff: false,
  connectedAt: null,
  connection: 'new',
};

const testSwitches = new URLSearchParams(window.location.search);
/** A test-only switch: `?relay=1` at page load forces every call through TURN. */
const FORCE_RELAY = testSwitches.get('relay') === '1';
/**
 * How long a call may go without a media path (connecting, or reconnecting after a drop) before
 * it ends as failed; `?lostAfterMs=` at page load shortens it for tests.
 */
const LOST_AFTER_MS = Number(testSwitches.get('lostAfterMs')) || 30_000;

function errorCode(err: unknown): string | undefined {
  return (err as { data?: { code?: string } }).data?.code;
}
function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * One call at a time: rings on incoming calls (on every open device; stops when one answers),
 * places calls, runs the WebRTC peer connection with ICE servers from `calls.iceServers`, and
 * restarts ICE with fresh credentials when the connection fails.
 */
export class CallStore {
  private state: CallState = { ...IDLE, notice: null };
  private listeners = new Set<() => void>();
  private sub: { unsubscribe(): void } | null = null;
  private pc: RTCPeerConnection | null = null;
  private pendingCandidates: RTCIceCandidateInit[] = [];
  private stopped = true;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private iceRestartTimer: ReturnType<typeof setTimeout> | undefined;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  /** Renews TURN credentials (and restarts ICE with them) before they expire. */
  private credentialTimer: ReturnType<typeof setTimeout> | undefined;
  private signals: Promise<void> = Promise.resolve();
  /** Ends a call whose media path does not come (back) up, e.g. the other end closed its page. */
  private lostTimer: ReturnType<typeof setTimeout> | undefined;
  /** Who is on the other end, by user id → name; filled by the UI. */
  names: (userId: string) => string | null = () => null;

  constructor(readonly me: string) {}

  getState = () => this.state;
  subscribe = (l: () => void) => {
    this.listeners.add(l);
    return () => void this.listeners.delete(l);
  };
  private set(patch: Partial<CallState>) {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((l) => l());
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.subscribeEvents();
  }
  stop() {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    this.sub?.unsubscribe();
    this.sub = null;
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

  private async onEvent(e: CallEvent) {
    if (e.type === 'signal') {
      const { callId, signal } = e;
      // One at a time and in order: an ICE restart's offer must be applied before its candidates.
      this.signals = this.signals.then(() => (this.isCurrent(callId) ? this.onSignal(signal) : undefined));
      return;
    }
    if (e.type === 'call.ringing' || e.type === 'call.joined' || e.type === 'call.left') return;
    const call = e.call;
    const peerId = (call.callerId === this.me ? call.calleeId : call.callerId) ?? '';
    switch (e.type) {
      case 'call.incoming': {
        if (call.calleeId !== this.me || call.state !== 'ringing') return;
        if (this.state.phase !== 'idle') return; // busy here; the server answers busy to new calls
        const known = this.names(peerId);
        this.set({ ...IDLE, phase: 'incoming', call, peerName: known ?? 'Someone', notice: null });
        // A caller whose conversation has not reached this device yet: ask who it is.
        if (!known)
          void parley.api.users.byId
            .query({ id: peerId })
            .then((u) => this.isCurrent(call.id) && this.set({ peerName: u.displayName }))
            .catch(() => {});
        return;
      }
      case 'call.accepted':
        if (!this.isCurrent(call.id)) return;
        if (this.state.phase === 'incoming') {
          // Answered on another device: stop ringing here.
          this.finish('Answered on another device.');
        } else if (this.state.phase === 'outgoing' && call.callerId === this.me) {
          this.set({ call, phase: 'connecting' });
          await this.connectAsCaller();
        }
        return;
      case 'call.declined':
        if (!this.isCurrent(call.id)) return;
        this.finish(call.callerId === this.me ? `${this.state.peerName} declined the call.` : null);
        return;
      case 'call.ended': {
        if (!this.isCurrent(call.id)) return;
        const who = this.state.peerName;
        const mine = call.callerId === this.me;
        const notice =
          call.endReason === 'missed'
            ? mine
              ? `${who} didn't answer.`
              : `Missed call from ${who}.`
            : call.endReason === 'busy'
              ? `${who} is busy in another call.`
              : call.endReason === 'failed'
                ? 'The call failed. Check your connection and try again.'
                : call.endReason === 'declined'
                  ? mine
                    ? `${who} declined the call.`
                    : null
                  : this.state.phase === 'incoming'
                    ? `Missed call from ${who}.`
                    : 'Call ended.';
        this.finish(notice);
        return;
      }
    }
  }

  // ---- actions ----
  async startCall(conversationId: string, media: CallMedia, peerName: string) {
    if (this.state.phase !== 'idle') return;
    this.set({ ...IDLE, phase: 'outgoing', peerName, notice: null });
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
      this.set({ call });
    } catch (err) {
      this.finish(
        errorCode(err) === 'CONFLICT'
          ? /already in a call/i.test(errorMessage(err))
            ? 'You are already in a call.'
            : `${peerName} is busy in another call.`
          : `The call could not be started. ${humanError(err)}`,
      );
    }
  }

  async accept() {
    const call = this.state.call;
    if (!call || this.state.phase !== 'incoming') return;
    this.set({ phase: 'connecting' });
    let stream: MediaStream;
    try {
      stream = await this.getMedia(call.media);
    } catch (err) {
      void parley.api.calls.decline.mutate({ callId: call.id }).catch(() => {});
      this.finish(mediaError(err, call.media));
      return;
    }
    this.set({ localStream: stream });
    try {
      await this.createPeer();
      const accepted = await parley.api.calls.accept.mutate({ callId: call.id });
      this.set({ call: accepted });
    } catch (err) {
      this.finish(errorCode(err) === 'CONFLICT' ? 'This call was answered elsewhere or has ended.' : `Could not answer. ${humanError(err)}`);
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
    const wasOutgoing = this.state.phase === 'outgoing';
    this.finish(null);
    if (call) await parley.api.calls.hangup.mutate({ callId: call.id }).catch(() => {});
    else if (wasOutgoing) return;
  }

  toggleMute() {
    const muted = !this.state.muted;
    this.state.localStream?.getAudioTracks().forEach((t) => (t.enabled = !muted));
    this.set({ muted });
  }
  toggleCamera() {
    const cameraOff = !this.state.cameraOff;
    this.state.localStream?.getVideoTracks().forEach((t) => (t.enabled = !cameraOff));
    this.set({ cameraOff });
  }
  dismissNotice() {
    clearTimeout(this.noticeTimer);
    this.set({ notice: null });
  }

  // ---- WebRTC ----
  private getMedia(media: CallMedia) {
    return navigator.mediaDevices.getUserMedia({ audio: true, video: media === 'video' });
  }

  private async rtcConfig(): Promise<RTCConfiguration> {
    const { iceServers, ttlSeconds } = await parley.api.calls.iceServers.query();
    this.scheduleCredentialRenewal(iceServers.some((s) => s.credential) ? ttlSeconds : null);
    return { iceServers, ...(FORCE_RELAY ? { iceTransportPolicy: 'relay' as const } : {}) };
  }

  /**
   * coturn checks the credential's expiry on every refresh of an allocation, so a call that
   * outlives it would lose its relay. Shortly before that, the caller restarts ICE with fresh
   * credentials; the callee takes fresh ones when the restart offer arrives.
   */
  private scheduleCredentialRenewal(ttlSeconds: number | null) {
    clearTimeout(this.credentialTimer);
    if (ttlSeconds === null) return;
    const renewInMs = Math.max(ttlSeconds * 1000 - Math.min(60_000, ttlSeconds * 200), 10_000);
    this.credentialTimer = setTimeout(() => {
      if (this.pc && this.state.call?.callerId === this.me) void this.restartIce(true);
    }, renewInMs);
  }

  private async createPeer() {
    const pc = new RTCPeerConnection(await this.rtcConfig());
    this.pc = pc;
    this.armLostTimer();
    const remote = new MediaStream();
    this.set({ remoteStream: remote });
    for (const track of this.state.localStream?.getTracks() ?? []) pc.addTrack(track, this.state.localStream!);
    pc.ontrack = (ev) => {
      if (!remote.getTracks().includes(ev.track)) remote.addTrack(ev.track);
      // A new MediaStream object makes <video> pick the track up reliably.
      this.set({ remoteStream: new MediaStream(remote.getTracks()) });
    };
    pc.onicecandidate = (ev) => {
      const call = this.state.call;
      if (!ev.candidate || !call) return;
      const c = ev.candidate.toJSON();
      void parley.api.calls.signal
        .mutate({
          callId: call.id,
          signal: {
            type: 'ice',
            candidate: { candidate: c.candidate ?? '', sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null, usernameFragment: c.usernameFragment ?? null },
          },
        })
        .catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const s = pc.connectionState;
      this.set({ connection: s });
      if (s === 'connected') {
        clearTimeout(this.iceRestartTimer);
        clearTimeout(this.lostTimer);
        this.lostTimer = undefined;
        this.restarts = 0;
        this.set({ phase: 'connected', connectedAt: this.state.connectedAt ?? Date.now() });
      } else if (s === 'disconnected') {
        if (this.state.phase === 'connected') this.set({ phase: 'reconnecting' });
        this.lostTimer ??= this.armLostTimer();
        // Give it a moment to recover by itself, then restart ICE.
        clearTimeout(this.iceRestartTimer);
        this.iceRestartTimer = setTimeout(() => void this.restartIce(), 2_500);
      } else if (s === 'failed') {
        if (this.state.phase === 'connected') this.set({ phase: 'reconnecting' });
        this.lostTimer ??= this.armLostTimer();
        void this.restartIce();
      }
    };
    return pc;
  }

  private armLostTimer() {
    clearTimeout(this.lostTimer);
    const callId = this.state.call?.id;
    this.lostTimer = setTimeout(() => {
      if (callId && this.isCurrent(callId) && this.pc?.connectionState !== 'connected') void this.fail(new Error('no media path'));
    }, LOST_AFTER_MS);
    return this.lostTimer;
  }

  private async connectAsCaller() {
    const call = this.state.call;
    if (!call) return;
    try {
      const pc = await this.createPeer();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await parley.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: offer.sdp ?? '' } });
    } catch (err) {
      void this.fail(err);
    }
  }

  private restarts = 0;
  /**
   * Fresh TURN credentials and new ICE candidates (after a network change, a failure, or before
   * the credentials expire when `renew`); the caller makes the new offer.
   */
  private async restartIce(renew = false) {
    const pc = this.pc;
    const call = this.state.call;
    if (!pc || !call || this.state.call?.callerId !== this.me) return;
    if (pc.connectionState === 'connected' && !renew) return;
    if (!renew && ++this.restarts > 5) return void this.fail(new Error('ICE restarts exhausted'));
    try {
      pc.setConfiguration(await this.rtcConfig());
      const offer = await pc.createOffer({ iceRestart: true });
      await pc.setLocalDescription(offer);
      await parley.api.calls.signal.mutate({ callId: call.id, signal: { type: 'offer', sdp: offer.sdp ?? '' } });
    } catch {
      /* the next state change tries again */
    }
  }

  private async onSignal(signal: Signal) {
    const pc = this.pc;
    const call = this.state.call;
    if (!pc || !call) {
      if (signal.type === 'ice') this.pendingCandidates.push(signal.candidate);
      return;
    }
    try {
      if (signal.type === 'offer') {
        // A renegotiation or ICE restart offer: take fresh credentials too (before the answer
        // starts gathering candidates).
        const restart = Boolean(pc.remoteDescription);
        await pc.setRemoteDescription({ type: 'offer', sdp: signal.sdp });
        if (restart) pc.setConfiguration(await this.rtcConfig());
        await this.flushCandidates();
        const answer = await pc.createAnswer();
        await pc.setLocalDescription(answer);
        // Not awaited: the next signals need not wait for the network.
        void parley.api.calls.signal
          .mutate({ callId: call.id, signal: { type: 'answer', sdp: answer.sdp ?? '' } })
          .catch((err: unknown) => void (this.isCurrent(call.id) && this.fail(err)));
      } else if (signal.type === 'answer') {
        await pc.setRemoteDescription({ type: 'answer', sdp: signal.sdp });
        await this.flushCandidates();
      } else if (signal.type !== 'ice') {
        return;
      } else if (pc.remoteDescription) {
        await pc.addIceCandidate(signal.candidate);
      } else {
        this.pendingCandidates.push(signal.candidate);
      }
    } catch (err) {
      if (signal.type !== 'ice') void this.fail(err);
    }
  }
  private async flushCandidates() {
    const list = this.pendingCandidates;
    this.pendingCandidates = [];
    for (const c of list) await this.pc?.addIceCandidate(c).catch(() => {});
  }

  private async fail(err: unknown) {
    console.warn('Call failed', err);
    const call = this.state.call;
    this.finish('The call failed. Check your connection and try again.');
    if (call) await parley.api.calls.hangup.mutate({ callId: call.id }).catch(() => {});
  }

  private teardown() {
    clearTimeout(this.iceRestartTimer);
    clearTimeout(this.lostTimer);
    this.lostTimer = undefined;
    clearTimeout(this.credentialTimer);
    this.pc?.close();
    this.pc = null;
    this.pendingCandidates = [];
    this.restarts = 0;
    this.state.localStream?.getTracks().forEach((t) => t.stop());
  }

  private finish(notice: string | null) {
    this.teardown();
    clearTimeout(this.noticeTimer);
    this.set({ ...IDLE, notice });
    if (notice) this.noticeTimer = setTimeout(() => this.set({ notice: null }), 10_000);
  }
}

function mediaError(err: unknown, media: CallMedia) {
  const name = (err as { name?: string }).name;
  const what = media === 'video' ? 'camera and microphone' : 'microphone';
  if (name === 'NotAllowedError') return `Parley needs your permission to use the ${what}.`;
  if (name === 'NotFoundError') return `No ${what} found on this device.`;
  return `Could not start the ${what}.`;
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
