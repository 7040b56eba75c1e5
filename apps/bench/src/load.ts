/** The load generator: the same open-loop sender and the same receipt clock for every target. */
import { cpuSeconds, machineTicks, rssBytes, sleep } from './procs.js';
import { summarize, type Summary } from './stats.js';
import type { Target } from './targets.js';

export interface RateRun {
  targetRate: number;
  durationMs: number;
  sent: number;
  acked: number;
  sendErrors: number;
  /** Sends per second actually issued by the generator. */
  achievedRate: number;
  expectedReceipts: number;
  receipts: number;
  /** Messages whose every other member got them. */
  fullyDelivered: number;
  /** Fully delivered messages per second over the sending window. */
  deliveredPerSec: number;
  latency: Summary;
  ack: Summary;
  healthz: Summary;
  /** Raw delivery latencies (ms), for the chart. */
  samples: number[];
  /** Server RSS at the end (bytes), if known. */
  rss: number | null;
  /** Cores the server process kept busy while sending (1 = one core), if known. */
  serverCores: number | null;
  /** Share of the whole machine's CPU that was busy while sending (server, PostgreSQL, generator). */
  machineBusy: number | null;
}

interface Pending {
  t0: number;
  remaining: number;
}

const status = (line: string) => {
  if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
};
export const statusDone = (line: string) => {
  if (process.stdout.isTTY) process.stdout.write('\r\x1b[2K');
  console.log(line);
};
export const progressLine = status;

let nextId = 0;

/**
 * Sends `rate` messages per second for `durationMs` (open loop: the schedule never waits for
 * answers), each from a random member of a random conversation, and times its receipt by every
 * other member. Waits up to `graceMs` after the last send for stragglers. Probes `/healthz` every
 * 100 ms meanwhile: its round trip is the server's event-loop delay plus a loopback HTTP request.
 */
export async function runAtRate(
  target: Target,
  opts: { rate: number; durationMs: number; graceMs: number; label: string; pid: number | null },
): Promise<RateRun> {
  const pending = new Map<number, Pending>();
  const samples: number[] = [];
  const acks: number[] = [];
  const healthz: number[] = [];
  let receipts = 0;
  let fullyDelivered = 0;
  let expectedReceipts = 0;
  let sent = 0;
  let acked = 0;
  let sendErrors = 0;
  let firstError: string | null = null;

  target.onDeliver = (_recipient, body) => {
    if (!body.startsWith('bench:')) return;
    const id = Number(body.slice(6, body.indexOf(' ', 6)));
    const p = pending.get(id);
    if (!p) return;
    samples.push(performance.now() - p.t0);
    receipts++;
    if (--p.remaining === 0) {
      pending.delete(id);
      fullyDelivered++;
    }
  };

  const groups = target.groups;
  const start = performance.now();
  const cpu0 = cpuSeconds(opts.pid);
  const ticks0 = machineTicks();
  let stopProbe = false;
  const probe = (async () => {
    while (!stopProbe) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${target.url}/healthz`);
        await res.arrayBuffer();
        healthz.push(performance.now() - t0);
      } catch {
        /* counted as missing */
      }
      await sleep(100);
    }
  })();

  let lastReport = 0;
  while (true) {
    const elapsed = performance.now() - start;
    if (elapsed >= opts.durationMs) break;
    const due = Math.floor((elapsed * opts.rate) / 1000) - sent;
    for (let i = 0; i < due; i++) {
      const g = Math.floor(Math.random() * groups.length);
      const members = groups[g]!;
      const sender = members[Math.floor(Math.random() * members.length)]!;
      const id = nextId++;
      const t0 = performance.now();
      pending.set(id, { t0, remaining: members.length - 1 });
      expectedReceipts += members.length - 1;
      sent++;
      target.send(sender, g, `bench:${id} ${'x'.repeat(40)}`).then(
        () => {
          acked++;
          acks.push(performance.now() - t0);
        },
        (err: unknown) => {
          sendErrors++;
          firstError ??= String(err);
        },
      );
    }
    if (elapsed - lastReport > 500) {
      lastReport = elapsed;
      status(
        `  ${opts.label}: ${(elapsed / 1000).toFixed(1)}/${(opts.durationMs / 1000).toFixed(0)} s  sent ${sent}  acked ${acked}  ` +
          `delivered ${fullyDelivered}  in flight ${pending.size}${sendErrors ? `  errors ${sendErrors}` : ''}`,
      );
    }
    await sleep(2);
  }
  const sendWindow = performance.now() - start;
  const cpu1 = cpuSeconds(opts.pid);
  const ticks1 = machineTicks();
  const graceEnd = performance.now() + opts.graceMs;
  while (pending.size > 0 && performance.now() < graceEnd) await sleep(10);
  stopProbe = true;
  await probe;
  target.onDeliver = () => {};
  if (firstError) statusDone(`  ${opts.label}: ${sendErrors} send errors, first: ${firstError}`);
  return {
    targetRate: opts.rate,
    durationMs: opts.durationMs,
    sent,
    acked,
    sendErrors,
    achievedRate: (sent * 1000) / sendWindow,
    expectedReceipts,
    receipts,
    fullyDelivered,
    deliveredPerSec: (fullyDelivered * 1000) / sendWindow,
    latency: summarize(samples),
    ack: summarize(acks),
    healthz: summarize(healthz),
    samples,
    rss: rssBytes(opts.pid),
    serverCores: cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / (sendWindow / 1000) : null,
    machineBusy:
      ticks0 && ticks1 && ticks1.total > ticks0.total
        ? (ticks1.busy - ticks0.busy) / (ticks1.total - ticks0.total)
        : null,
  };
}

/** A rate holds when ≥ 99 % of its messages reach every member within the grace and p99 stays under `lagMs`. */
export function holds(r: RateRun, lagMs: number) {
  return (
    r.sent > 0 &&
    r.achievedRate >= 0.9 * r.targetRate &&
    r.fullyDelivered >= 0.99 * r.sent &&
    r.sendErrors === 0 &&
    r.latency.p99 < lagMs
  );
}
