/**
 * Real processes for tests that need them: Parley server instances and a private redis-server,
 * so that SIGKILL and restarts are real. Every process started here is killed when the test
 * process exits, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
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
    this.proc = run('redis-server', [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ]);
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
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
  };
}

/**
 * A Redis Cluster of this test alone: `size` masters without replicas on loopback ports, created
 * with `redis-cli --cluster create`. A node can be killed and started again with its nodes.conf
 * and port, as after a crash; without persistence it comes back empty, owning its old slots.
 */
export class PrivateRedisCluster {
  private readonly procs: (Proc | null)[];
  private constructor(
    private readonly dir: string,
    readonly ports: number[],
    private readonly busPorts: number[],
  ) {
    this.procs = ports.map(() => null);
  }

  static async start(size = 3): Promise<PrivateRedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'parley-redis-cluster-'));
    // A client port and a cluster-bus port per node, all distinct (freePort may repeat itself).
    const taken = new Set<number>();
    while (taken.size < size * 2) taken.add(await freePort());
    const all = [...taken];
    const cluster = new PrivateRedisCluster(dir, all.slice(0, size), all.slice(size));
    await Promise.all(cluster.ports.map((_, i) => cluster.startNode(i)));
    const create = run('redis-cli', [
      '--cluster',
      'create',
      ...cluster.ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    const code = await create.exited;
    if (code !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.output()}`);
    await cluster.waitHealthy();
    return cluster;
  }

  /** For REDIS_CLUSTER_NODES. */
  get nodes() {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  private async startNode(i: number) {
    const port = this.ports[i]!;
    const proc = run('redis-server', [
      '--port',
      String(port),
      '--cluster-port',
      String(this.busPorts[i]!),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      `nodes-${port}.conf`,
      // A dead master is noticed within a second, and the cluster is whole again as soon as it is back.
      '--cluster-node-timeout',
      '1000',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ]);
    this.procs[i] = proc;
    const url = `redis://127.0.0.1:${port}`;
    await waitFor(async () => !proc.running() || (await redisAnswers(url)), { timeoutMs: 20_000, intervalMs: 50 });
    if (!proc.running()) throw new Error(`redis-server ${port} exited:\n${proc.output()}`);
  }

  /** `CLUSTER INFO` of node i as a map. */
  async info(i: number): Promise<Map<string, string>> {
    const r = new Redis(this.ports[i]!, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      const text = String(await r.call('CLUSTER', 'INFO'));
      return new Map(
        text
          .split(/\r?\n/)
          .filter(Boolean)
          .map((l) => l.split(':') as [string, string]),
      );
    } catch {
      return new Map();
    } finally {
      r.disconnect();
    }
  }

  /** Until every node reports the cluster whole (all slots served). */
  async waitHealthy(timeoutMs = 30_000) {
    await waitFor(
      async () =>
        (await Promise.all(this.ports.map((_, i) => this.info(i)))).every((m) => m.get('cluster_state') === 'ok'),
      {
        timeoutMs,
        intervalMs: 100,
      },
    );
  }

  /** Runs a command on node i (e.g. PUBSUB SHARDNUMSUB), answering what the node answers. */
  async command(i: number, ...args: string[]): Promise<unknown> {
    const r = new Redis(this.ports[i]!, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    r.on('error', () => {});
    try {
      await r.connect();
      return await r.call(args[0]!, ...args.slice(1));
    } finally {
      r.disconnect();
    }
  }

  async kill(i: number) {
    await this.procs[i]?.stop('SIGKILL');
    this.procs[i] = null;
  }

  /** Starts node i again on its port with its nodes.conf, and waits for the cluster to be whole. */
  async restart(i: number) {
    await this.startNode(i);
    await this.waitHealthy();
  }

  async stop() {
    await Promise.all(this.procs.map((p) => p?.stop('SIGTERM', 10_000)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
