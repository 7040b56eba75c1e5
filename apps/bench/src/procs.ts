/** Child processes and throwaway databases, all cleaned up on exit, error or Ctrl-C. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep } from '@parley/test-helpers';
import pg from 'pg';
import WebSocket from 'ws';

export const ADMIN_PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Every server runs as it is deployed, from its compiled JavaScript (`pnpm build`; Parley's
 * packages through the `parley-compiled` export condition), not through tsx: tsx compiles with
 * esbuild's `keepNames`, which defines a `name` on every function each closure creates (a
 * property array each: 37.6 against 30.3 KB of heap per Parley socket in one measurement), and
 * keeps esbuild loaded (~90 MiB RSS).
 */
export const ENTRY = {
  parley: 'apps/server/dist/main.js',
  peer: 'apps/bench/dist/references/peer.js',
  floor: 'apps/bench/dist/references/floor.js',
} as const;
export type Server = keyof typeof ENTRY;

let built = false;
/** Builds what ENTRY names, once per run (turbo's cache makes it a no-op when nothing changed). */
export function buildServers() {
  if (built) return;
  // The workspace's turbo itself: `pnpm` need not be on PATH (`npx pnpm@10 bench`).
  const build = spawnSync(
    resolve(repoRoot, 'node_modules/.bin/turbo'),
    ['run', 'build', '--filter=@parley/server...', '--filter=@parley/bench', '--output-logs=errors-only'],
    { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (build.status !== 0) throw new Error(`building the servers failed (exit ${build.status ?? build.signal})`);
  built = true;
}

/** The node arguments that run `server` (after any of node's own flags). */
export function serverArgs(server: Server) {
  buildServers();
  return ['--conditions=parley-compiled', ENTRY[server]];
}

const children = new Set<ChildProcess>();
const databases = new Set<string>();

export { freePort, sleep };

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates an empty database and returns its URL; it is dropped by `cleanup()`. */
export async function createDatabase(name: string): Promise<string> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  await admin((c) => c.query(`create database ${name}`));
  databases.add(name);
  const url = new URL(ADMIN_PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface Child {
  pid: number;
  url: string;
  proc: ChildProcess;
  /** The child's inspector (started with `inspect`): a full garbage collection, then its heap in use. */
  inspector: Inspector | null;
}

/** Runs a server (ENTRY) as one process, so its pid is the server's. */
export async function startChild(opts: {
  name: Server;
  env: Record<string, string>;
  port: number;
  logFile: string;
  /** Open the inspector on a loopback port, for `collectGarbage` (the memory phase only). */
  inspect?: boolean;
}): Promise<Child> {
  const log = createWriteStream(opts.logFile);
  // BENCH_CPU_PROF=<dir>: every server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const inspectPort = opts.inspect ? await freePort() : null;
  if (inspectPort) profile.push(`--inspect=127.0.0.1:${inspectPort}`);
  const proc = spawn(process.execPath, [...profile, ...serverArgs(opts.name)], {
    cwd: repoRoot,
    env: { ...process.env, ...opts.env, PORT: String(opts.port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(proc);
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  let exited = false;
  proc.once('exit', () => {
    exited = true;
    children.delete(proc);
  });
  const url = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited during start-up; see ${opts.logFile}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${opts.name} did not start within 90 s; see ${opts.logFile}`);
    await sleep(200);
  }
  return { pid: proc.pid!, url, proc, inspector: inspectPort ? await connectInspector(inspectPort, proc) : null };
}

export interface Inspector {
  /** Runs a full garbage collection and resolves when it is done. */
  collectGarbage(): Promise<void>;
  /** Bytes of JavaScript heap in use. */
  heapUsed(): Promise<number>;
}

/**
 * Connects to a child's inspector (Chrome DevTools Protocol over its WebSocket): what the process
 * retains can then be read without the garbage that happens to be uncollected at that moment.
 */
async function connectInspector(port: number, proc: ChildProcess): Promise<Inspector> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const ws = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  proc.once('exit', () => ws.terminate());
  const waiting = new Map<number, (result: Record<string, unknown>) => void>();
  ws.on('message', (raw) => {
    const { id, result } = JSON.parse(String(raw)) as { id?: number; result?: Record<string, unknown> };
    if (id !== undefined) waiting.get(id)?.(result ?? {});
  });
  let nextId = 1;
  const call = (method: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = nextId++;
      waiting.set(id, (result) => {
        waiting.delete(id);
        resolve(result);
      });
      ws.send(JSON.stringify({ id, method }));
    });
  return {
    collectGarbage: async () => void (await call('HeapProfiler.collectGarbage')),
    heapUsed: async () => Number((await call('Runtime.getHeapUsage')).usedSize),
  };
}

export async function stopChild(child: Child | null) {
  if (!child || child.proc.exitCode !== null) return;
  const done = new Promise<void>((r) => child.proc.once('exit', () => r()));
  child.proc.kill('SIGTERM');
  // A profiled server needs longer than 5 s to write its profile.
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), process.env.BENCH_CPU_PROF ? 60_000 : 5_000);
  await done;
  clearTimeout(timer);
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssBytes(pid: number | null): number | null {
  if (!pid) return null;
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; 100 ticks a second). */
export function cpuSeconds(pid: number | null): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

let cleaning: Promise<void> | null = null;
export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((proc) => stopChild({ pid: proc.pid ?? 0, url: '', proc, inspector: null })));
    for (const name of databases) {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`)).catch((err) =>
        console.error(`could not drop database ${name}: ${String(err)}`),
      );
    }
    databases.clear();
  })();
  return cleaning;
}
