import type { RouterInputs } from '../trpc';

export type Signal = RouterInputs['calls']['signal']['signal'];
export type Quality = 'unknown' | 'good' | 'fair' | 'poor';
export interface RemoteMedia {
  muted: boolean;
  cameraOff: boolean;
  screen: boolean;
}

export interface PeerHooks {
  /** Sends a signal to this peer (the store addresses it to them). */
  send(signal: Signal): void;
  /** Something shown changed: streams, connection, remote media state. */
  changed(): void;
  /** Fresh ICE servers (TURN credentials). */
  rtcConfig(): Promise<RTCConfiguration>;
  /** No media path for too long. */
  lost(): void;
}

/**
 * One RTCPeerConnection of a call: to one other participant (a 1:1 call has one, a group call one
 * per other person: a mesh). Either side may (re)negotiate — screen sharing adds a track, an ICE
 * restart changes candidates — so offers may cross: the "perfect negotiation" pattern settles
 * that, the polite side yielding. The impolite side restarts ICE (after a failure, or with fresh
 * TURN credentials before they expire); the polite one takes fresh credentials with the offer.
 */
export class Peer {
  readonly pc: RTCPeerConnection;
  connection: RTCPeerConnectionState = 'new';
  remote: RemoteMedia = { muted: false, cameraOff: false, screen: false };
  /** 0..1, the loudest audio source received from this peer just now. */
  level = 0;
  quality: Quality = 'unknown';
  private makingOffer = false;
  private ignoreOffer = false;
  private pending: RTCIceCandidateInit[] = [];
  private signals: Promise<void> = Promise.resolve();
  private streams = new Map<string, MediaStream>();
  private screenSender: RTCRtpSender | null = null;
  private restarts = 0;
  private iceRestartTimer: ReturnType<typeof setTimeout> | undefined;
  private lostTimer: ReturnType<typeof setTimeout> | undefined;
  private lastLoss: { lost: number; received: number } | null = null;
  private closed = false;

  constructor(
    readonly userId: string,
    /** Polite peers yield when offers cross; both sides agree on who is (by user id). */
    readonly polite: boolean,
    config: RTCConfiguration,
    local: MediaStream,
    screen: MediaStream | null,
    private readonly hooks: PeerHooks,
    private readonly lostAfterMs: number,
  ) {
    const pc = new RTCPeerConnection(config);
    this.pc = pc;
    for (const track of local.getTracks()) pc.addTrack(track, local);
    const screenTrack = screen?.getVideoTracks()[0];
    if (screen && screenTrack) this.screenSender = pc.addTrack(screenTrack, screen);
    this.armLostTimer();

    pc.onnegotiationneeded = async () => {
      try {
        this.makingOffer = true;
        await pc.setLocalDescription();
        if (pc.localDescription?.type === 'offer') hooks.send({ type: 'offer', sdp: pc.localDescription.sdp });
      } catch (err) {
        console.warn('Negotiation failed', err);
      } finally {
        this.makingOffer = false;
      }
    };
    pc.onicecandidate = (ev) => {
      if (!ev.candidate) return;
      const c = ev.candidate.toJSON();
      hooks.send({
        type: 'ice',
        candidate: {
          candidate: c.candidate ?? '',
          sdpMid: c.sdpMid ?? null,
          sdpMLineIndex: c.sdpMLineIndex ?? null,
          usernameFragment: c.usernameFragment ?? null,
        },
      });
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      const known = this.streams.get(stream.id) ?? new MediaStream();
      if (!known.getTracks().includes(ev.track)) known.addTrack(ev.track);
      this.streams.set(stream.id, known);
      // A track taken out by renegotiation (a screen share that stopped) leaves its stream.
      stream.onremovetrack = (e) => {
        known.removeTrack(e.track);
        if (known.getTracks().length === 0) this.streams.delete(stream.id);
        this.views = null;
        hooks.changed();
      };
      this.views = null;
      hooks.changed();
    };
    pc.onconnectionstatechange = () => {
      if (this.closed) return;
      const s = pc.connectionState;
      this.connection = s;
      if (s === 'connected') {
        clearTimeout(this.iceRestartTimer);
        clearTimeout(this.lostTimer);
        this.lostTimer = undefined;
        this.restarts = 0;
      } else if (s === 'disconnected') {
        this.lostTimer ??= this.armLostTimer();
        // Give it a moment to recover by itself, then restart ICE.
        clearTimeout(this.iceRestartTimer);
        this.iceRestartTimer = setTimeout(() => void this.restartIce(), 2_500);
      } else if (s === 'failed') {
        this.lostTimer ??= this.armLostTimer();
        void this.restartIce();
      }
      hooks.changed();
    };
  }

  /** Signals from this peer, one at a time and in order (an offer before its candidates). */
  receive(signal: Signal) {
    this.signals = this.signals.then(() => this.onSignal(signal));
  }

  private async onSignal(signal: Signal) {
    const pc = this.pc;
    if (this.closed) return;
    try {
      if (signal.type === 'offer' || signal.type === 'answer') {
        const collision = signal.type === 'offer' && (this.makingOffer || pc.signalingState !== 'stable');
        this.ignoreOffer = !this.polite && collision;
        if (this.ignoreOffer) return;
        // A renegotiation or ICE restart offer: take fresh credentials too (before the answer
        // starts gathering candidates).
        const again = signal.type === 'offer' && pc.remoteDescription !== null;
        await pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
        if (again) pc.setConfiguration(await this.hooks.rtcConfig());
        await this.flushCandidates();
        if (signal.type === 'offer') {
          await pc.setLocalDescription();
          if (pc.localDescription) this.hooks.send({ type: 'answer', sdp: pc.localDescription.sdp });
        }
      } else if (signal.type === 'ice') {
        if (pc.remoteDescription) await pc.addIceCandidate(signal.candidate);
        else this.pending.push(signal.candidate);
      } else if (signal.type === 'state') {
        this.remote = { muted: signal.muted, cameraOff: signal.cameraOff, screen: signal.screen };
        this.views = null;
        this.hooks.changed();
      }
    } catch (err) {
      // A candidate of an offer we ignored, or of a restart we have moved past: harmless.
      if (signal.type !== 'ice' || !this.ignoreOffer) console.warn('Signal not applied', signal.type, err);
    }
  }

  private async flushCandidates() {
    const list = this.pending;
    this.pending = [];
    for (const c of list) await this.pc.addIceCandidate(c).catch(() => {});
  }

  /**
   * Fresh TURN credentials and new ICE candidates (after a failure, or before the credentials
   * expire when `renew`). Only the impolite side restarts, so both ends do not restart at once.
   */
  async restartIce(renew = false) {
    if (this.closed || this.polite) return;
    if (this.pc.connectionState === 'connected' && !renew) return;
    if (!renew && ++this.restarts > 5) return void this.hooks.lost();
    try {
      this.pc.setConfiguration(await this.hooks.rtcConfig());
      this.pc.restartIce(); // fires negotiationneeded: the restart offer
    } catch {
      /* the next state change tries again */
    }
  }

  private armLostTimer() {
    clearTimeout(this.lostTimer);
    this.lostTimer = setTimeout(() => {
      if (!this.closed && this.pc.connectionState !== 'connected') this.hooks.lost();
    }, this.lostAfterMs);
    return this.lostTimer;
  }

  private views: { camera: MediaStream | null; screen: MediaStream | null } | null = null;
  /**
   * What this peer sends: the camera stream (the one with the microphone in it) and a screen
   * share (a stream with video only). New objects whenever they change, so <video> elements
   * pick up added tracks reliably.
   */
  media() {
    if (this.views) return this.views;
    const all = [...this.streams.values()].filter((s) => s.getTracks().length > 0);
    const camera = all.find((s) => s.getAudioTracks().length > 0) ?? null;
    const screen =
      all.find((s) => s !== camera && s.getVideoTracks().length > 0 && s.getAudioTracks().length === 0) ?? null;
    this.views = {
      camera: camera ? new MediaStream(camera.getTracks()) : null,
      screen: screen && this.remote.screen ? new MediaStream(screen.getTracks()) : null,
    };
    return this.views;
  }

  /** Shares a screen to this peer (a new track: renegotiates). */
  addScreen(stream: MediaStream) {
    const track = stream.getVideoTracks()[0];
    if (!track || this.closed) return;
    if (this.screenSender) void this.screenSender.replaceTrack(track);
    else this.screenSender = this.pc.addTrack(track, stream);
  }
  removeScreen() {
    if (!this.screenSender || this.closed) return;
    this.pc.removeTrack(this.screenSender);
    this.screenSender = null;
  }

  /** A new microphone or camera: same sender, no renegotiation. */
  replaceTrack(track: MediaStreamTrack) {
    const sender = this.pc.getSenders().find((s) => s !== this.screenSender && s.track?.kind === track.kind);
    if (sender) void sender.replaceTrack(track);
  }

  /** Audio level now (cheap: the receivers' synchronization sources). */
  sampleLevel() {
    let level = 0;
    for (const r of this.pc.getReceivers()) {
      if (r.track.kind !== 'audio') continue;
      for (const s of r.getSynchronizationSources()) level = Math.max(level, s.audioLevel ?? 0);
    }
    this.level = this.remote.muted ? 0 : level;
    return this.level;
  }

  /** Network quality from getStats: round-trip time of the selected path and packet loss since last time. */
  async sampleQuality(): Promise<Quality> {
    if (this.closed || this.pc.connectionState !== 'connected') {
      this.quality = 'unknown';
      return this.quality;
    }
    const stats = await this.pc.getStats();
    let rtt: number | null = null;
    let lost = 0;
    let received = 0;
    stats.forEach((s: Record<string, unknown>) => {
      if (
        s.type === 'candidate-pair' &&
        s.nominated &&
        s.state === 'succeeded' &&
        typeof s.currentRoundTripTime === 'number'
      ) {
        rtt = Math.max(rtt ?? 0, s.currentRoundTripTime);
      }
      if (s.type === 'inbound-rtp') {
        lost += Number(s.packetsLost ?? 0);
        received += Number(s.packetsReceived ?? 0);
      }
    });
    const prev = this.lastLoss;
    this.lastLoss = { lost, received };
    const dLost = prev ? Math.max(0, lost - prev.lost) : 0;
    const dReceived = prev ? Math.max(0, received - prev.received) : received;
    const loss = dLost + dReceived > 0 ? dLost / (dLost + dReceived) : 0;
    const r = rtt ?? 0;
    this.quality = loss > 0.08 || r > 0.6 ? 'poor' : loss > 0.02 || r > 0.3 ? 'fair' : 'good';
    return this.quality;
  }

  close() {
    this.closed = true;
    clearTimeout(this.iceRestartTimer);
    clearTimeout(this.lostTimer);
    this.pc.close();
  }
}
