/**
 * Test helpers that run Debian's real coturn (`/usr/bin/turnserver`) and its client
 * (`turnutils_uclient`) on the loopback interface only.
 *
 * The test server differs from coturn/turnserver.conf on purpose: no TLS, and loopback
 * peers ALLOWED (`--allow-loopback-peers`, no `denied-peer-ip` for 127.0.0.1), because the
 * client under test relays to itself through 127.0.0.1. Never copy these flags to production.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort as anyFreePort, REPO_ROOT, sleep } from '@parley/test-helpers';

export const TURNSERVER_BIN = process.env.TURNSERVER_BIN ?? 'turnserver';
export const UCLIENT_BIN = process.env.TURNUTILS_UCLIENT_BIN ?? 'turnutils_uclient';
/** The repository's coturn directory (production config, template, entrypoint). */
export const COTURN_DIR = `${REPO_ROOT}coturn/`;
export const COTURN_ENTRYPOINT = join(COTURN_DIR, 'entrypoint.sh');

export interface RunningCoturn {
  port: number;
  url: string;
  /** Everything coturn printed so far (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** coturn listens on TCP and UDP. */
const freePort = () => anyFreePort({ udp: true });

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startCoturn(opts: {
  secret: string;
  realm?: string;
  /** Extra command-line options, e.g. `['--denied-peer-ip=127.0.0.0-127.255.255.255']`. */
  extraArgs?: string[];
  timeoutMs?: number;
  /** A given port, e.g. to start a coturn again where a stopped one listened; else a free one. */
  port?: number;
}): Promise<RunningCoturn> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-'));
  // An empty config file, so that /etc/turnserver.conf of the machine is never read.
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, '# intentionally empty: every option is on the command line\n');
  const args = [
    '-c',
    conf,
    `--listening-port=${port}`,
    '--listening-ip=127.0.0.1',
    '--relay-ip=127.0.0.1',
    '--use-auth-secret',
    `--static-auth-secret=${opts.secret}`,
    `--realm=${opts.realm ?? 'parley.test'}`,
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--allow-loopback-peers',
    '--fingerprint',
    '--log-file=stdout',
    '--simple-log',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
    ...(opts.extraArgs ?? []),
  ];
  return launch({ command: TURNSERVER_BIN, args, env: process.env, port, dir, timeoutMs: opts.timeoutMs });
}

/**
 * The production configuration (coturn/turnserver.conf + the rendered template) started
 * through coturn/entrypoint.sh, with only what a test must change overridden on the command
 * line: a free loopback port, loopback relay, no TLS (no certificate here), private pid and
 * database files. Loopback peers stay refused, as in production.
 */
export async function startProductionCoturn(opts: {
  secret: string;
  realm?: string;
  timeoutMs?: number;
  /** Addresses coturn relays from (default 127.0.0.1); a namespace test gives its veth's. */
  relayIps?: string[];
}): Promise<RunningCoturn> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-prod-'));
  const args = [
    COTURN_ENTRYPOINT,
    `--listening-port=${port}`,
    '--listening-ip=127.0.0.1',
    ...(opts.relayIps ?? ['127.0.0.1']).map((ip) => `--relay-ip=${ip}`),
    '--no-tls',
    '--no-dtls',
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    `--userdb=${join(dir, 'turndb')}`,
  ];
  const env = {
    ...process.env,
    TURN_SECRET: opts.secret,
    TURN_REALM: opts.realm ?? 'parley.test',
    TURN_EXTERNAL_IP: '',
    COTURN_RENDERED_CONF: join(dir, 'rendered.conf'),
    TURNSERVER_BIN,
  };
  return launch({ command: 'sh', args, env, port, dir, timeoutMs: opts.timeoutMs });
}

async function launch(opts: {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  dir: string;
  timeoutMs?: number | undefined;
}): Promise<RunningCoturn> {
  const { port, dir } = opts;
  let output = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let child: ChildProcess;
  try {
    child = spawn(opts.command, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let failure: Error | null = null;
  child.once('error', (e) => (failure = new Error(`Could not start ${opts.command}: ${e.message}`)));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('close', (code, signal) => {
      exited = { code, signal };
      resolve();
    }),
  );
  // Never leave a coturn behind if the test process dies without calling stop().
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (!exited && child.pid !== undefined) {
        child.kill('SIGTERM');
        const done = await Promise.race([exitedPromise.then(() => true), sleep(3000).then(() => false)]);
        if (!done) {
          child.kill('SIGKILL');
          await exitedPromise;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    if (failure) break;
    if (exited) {
      failure = new Error(`turnserver exited early (${JSON.stringify(exited)}):\n${output}`);
      break;
    }
    // The TCP listener opens once the relay and auth threads are set up.
    if (await canConnect(port)) break;
    if (Date.now() > deadline) {
      failure = new Error(`turnserver did not listen on 127.0.0.1:${port} in time:\n${output}`);
      break;
    }
    await sleep(50);
  }
  if (failure) {
    await stop();
    throw failure;
  }
  return { port, url: `turn:127.0.0.1:${port}`, log: () => output, stop };
}

export interface UclientResult {
  /** Exit code (null when killed by the timeout). */
  code: number | null;
  output: string;
  /** The relay address coturn allocated, when it did. */
  relayAddress: string | null;
}

/**
 * One allocation (plus a refresh and a single 100-byte message relayed between two
 * allocations, `-y`) over TCP with `turnutils_uclient`:
 *
 *   turnutils_uclient -v -t -y -c -n 1 -u <username> -w <credential> -p <port> 127.0.0.1
 *
 * On success it exits 0 and prints `Received relay addr: 127.0.0.1:<port>`; when the
 * server refuses the credentials it exits 255 after printing `Cannot complete Allocation`.
 */
export function allocateWithUclient(opts: {
  port: number;
  username: string;
  credential: string;
  timeoutMs?: number;
  /** Relay to this peer (`-e`, `-r`; IPv6 peers get an IPv6 allocation, `-x`) instead of client to client. */
  peer?: { address: string; port: number; messages: number };
}): Promise<UclientResult> {
  const target = opts.peer
    ? [
        ...(opts.peer.address.includes(':') ? ['-x'] : []),
        '-n',
        String(opts.peer.messages),
        '-e',
        opts.peer.address,
        '-r',
        String(opts.peer.port),
      ]
    : ['-y', '-n', '1'];
  const args = [
    '-v',
    '-t',
    '-c',
    ...target,
    '-u',
    opts.username,
    '-w',
    opts.credential,
    '-p',
    String(opts.port),
    '127.0.0.1',
  ];
  return new Promise((resolve, reject) => {
    execFile(UCLIENT_BIN, args, { timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err && typeof err.code === 'string') return reject(err); // ENOENT and the like
      const output = `${stdout}${stderr}`;
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      const relay = output.match(/Received relay addr: (\S+)/);
      resolve({ code, output, relayAddress: relay?.[1] ?? null });
    });
  });
}
