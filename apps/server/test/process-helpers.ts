/**
 * Real processes for tests that need them: Parley server instances and a private redis-server,
 * so that SIGKILL and restarts are real. Every process started here is killed when the test
 * process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, hasCommand, REPO_ROOT, sleep, waitFor } from '@parley/test-helpers';
import { Redis } from 'ioredis';

export { freePort, hasCommand };
export const REPO = REPO_ROOT;

export interface Proc {
  child: ChildProcess;
  /** The last 200 kB of stdout and stderr, interleaved. */
  output: () => string;
  exited: Promise<number | null>;
  running: () => boolean;
  /** Sends `signal`, then SIGKILL if the process has not exited after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const procs = new Set<Proc>();
process.once('exit', () => {
  for (const p of procs) p.child.kill('SIGKILL');
});

export function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  let out = '';
  const keep = (d: string) => {
    out = (out + d).slice(-200_000);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  let alive = true;
  const exited = new Promise<number | null>((resolve) =>
    child.once('close', (code) => {
      alive = false;
      procs.delete(proc);
      resolve(code);
    }),
  );
  child.once('error', (e) => keep(`spawn error: ${e.message}\n`));
  const proc: Proc = {
    child,
    output: () => out,
    exited,
    running: () => alive,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (alive) {
        child.kill(signal);
        const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exited;
        }
      }
    },
  };
  procs.add(proc);
  return proc;
}

/** Every process of this file still running (for afterAll). */
export const runningProcs = () => [...procs];

/** The HTTP status of a GET, 0 when nothing answers. */
export async function httpStatus(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export async function redisAnswers(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * A redis-server of this test alone, without persistence, on a port of its own: restarting it
 * disturbs no other test (the shared Redis on 6379 must never be restarted).
 */
export class PrivateRedis {
  private proc: Proc | null = null;
  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort());
    await redis.start();
    return redis;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.proc = run('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
    const proc = this.proc;
    await waitFor(async () => !proc.running() || (await redisAnswers(this.url)), { timeoutMs: 20_000, intervalMs: 50 });
    if (!proc.running()) throw new Error(`redis-server exited:\n${proc.output()}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    await this.proc?.stop(signal, 10_000);
    this.proc = null;
  }

  async restart(signal: NodeJS.Signals = 'SIGTERM', downMs = 0) {
    await this.stop(signal);
    if (downMs > 0) await sleep(downMs);
    await this.start();
  }
}

/**
 * One Parley server process (`apps/server/src/main.ts` under tsx) on a fixed port, so that it can
 * be killed for real and come back where its clients reconnect.
 */
export class ServerProcess {
  proc: Proc | null = null;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  ready() {
    return httpStatus(`${this.url}/readyz`);
  }

  /** Starts the process and waits until /readyz answers 200. */
  async start(timeoutMs = 90_000) {
    const proc = run(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
      cwd: REPO,
      env: { ...this.env, PORT: String(this.port), INSTANCE_ID: this.name },
    });
    this.proc = proc;
    await waitFor(async () => !proc.running() || (await this.ready()) === 200, { timeoutMs, intervalMs: 100 });
    if (!proc.running()) throw new Error(`${this.name} exited:\n${proc.output()}`);
  }

  async kill() {
    await this.proc?.stop('SIGKILL');
  }

  async stop() {
    await this.proc?.stop('SIGTERM', 15_000);
  }

  output() {
    return this.proc?.output() ?? '';
  }
}

/** A small seeded PRNG (mulberry32), so that a chaos schedule can be replayed from its seed. */
export function seededRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]! };
}
