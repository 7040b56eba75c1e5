/**
 * The message sound and the ringtone, synthesised with WebAudio (no files to ship or cache).
 * Browsers start audio only after a user gesture: the context is created suspended and resumed on
 * the first click or key press, so a sound before any gesture is silently skipped.
 */
let ctx: AudioContext | null = null;

function audio(): AudioContext | null {
  if (typeof AudioContext === 'undefined') return null;
  ctx ??= new AudioContext();
  return ctx;
}

if (typeof window !== 'undefined') {
  const unlock = () =>
    void audio()
      ?.resume()
      .catch(() => undefined);
  window.addEventListener('pointerdown', unlock, { capture: true });
  window.addEventListener('keydown', unlock, { capture: true });
}

/** One soft sine note with a quick attack and decay. */
function tone(ac: AudioContext, at: number, freq: number, duration: number, peak = 0.18) {
  const osc = ac.createOscillator();
  const gain = ac.createGain();
  osc.type = 'sine';
  osc.frequency.setValueAtTime(freq, at);
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(peak, at + 0.015);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + duration);
  osc.connect(gain).connect(ac.destination);
  osc.start(at);
  osc.stop(at + duration + 0.02);
}

/** What tests and the UI can see: how many times each sound started. */
export const soundLog = { message: 0, ring: 0 };

/** A short two-note chime for a new message. */
export function playMessageSound() {
  const ac = audio();
  soundLog.message++;
  if (ac?.state !== 'running') return;
  const now = ac.currentTime;
  tone(ac, now, 880, 0.12);
  tone(ac, now + 0.09, 1318.5, 0.18);
}

let ringTimer: ReturnType<typeof setInterval> | null = null;

/** Rings (a double trill every 3 s) until stopRinging(). */
export function startRinging() {
  if (ringTimer) return;
  const ring = () => {
    soundLog.ring++;
    const ac = audio();
    if (ac?.state !== 'running') return;
    const now = ac.currentTime;
    for (let i = 0; i < 2; i++) {
      const start = now + i * 0.45;
      for (let j = 0; j < 4; j++) tone(ac, start + j * 0.08, j % 2 ? 659.3 : 784, 0.09, 0.14);
    }
  };
  ring();
  ringTimer = setInterval(ring, 3_000);
}

export function stopRinging() {
  if (ringTimer) clearInterval(ringTimer);
  ringTimer = null;
}

export const isRinging = () => ringTimer !== null;
