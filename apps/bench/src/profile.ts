/**
 * `pnpm --filter @parley/bench bench:profile [--target parley|peer] [--sockets N] [--prof DIR] [--heap]`:
 * one target at a time, for finding where time and bytes go: server CPU ms per message at a fixed
 * rate (its CPU time from /proc over the messages sent; note that it falls when a starved server
 * batches more), RSS per extra socket, and with --prof a CPU profile of the server (the fixed
 * window's FROM/TO, in seconds since spawn, is printed for `profile-summary.ts`); with --heap
 * (and --sockets) a heap snapshot after each half of the sockets (their RSS figure is then void).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { spawn } from 'node:child_process';
import { generateVapidKeys } from '@parley/config';
import { runAtRate } from './load.js';
import {
  buildServers,
  cleanup,
  cpuSeconds,
  createDatabase,
  freePort,
  repoRoot,
  rssBytes,
  type Server,
  serverArgs,
  sleep,
} from './procs.js';
import { ParleyTarget, PeerTarget, type Target } from './targets.js';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'parley' },
    users: { type: 'string', default: '100' },
    group: { type: 'string', default: '4' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '8' },
    sockets: { type: 'string', default: '0' },
    prof: { type: 'string' },
    heap: { type: 'boolean', default: false },
  },
});

const JWT = 'bench-jwt-secret-bench-jwt-secret-0123456789';
const users = Number(args.users);
const rate = Number(args.rate);
const durationMs = Number(args.duration) * 1000;
const sockets = Number(args.sockets);

async function start(): Promise<{ target: Target; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const name = args.target!;
  const env: Record<string, string> = { PORT: String(port) };
  let seed = null;
  let dataDir: string | null = null;
  if (name === 'parley') {
    const databaseUrl = await createDatabase(`parley_prof_${Date.now()}`);
    dataDir = mkdtempSync(join(tmpdir(), 'parley-prof-'));
    const vapid = generateVapidKeys();
    Object.assign(env, {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      DATA_DIR: dataDir,
      BCRYPT_COST: '12',
      LOG_LEVEL: 'warn',
      JWT_SECRET: JWT,
      ACCESS_TOKEN_TTL_SECONDS: '3600',
      TURN_SECRET: 'bench-turn-secret-0123456789',
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: 'mailto:bench@example.test',
      ALLOWED_ORIGINS: `http://127.0.0.1:${port}`,
      RATE_LIMIT_SCALE: '1000000',
      MAX_SOCKETS_PER_USER: String(Math.max(20, Math.ceil(sockets / users) + 2)),
      REDIS_URL: '',
    });
    seed = { databaseUrl, jwtSecret: JWT, accessTokenTtlSeconds: 3600, bcryptCost: 12 };
  } else if (name === 'peer') {
    env.DATABASE_URL = await createDatabase(`parley_prof_${Date.now()}_peer`);
  }
  const flags = args.prof ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args.prof)}`] : [];
  if (args.heap) flags.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resolve(args.prof ?? '.')}`);
  if (args.prof) mkdirSync(resolve(args.prof), { recursive: true });
  const proc = spawn(process.execPath, [...flags, ...serverArgs(name as Server)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      /* not yet */
    }
    if (i > 400) throw new Error('server did not start');
    await sleep(200);
  }
  const target = name === 'parley' ? new ParleyTarget(url, seed) : new PeerTarget(url);
  return {
    target,
    pid: proc.pid!,
    stop: async () => {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

// Built first: the window printed below is in seconds since the server's spawn, as its profile's.
buildServers();
const spawned = performance.now();
const { target, pid, stop } = await start();
const since = () => ((performance.now() - spawned) / 1000).toFixed(1);
try {
  await target.setup(users, Number(args.group), () => {});
  if (durationMs > 0) await runAtRate(target, { rate, durationMs: 2000, graceMs: 2000, label: 'warm-up', pid });
  await sleep(500);
  const la0 = loadavg()[0]!;
  const c0 = cpuSeconds(pid)!;
  const from = since();
  const run = await runAtRate(target, { rate, durationMs, graceMs: 3000, label: 'fixed', pid });
  const c1 = cpuSeconds(pid)!;
  console.log(`fixed window: FROM=${from} TO=${since()} (s since spawn)`);
  console.log(
    `${args.target}: ${run.sent} sent, ${run.fullyDelivered} delivered; CPU ${(((c1 - c0) * 1000) / run.sent).toFixed(3)} ms/msg ` +
      `(window incl. grace), ${((run.serverCores ?? 0) * 100).toFixed(0)}% of a core; delivery p50 ${run.latency.p50.toFixed(2)} p99 ${run.latency.p99.toFixed(2)} ms; ` +
      `ack p50 ${run.ack.p50.toFixed(2)}; load ${la0.toFixed(2)}→${loadavg()[0]!.toFixed(2)}`,
  );
  if (sockets > 0) {
    await sleep(1000);
    const half = Math.floor(sockets / 2);
    await target.openSockets(half, () => {});
    await sleep(2000);
    const mid = rssBytes(pid)!;
    const snapshot = async () => {
      if (!args.heap) return;
      process.kill(pid, 'SIGUSR2');
      await sleep(20_000);
    };
    await snapshot();
    await target.openSockets(sockets - half, () => {});
    await sleep(2000);
    const after = rssBytes(pid)!;
    await snapshot();
    console.log(
      `${args.target}: RSS ${(mid / 2 ** 20).toFixed(0)} → ${(after / 2 ** 20).toFixed(0)} MiB, ${((after - mid) / (sockets - half) / 1024).toFixed(1)} KiB per socket`,
    );
    await target.closeSockets();
  }
} finally {
  await target.close().catch(() => {});
  await stop();
  await cleanup();
}
process.exit(0);
