/**
 * `pnpm bench`: Parley against a floor (plain ws relay) and a peer (Express + Socket.IO + pg),
 * driven by the same load generator in one run. See ../README.md.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateVapidKeys } from '@parley/config';
import { holds, progressLine, runAtRate, statusDone, type RateRun } from './load.js';
import {
  cleanup,
  createDatabase,
  freePort,
  machineTicks,
  rssBytes,
  sleep,
  startChild,
  stopChild,
  type Child,
} from './procs.js';
import { latencySvg, markdownTable, medianRows, terminalTable, type Row } from './report.js';
import { round, slope, summarize, type Summary } from './stats.js';
import { FloorTarget, ParleyTarget, PeerTarget, type Target, type TargetName } from './targets.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '8' },
    users: { type: 'string', default: '100' },
    rate: { type: 'string', default: '200' },
    group: { type: 'string', default: '4' },
    sockets: { type: 'string', default: '1000' },
    step: { type: 'string', default: '2.5' },
    'start-rate': { type: 'string', default: '250' },
    'max-rate': { type: 'string', default: '8000' },
    'lag-ms': { type: 'string', default: '250' },
    'storm-concurrency': { type: 'string', default: '8' },
    calls: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    bisect: { type: 'string', default: '3' },
    register: { type: 'boolean', default: false },
    targets: { type: 'string', default: 'parley,floor,peer' },
    partitions: { type: 'string', default: '1,16' },
    'partition-users': { type: 'string', default: '200' },
    'partition-group': { type: 'string', default: '2' },
    url: { type: 'string' },
    pid: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(`pnpm bench [options]
  --duration S           seconds of the fixed-rate phase and of the login-storm phase (8)
  --users N              simulated users, each with a socket and the message subscription (100)
  --rate R               messages per second in total for the fixed-rate and storm phases (200)
  --group G              members per conversation (4)
  --sockets N            extra authenticated sockets for the memory phase (1000)
  --step S               seconds per step of the throughput search (2.5)
  --start-rate R         first rate of the throughput search, doubled each step (250)
  --max-rate R           stop the throughput search here (8000)
  --lag-ms MS            a rate holds while delivery p99 stays under this (250)
  --storm-concurrency C  parallel logins during the storm (8)
  --calls N              calls rung for the signaling figures (40)
  --rounds N             rounds of the fixed-rate and throughput phases, targets interleaved (3);
                         the table gives medians, and each ratio's median and range over the rounds
  --bisect N             bisection steps between the last rate that held and the first that lagged (3)
  --register             create Parley's users through auth.register (bcrypt each) instead of seeding
                         them straight into its database (the bench's own seeding path, seed.ts)
  --targets LIST         any of parley,floor,peer (all); 'none' runs only the partitions phase
  --partitions LIST      the partitions phase: Parley on PostgreSQL with each EVENT_PARTITIONS of the
                         list (1,16), sends spread over many conversations, fixed rate and throughput
                         search per setting, settings interleaved over the rounds; 'none' skips it
  --partition-users N    users of the partitions phase (200), in conversations of
  --partition-group G    members (2): N / G conversations
  --url URL              use a running Parley server instead of starting one (--pid PID for its RSS)
  --out DIR              results folder (apps/bench/results/<timestamp>)`);
  process.exit(0);
}

const num = (v: string | undefined, name: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};
const opts = {
  durationMs: num(args.duration, 'duration') * 1000,
  users: Math.round(num(args.users, 'users')),
  rate: num(args.rate, 'rate'),
  group: Math.max(2, Math.round(num(args.group, 'group'))),
  sockets: Math.round(num(args.sockets, 'sockets')),
  stepMs: num(args.step, 'step') * 1000,
  startRate: num(args['start-rate'], 'start-rate'),
  maxRate: num(args['max-rate'], 'max-rate'),
  lagMs: num(args['lag-ms'], 'lag-ms'),
  stormConcurrency: Math.round(num(args['storm-concurrency'], 'storm-concurrency')),
  calls: Math.round(num(args.calls, 'calls')),
  rounds: Math.round(num(args.rounds, 'rounds')),
  bisect: Math.max(0, Math.round(Number(args.bisect))),
  seed: !args.register,
  targets: (args.targets === 'none'
    ? []
    : args
        .targets!.split(',')
        .map((s) => s.trim())
        .filter(Boolean)) as TargetName[],
  partitions:
    args.partitions === 'none' ? [] : args.partitions!.split(',').map((s) => Math.round(num(s.trim(), 'partitions'))),
  partitionUsers: Math.round(num(args['partition-users'], 'partition-users')),
  partitionGroup: Math.max(2, Math.round(num(args['partition-group'], 'partition-group'))),
};
for (const t of opts.targets) if (!['parley', 'floor', 'peer'].includes(t)) throw new Error(`unknown target ${t}`);

const here = fileURLToPath(new URL('.', import.meta.url));
const benchDir = resolve(here, '..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace('Z', '');
const outDir = resolve(args.out ?? join(benchDir, 'results', stamp));
mkdirSync(outDir, { recursive: true });
const dbSuffix = `${Date.now()}`;

let interrupted = false;
let background: number | null = null;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.log(`\n${signal}: stopping servers and dropping databases...`);
    void cleanup().finally(() => process.exit(130));
  });
}

interface TargetResult {
  name: TargetName;
  setupMs: number;
  memory: {
    sockets: number;
    rssBefore: number | null;
    rssAfter: number | null;
    perSocketBytes: number | null;
    /** JavaScript heap in use per socket (the same slope), when the inspector could tell. */
    heapPerSocketBytes: number | null;
  } | null;
  fixed: RateRun | null;
  steps: RateRun[];
  best: RateRun | null;
  storm: { run: RateRun; logins: { ok: number; failed: number; perSec: number; latency: Summary } } | null;
  calls: { setup: Summary; offerAnswer: Summary; failed: number; firstError: string | null } | null;
  groupCalls: { setup: Summary; offerAnswer: Summary; failed: number; firstError: string | null } | null;
  error?: string;
}

const strip = (r: RateRun | null) => (r ? { ...r, samples: undefined } : null);
const BENCH_JWT_SECRET = 'bench-jwt-secret-bench-jwt-secret-0123456789';

const VAPID = generateVapidKeys();
const MiB = 1024 * 1024;

async function startTarget(
  name: TargetName,
  round: number,
  parleyEnv: { key: string; env: Record<string, string> } | null = null,
  inspect = false,
): Promise<{ target: Target; child: Child | null; pid: number | null }> {
  if (name === 'parley') {
    if (args.url && !parleyEnv) {
      const pid = args.pid ? Number(args.pid) : null;
      return { target: new ParleyTarget(args.url.replace(/\/$/, '')), child: null, pid };
    }
    const databaseUrl = await createDatabase(
      `parley_bench_${dbSuffix}_r${round}${parleyEnv ? `_${parleyEnv.key}` : ''}`,
    );
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
    try {
      const child = await startChild({
        name: 'parley',
        port,
        logFile: join(outDir, 'parley-server.log'),
        inspect,
        env: {
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          DATABASE_URL: databaseUrl,
          DATA_DIR: dataDir,
          BCRYPT_COST: '12',
          LOG_LEVEL: 'warn',
          JWT_SECRET: BENCH_JWT_SECRET,
          // Seeded access tokens must outlive a long run (they are minted once, at setup).
          ACCESS_TOKEN_TTL_SECONDS: '3600',
          TURN_SECRET: 'bench-turn-secret-0123456789',
          VAPID_PUBLIC_KEY: VAPID.publicKey,
          VAPID_PRIVATE_KEY: VAPID.privateKey,
          VAPID_SUBJECT: 'mailto:bench@example.test',
          ALLOWED_ORIGINS: `http://127.0.0.1:${port}`,
          // Every simulated user comes from 127.0.0.1: per-IP and per-user limits would throttle the load itself.
          RATE_LIMIT_SCALE: '1000000',
          // The memory phase opens `--sockets` extra sockets over the same few users.
          MAX_SOCKETS_PER_USER: String(Math.min(1000, Math.max(20, Math.ceil(opts.sockets / opts.users) + 2))),
          REDIS_URL: '',
          ...parleyEnv?.env,
        },
      });
      child.proc.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
      const seed = opts.seed
        ? { databaseUrl, jwtSecret: BENCH_JWT_SECRET, accessTokenTtlSeconds: 3600, bcryptCost: 12 }
        : null;
      return { target: new ParleyTarget(child.url, seed), child, pid: child.pid };
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
  const port = await freePort();
  const env: Record<string, string> = {};
  if (name === 'peer') env.DATABASE_URL = await createDatabase(`parley_bench_${dbSuffix}_r${round}_peer`);
  const child = await startChild({
    name,
    port,
    logFile: join(outDir, `${name}-server.log`),
    inspect,
    env,
  });
  return { target: name === 'floor' ? new FloorTarget(child.url) : new PeerTarget(child.url), child, pid: child.pid };
}

const cpuNote = (r: RateRun) =>
  (r.serverCores !== null ? `; server ${(r.serverCores * 100).toFixed(0)}% of a core` : '') +
  (r.machineBusy !== null ? `, machine ${(r.machineBusy * 100).toFixed(0)}% busy` : '');
const fmtMs = (s: Summary) =>
  `p50 ${s.p50.toFixed(2)}  p95 ${s.p95.toFixed(2)}  p99 ${s.p99.toFixed(2)}  max ${s.max.toFixed(1)} ms`;

/**
 * Sustained throughput: double the rate until delivery lags, then bisect between the last rate
 * that held and the first that lagged. Every step lands in `result.steps`, the best in `result.best`.
 */
async function searchThroughput(target: Target, pid: number | null, result: Pick<TargetResult, 'steps' | 'best'>) {
  const step = async (rate: number) => {
    const run = await runAtRate(target, {
      rate,
      durationMs: opts.stepMs,
      graceMs: 1_000,
      label: `step ${rate}/s`,
      pid,
    });
    result.steps.push(run);
    const ok = holds(run, opts.lagMs);
    statusDone(
      `  step ${rate}/s: ${ok ? 'holds' : 'lags '}  sent ${run.achievedRate.toFixed(0)}/s  delivered ${run.deliveredPerSec.toFixed(0)}/s  ` +
        `${run.fullyDelivered}/${run.sent}  delivery p50 ${run.latency.p50.toFixed(1)} p99 ${run.latency.p99.toFixed(1)} ms` +
        cpuNote(run),
    );
    if (ok && (!result.best || rate > result.best.targetRate)) result.best = run;
    // A lagging step leaves a backlog: let it drain so the next step starts clean.
    await sleep(ok ? 500 : 3_000);
    return ok;
  };
  let lagged: number | null = null;
  for (let rate = opts.startRate; rate <= opts.maxRate && !interrupted; rate *= 2) {
    if (!(await step(rate))) {
      lagged = rate;
      break;
    }
  }
  let low = result.best?.targetRate ?? 0;
  for (let i = 0; i < opts.bisect && lagged !== null && !interrupted; i++) {
    const mid = Math.round((low + lagged) / 2);
    if (mid <= low || mid >= lagged) break;
    if (await step(mid)) low = mid;
    else lagged = mid;
  }
}

interface PartitionResult {
  partitions: number;
  round: number;
  /** os.loadavg() (1, 5, 15 min) when the setting's runs began: the machine is shared. */
  loadAverage: number[];
  fixed: RateRun | null;
  steps: RateRun[];
  best: RateRun | null;
  error?: string;
}

/**
 * The partitions phase: the same Parley on PostgreSQL with EVENT_PARTITIONS = each of
 * opts.partitions, sends spread over many small conversations (so that with P = 1 every send
 * waits for the one partition's counter row, and with P = 16 sends to different conversations
 * mostly do not), a fixed rate and a throughput search per setting.
 */
async function benchPartitions(partitions: number, round: number): Promise<PartitionResult> {
  const result: PartitionResult = {
    partitions,
    round,
    loadAverage: loadavg().map((l) => round2(l)),
    fixed: null,
    steps: [],
    best: null,
  };
  console.log(
    `\n=== parley, EVENT_PARTITIONS=${partitions}, round ${round + 1} of ${opts.rounds} (load average ${result.loadAverage.join(' ')}) ===`,
  );
  const { target, child, pid } = await startTarget('parley', round, {
    key: `p${partitions}`,
    env: { EVENT_PARTITIONS: String(partitions) },
  });
  try {
    await target.setup(opts.partitionUsers, opts.partitionGroup, (done, total, what) =>
      progressLine(`  setup: ${what} ${done}/${total}`),
    );
    statusDone(
      `  setup: ${opts.partitionUsers} users in ${target.groups.length} conversations of ${opts.partitionGroup}`,
    );
    await runAtRate(target, { rate: opts.rate, durationMs: 2_000, graceMs: 2_000, label: 'warm-up', pid });
    await sleep(500);
    result.fixed = await runAtRate(target, {
      rate: opts.rate,
      durationMs: opts.durationMs,
      graceMs: 3_000,
      label: `fixed ${opts.rate}/s`,
      pid,
    });
    statusDone(`  fixed ${opts.rate}/s: delivery ${fmtMs(result.fixed.latency)}${cpuNote(result.fixed)}`);
    await searchThroughput(target, pid, result);
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    statusDone(`  EVENT_PARTITIONS=${partitions} failed: ${result.error}`);
  } finally {
    await target.close().catch(() => {});
    await stopChild(child);
  }
  return result;
}

/** Steps in which the memory phase opens its sockets; RSS is read before the first and after each. */
const MEMORY_STEPS = 4;

/**
 * RSS per socket, on a fresh server of its own: after the other phases a server's RSS moves with
 * the garbage they left (it fell while sockets were being added, a negative cost per socket).
 * Users are set up, then `--sockets` more sockets open in four steps, each holding what a client
 * holds. Before each reading a full garbage collection runs in the server (through its
 * inspector), so what is read is what the sockets retain; the cost per socket is the
 * least-squares slope of RSS over the sockets open.
 */
async function measureMemory(name: TargetName, round: number): Promise<NonNullable<TargetResult['memory']>> {
  // Its own database: numbered after the rounds' (0 … rounds − 1).
  const { target, child, pid } = await startTarget(name, opts.rounds + round, null, true);
  try {
    await target.setup(opts.users, opts.group, (done, total, what) =>
      progressLine(`  memory setup: ${what} ${done}/${total}`),
    );
    await sleep(2_000);
    const points: { sockets: number; rss: number; heap: number | null }[] = [];
    let open = 0;
    const read = async () => {
      await child?.inspector?.collectGarbage();
      await sleep(500);
      const rss = rssBytes(pid);
      const heap = (await child?.inspector?.heapUsed()) ?? null;
      if (rss !== null) points.push({ sockets: open, rss, heap });
    };
    await read();
    for (let step = 1; step <= MEMORY_STEPS; step++) {
      const count = Math.round((opts.sockets * step) / MEMORY_STEPS) - open;
      await target.openSockets(count, (done) => {
        if ((open + done) % 50 === 0) progressLine(`  memory: ${open + done}/${opts.sockets} sockets open`);
      });
      open += count;
      await sleep(1_000);
      await read();
    }
    const perSocketBytes = points.length === MEMORY_STEPS + 1 ? slope(points.map((p) => [p.sockets, p.rss])) : null;
    const heapPerSocketBytes = points.every((p) => p.heap !== null)
      ? slope(points.map((p) => [p.sockets, p.heap!]))
      : null;
    const rssBefore = points[0]?.rss ?? null;
    const rssAfter = points.at(-1)?.rss ?? null;
    statusDone(
      `  memory${child ? ' (fresh server)' : ''}: ${opts.sockets} more sockets: RSS ${rssBefore !== null ? (rssBefore / MiB).toFixed(0) : '?'} → ${rssAfter !== null ? (rssAfter / MiB).toFixed(0) : '?'} MiB` +
        (perSocketBytes !== null
          ? `, ${(perSocketBytes / 1024).toFixed(1)} KiB per socket (slope over ${points.length} readings${child?.inspector ? ', each after a full GC' : ''})`
          : ''),
    );
    await target.closeSockets();
    return { sockets: opts.sockets, rssBefore, rssAfter, perSocketBytes, heapPerSocketBytes };
  } finally {
    await target.close().catch(() => {});
    await stopChild(child);
  }
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const median = (values: number[]) => {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length === 0 ? NaN : v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
};

/** One line per setting: medians over the rounds, with every round's load average. */
function partitionLines(results: PartitionResult[]): string[] {
  return opts.partitions.map((p) => {
    const rs = results.filter((r) => r.partitions === p);
    const m = (f: (r: PartitionResult) => number | undefined) => median(rs.map((r) => f(r) ?? NaN)).toFixed(1);
    return (
      `- EVENT_PARTITIONS=${p}: highest rate that holds ${m((r) => r.best?.targetRate ?? 0)} msg/s ` +
      `(delivered ${m((r) => r.best?.deliveredPerSec)}/s, delivery p50 ${m((r) => r.best?.latency.p50)} p99 ${m((r) => r.best?.latency.p99)} ms there); ` +
      `at ${opts.rate} msg/s delivery p50 ${m((r) => r.fixed?.latency.p50)} p99 ${m((r) => r.fixed?.latency.p99)} ms, send ack p50 ${m((r) => r.fixed?.ack.p50)} ms; ` +
      `rounds: ${rs.map((r) => `${r.best?.targetRate ?? 0}/s at load ${r.loadAverage[0]}`).join(', ')}` +
      rs
        .filter((r) => r.error)
        .map((r) => ` (round ${r.round + 1} failed: ${r.error})`)
        .join('')
    );
  });
}

/**
 * One round of one target: its phases on a fresh server, then memory on another fresh server of
 * its own. Memory runs every round, so the RSS per socket is a median over the rounds like every
 * other figure (one reading each, the ratio ranged 1.37–1.69× over three runs in a day).
 */
async function benchTarget(name: TargetName, round: number, last: boolean): Promise<TargetResult> {
  const result = await benchPhases(name, round, last);
  if (!result.error) {
    try {
      result.memory = await measureMemory(name, round);
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      statusDone(`  ${name} memory failed: ${result.error}`);
    }
  }
  return result;
}

/**
 * Setup, warm-up, the fixed rate, the throughput search and the login storm; in the last round
 * also calls (run once).
 */
async function benchPhases(name: TargetName, round: number, last: boolean): Promise<TargetResult> {
  const result: TargetResult = {
    name,
    setupMs: 0,
    memory: null,
    fixed: null,
    steps: [],
    best: null,
    storm: null,
    calls: null,
    groupCalls: null,
  };
  console.log(`\n=== ${name}, round ${round + 1} of ${opts.rounds} ===`);
  const { target, child, pid } = await startTarget(name, round);
  try {
    const t0 = performance.now();
    await target.setup(opts.users, opts.group, (done, total, what) =>
      progressLine(`  setup: ${what} ${done}/${total}`),
    );
    result.setupMs = performance.now() - t0;
    statusDone(
      `  setup: ${opts.users} users in ${target.groups.length} conversations of ${opts.group}, ${(result.setupMs / 1000).toFixed(1)} s`,
    );

    // Warm-up (JIT, connection pools, PostgreSQL caches), the same for every target; not recorded.
    await runAtRate(target, { rate: opts.rate, durationMs: 2_000, graceMs: 2_000, label: 'warm-up', pid });
    statusDone('  warm-up: 2 s');
    await sleep(500);

    // Delivery latency at a fixed rate.
    result.fixed = await runAtRate(target, {
      rate: opts.rate,
      durationMs: opts.durationMs,
      graceMs: 3_000,
      label: `fixed ${opts.rate}/s`,
      pid,
    });
    statusDone(
      `  fixed ${opts.rate}/s: delivery ${fmtMs(result.fixed.latency)}; healthz p99 ${result.fixed.healthz.p99.toFixed(2)} ms${cpuNote(result.fixed)}`,
    );

    await searchThroughput(target, pid, result);

    // Login storm while messages flow at the fixed rate; every round, so that its ratio to the
    // round's calm p99 is a median like the others (one storm alone ranged 1.8–5.5×).
    if (target.loginStorm) {
      const until = Date.now() + opts.durationMs;
      const stormPromise = target.loginStorm(opts.stormConcurrency, until);
      const run = await runAtRate(target, {
        rate: opts.rate,
        durationMs: opts.durationMs,
        graceMs: 3_000,
        label: `storm ${opts.rate}/s + logins`,
        pid,
      });
      const logins = await stormPromise;
      result.storm = {
        run,
        logins: {
          ok: logins.ok,
          failed: logins.failed,
          perSec: (logins.ok * 1000) / opts.durationMs,
          latency: summarize(logins.latencies),
        },
      };
      statusDone(
        `  storm: ${logins.ok} logins (${logins.failed} failed, ${result.storm.logins.perSec.toFixed(1)}/s, p50 ${result.storm.logins.latency.p50.toFixed(0)} ms); ` +
          `delivery ${fmtMs(run.latency)}; healthz p99 ${run.healthz.p99.toFixed(1)} max ${run.healthz.max.toFixed(1)} ms`,
      );
    }

    if (!last) return result;

    // Call signaling.
    if (target.callSignaling) {
      const c = await target.callSignaling(opts.calls, (done) => progressLine(`  calls: ${done}/${opts.calls}`));
      result.calls = {
        setup: summarize(c.setup),
        offerAnswer: summarize(c.offerAnswer),
        failed: c.failed,
        firstError: c.firstError,
      };
      statusDone(
        `  calls: ${c.setup.length} calls, start → accepted ${fmtMs(result.calls.setup)}; offer/answer round trip ${fmtMs(result.calls.offerAnswer)}` +
          (c.failed ? `; ${c.failed} failed, first: ${c.firstError}` : ''),
      );
    }

    if (target.groupCallSignaling) {
      const n = Math.max(1, Math.round(opts.calls / 4));
      const c = await target.groupCallSignaling(n, (done) => progressLine(`  group calls: ${done}/${n}`));
      result.groupCalls = {
        setup: summarize(c.setup),
        offerAnswer: summarize(c.offerAnswer),
        failed: c.failed,
        firstError: c.firstError,
      };
      statusDone(
        `  group calls: ${c.setup.length} calls of 4, start → all joined ${fmtMs(result.groupCalls.setup)}; addressed offer/answer ${fmtMs(result.groupCalls.offerAnswer)}` +
          (c.failed ? `; ${c.failed} failed, first: ${c.firstError}` : ''),
      );
    }
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    statusDone(`  ${name} failed: ${result.error}`);
  } finally {
    await target.close().catch(() => {});
    await stopChild(child);
  }
  return result;
}

function rows(results: Partial<Record<TargetName, TargetResult>>): Row[] {
  const v = (f: (r: TargetResult) => number | null | undefined) =>
    Object.fromEntries(opts.targets.map((t) => [t, results[t] ? (f(results[t]!) ?? null) : null]));
  return [
    { key: 'p50', metric: `delivery p50 @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.latency.p50) },
    { metric: `delivery p95 @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.latency.p95) },
    { key: 'p99', metric: `delivery p99 @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.latency.p99) },
    { metric: `delivery max @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.latency.max) },
    { metric: `send ack p50 @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.ack.p50) },
    { metric: `healthz round trip p99 @ ${opts.rate} msg/s`, unit: 'ms', values: v((r) => r.fixed?.healthz.p99) },
    {
      key: 'rate',
      metric: 'highest rate that holds',
      unit: 'msg/s',
      higherIsBetter: true,
      values: v((r) => r.best?.targetRate ?? 0),
    },
    {
      metric: 'messages stored+delivered at that rate',
      unit: 'msg/s',
      higherIsBetter: true,
      values: v((r) => r.best?.deliveredPerSec ?? 0),
    },
    { metric: 'delivery p50 at that rate', unit: 'ms', values: v((r) => r.best?.latency.p50) },
    { metric: 'delivery p99 at that rate', unit: 'ms', values: v((r) => r.best?.latency.p99) },
    {
      key: 'cpu',
      metric: `server CPU @ ${opts.rate} msg/s`,
      unit: '% of a core',
      values: v((r) => (r.fixed?.serverCores ?? NaN) * 100),
    },
    {
      key: 'rss',
      metric: `server RSS with ${opts.users} users + ${opts.sockets} sockets`,
      unit: 'MiB',
      values: v((r) => (r.memory?.rssAfter ?? NaN) / MiB),
    },
    {
      key: 'perSocket',
      metric: 'server RSS per extra socket (after GC)',
      unit: 'KiB',
      values: v((r) => (r.memory?.perSocketBytes ?? NaN) / 1024),
    },
    {
      metric: 'server JS heap per extra socket (after GC)',
      unit: 'KiB',
      values: v((r) => (r.memory?.heapPerSocketBytes ?? NaN) / 1024),
    },
    { metric: 'call: calls.start → call.accepted p50', unit: 'ms', values: v((r) => r.calls?.setup.p50) },
    { metric: 'call: calls.start → call.accepted p99', unit: 'ms', values: v((r) => r.calls?.setup.p99) },
    { metric: 'call: offer/answer round trip p50', unit: 'ms', values: v((r) => r.calls?.offerAnswer.p50) },
    { metric: 'call: offer/answer round trip p99', unit: 'ms', values: v((r) => r.calls?.offerAnswer.p99) },
    { metric: 'group call of 4: start → all joined p50', unit: 'ms', values: v((r) => r.groupCalls?.setup.p50) },
    { metric: 'group call of 4: start → all joined p99', unit: 'ms', values: v((r) => r.groupCalls?.setup.p99) },
    {
      metric: 'group call: addressed offer/answer round trip p50',
      unit: 'ms',
      values: v((r) => r.groupCalls?.offerAnswer.p50),
    },
    { metric: 'login storm: logins/s (bcrypt 12)', unit: '/s', values: v((r) => r.storm?.logins.perSec) },
    {
      metric: `login storm: delivery p99 @ ${opts.rate} msg/s`,
      unit: 'ms',
      values: v((r) => r.storm?.run.latency.p99),
    },
    {
      key: 'storm',
      metric: 'login storm: delivery p99 ÷ without storm',
      unit: '×',
      values: v((r) => (r.storm && r.fixed ? r.storm.run.latency.p99 / r.fixed.latency.p99 : null)),
    },
    { metric: 'login storm: healthz round trip p99', unit: 'ms', values: v((r) => r.storm?.run.healthz.p99) },
    { metric: 'login storm: healthz round trip max', unit: 'ms', values: v((r) => r.storm?.run.healthz.max) },
  ];
}

/** The targets of the performance issue, read off the medians over the rounds. */
function targetsCheck(table: Row[]): string[] {
  const row = (key: string) => table.find((r) => r.key === key);
  const mark = (ok: boolean | null) => (ok === null ? '?' : ok ? 'met' : 'NOT met');
  const vsPeer = (key: string, limit: number, atLeast = false) => {
    const r = row(key)?.ratios?.peer;
    if (!r) return `? (no peer figure)`;
    // Every figure here is positive; a ratio at or below zero means a reading that was not one.
    if (r.min <= 0) return `${r.median.toFixed(2)}× → ? (not a measurement)`;
    return `${r.median.toFixed(2)}× (rounds ${r.min.toFixed(2)}–${r.max.toFixed(2)}) → ${mark(atLeast ? r.median >= limit : r.median <= limit)}`;
  };
  const lines = [
    `- delivery p50 ≤ 1.0× the peer: ${vsPeer('p50', 1)}`,
    `- delivery p99 ≤ 1.0× the peer: ${vsPeer('p99', 1)}`,
    `- server CPU per message ≤ 1.0× the peer (same rate): ${vsPeer('cpu', 1)}`,
    `- RSS per socket ≤ 1.5× the peer: ${vsPeer('perSocket', 1.5)}`,
    `- highest rate that holds ≥ 2× the peer: ${vsPeer('rate', 2, true)}`,
  ];
  // What 10,000 sockets would take: measured with all of them open, or extrapolated from fewer,
  // from the medians of the rounds' memory phases (MiB and KiB in the table).
  const rssMiB = row('rss')?.values.parley ?? null;
  const perSocketKiB = row('perSocket')?.values.parley ?? null;
  const proj =
    rssMiB !== null && perSocketKiB !== null
      ? rssMiB * MiB + perSocketKiB * 1024 * Math.max(0, 10_000 - opts.sockets)
      : null;
  lines.push(
    `- 10,000 sockets ≤ 512 MiB RSS: ${proj === null ? '?' : `${(proj / MiB).toFixed(0)} MiB`}${opts.sockets < 10_000 ? ` projected from ${opts.sockets}` : ''} → ${mark(proj === null ? null : proj <= 512 * MiB)}`,
  );
  const storm = row('storm')?.values.parley ?? null;
  lines.push(
    `- login storm delivery p99 ≤ 1.5× calm: ${storm === null || !Number.isFinite(storm) ? '?' : `${storm.toFixed(2)}×`} → ${mark(storm === null || !Number.isFinite(storm) ? null : storm <= 1.5)}`,
  );
  return lines;
}

async function main() {
  const started = Date.now();
  const idle0 = machineTicks();
  await sleep(1_000);
  const idle1 = machineTicks();
  background = idle0 && idle1 ? (idle1.busy - idle0.busy) / (idle1.total - idle0.total) : null;
  console.log(
    `Parley bench: ${opts.targets.join(', ')}; ${opts.users} users in groups of ${opts.group}, ${opts.rate} msg/s for ${opts.durationMs / 1000} s, ` +
      `${opts.sockets} sockets for memory; results in ${outDir}`,
  );
  if (background !== null && background > 0.2)
    console.log(
      `Warning: the machine is already ${(background * 100).toFixed(0)}% busy before the bench starts; figures will be noisy.`,
    );
  // Round r runs the targets in an order rotated by r, so none is always first (cold machine)
  // or always last (after the others heated PostgreSQL).
  const rounds: Partial<Record<TargetName, TargetResult>>[] = [];
  const partitionResults: PartitionResult[] = [];
  try {
    for (let round = 0; round < opts.rounds && !interrupted; round++) {
      const order = opts.targets.map((_, i) => opts.targets[(i + round) % opts.targets.length]!);
      const results: Partial<Record<TargetName, TargetResult>> = {};
      for (const name of order) {
        if (interrupted) break;
        results[name] = await benchTarget(name, round, round === opts.rounds - 1);
      }
      rounds.push(results);
    }
    // The partitions phase, its settings interleaved over the rounds (rotated like the targets).
    for (let round = 0; round < opts.rounds && !interrupted; round++) {
      const order = opts.partitions.map((_, i) => opts.partitions[(i + round) % opts.partitions.length]!);
      for (const p of order) if (!interrupted) partitionResults.push(await benchPartitions(p, round));
    }
  } finally {
    await cleanup();
  }
  if (interrupted) return;
  const results = rounds[rounds.length - 1] ?? {};
  const partitionSummary = partitionLines(partitionResults);

  const table = medianRows(rounds.map(rows));
  const checks = targetsCheck(table);
  if (opts.targets.length > 0) {
    console.log(`\n${terminalTable(table)}\n`);
    console.log(`Targets (medians over ${rounds.length} rounds):\n${checks.join('\n')}\n`);
  }
  if (partitionSummary.length > 0)
    console.log(
      `Partitions (${opts.partitionUsers} users in conversations of ${opts.partitionGroup}, PostgreSQL):\n${partitionSummary.join('\n')}\n`,
    );

  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? '?',
    memGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
  };
  const series = opts.targets.flatMap((t) => {
    const r = results[t];
    const out: { name: string; samples: number[] }[] = [];
    if (r?.fixed) out.push({ name: `${t} @ ${opts.rate}/s`, samples: r.fixed.samples });
    if (r?.storm) out.push({ name: `${t} @ ${opts.rate}/s + login storm`, samples: r.storm.run.samples });
    if (r?.best) out.push({ name: `${t} @ ${r.best.targetRate}/s (best)`, samples: r.best.samples });
    return out;
  });
  for (const r of partitionResults.filter((r) => r.round === opts.rounds - 1)) {
    if (r.best)
      series.push({ name: `parley P=${r.partitions} @ ${r.best.targetRate}/s (best)`, samples: r.best.samples });
  }
  // latencySvg needs at least one series with samples.
  if (series.some((s) => s.samples.length > 0))
    writeFileSync(
      join(outDir, 'latency.svg'),
      latencySvg(series, `Delivery latency (send → other member's subscription), ${opts.users} users`),
    );
  writeFileSync(
    join(outDir, 'results.json'),
    JSON.stringify(
      {
        startedAt: new Date(started).toISOString(),
        elapsedSeconds: round((Date.now() - started) / 1000, 1),
        machine,
        backgroundBusy: background,
        options: opts,
        table: table.map((r) => ({ metric: r.metric, unit: r.unit, ...r.values })),
        partitions: partitionResults.map((r) => ({
          ...r,
          fixed: strip(r.fixed),
          best: strip(r.best),
          steps: r.steps.map(strip),
        })),
        rounds: rounds.map((results) =>
          Object.fromEntries(
            Object.entries(results).map(([k, r]) => [
              k,
              {
                ...r,
                fixed: strip(r.fixed),
                best: strip(r.best),
                steps: r.steps.map(strip),
                storm: r.storm ? { ...r.storm, run: strip(r.storm.run) } : null,
              },
            ]),
          ),
        ),
      },
      null,
      2,
    ),
  );
  const md = [
    `# Parley bench, ${new Date(started).toISOString()}`,
    '',
    `Machine: ${machine.cpus} cores (${machine.cpuModel}), ${machine.memGiB} GiB, Node ${machine.node}. ` +
      `Run: ${opts.users} users in conversations of ${opts.group}, ${opts.rate} msg/s for ${opts.durationMs / 1000} s, ` +
      `${opts.sockets} extra sockets, throughput steps of ${opts.stepMs / 1000} s from ${opts.startRate} msg/s doubling, ` +
      `${opts.stormConcurrency} parallel logins in the storm, ${opts.rounds} rounds (targets interleaved; each figure is the median over the rounds, each ratio the median of the rounds' ratios with their range), throughput bisected ${opts.bisect}× between the last rate that held and the first that lagged; a rate holds while ≥ 99 % is delivered and delivery p99 < ${opts.lagMs} ms. The load generator, the servers and PostgreSQL share the machine. ` +
      (background !== null
        ? `The machine was ${(background * 100).toFixed(0)}% busy before the run (other processes). `
        : '') +
      `Ratios are Parley ÷ reference (for latency and memory lower is better, for throughput higher is better).`,
    '',
    markdownTable(table),
    '',
    `## Targets (medians over ${rounds.length} rounds)`,
    '',
    ...checks,
    '',
    '![latency distributions](latency.svg)',
    '',
    ...(partitionSummary.length > 0
      ? [
          `## Partitions (${opts.partitionUsers} users in ${Math.floor(opts.partitionUsers / opts.partitionGroup)} conversations of ${opts.partitionGroup}, PostgreSQL; medians over ${opts.rounds} rounds)`,
          '',
          ...partitionSummary,
          '',
        ]
      : []),
    ...Object.values(results)
      .filter((r) => r.error)
      .map((r) => `- ${r.name} failed: ${r.error}`),
  ].join('\n');
  writeFileSync(join(outDir, 'results.md'), `${md}\n`);
  console.log(
    `Written: ${join(outDir, 'results.md')}, results.json, latency.svg (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
  );
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  async (err) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  },
);
