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
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TURNSERVER_BIN = process.env.TURNSERVER_BIN ?? 'turnserver';
export const UCLIENT_BIN = process.env.TURNUTILS_UCLIENT_BIN ?? 'turnutils_uclient';

export interface RunningCoturn {
  port: number;
  url: string;
  /** Everything coturn printed so far (stdout and stderr). */
  log(): string;
  stop(): Promise<void>;
}

/** A port that was free a moment ago (on TCP and UDP) on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const address = srv.address();
        srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
      });
    });
    const { createSocket } = await import('node:dgram');
    const udpFree = await new Promise<boolean>((resolve) => {
      const sock = createSocket('udp4');
      sock.once('error', () => resolve(false));
      sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('Could not find a free port for coturn');
}

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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startCoturn(opts: {
  secret: string;
  realm?: string;
  /** Extra command-line options, e.g. `['--denied-peer-ip=127.0.0.0-127.255.255.255']`. */
  extraArgs?: string[];
  timeoutMs?: number;
}): Promise<RunningCoturn> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'parley-coturn-'));
  // An empty config file, so that /etc/turnserver.conf of the machine is never read.
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(conf, '# intentionally empty: every option is on the command line\n');
  const args = [
    '-c', conf,
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

  let output = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let child: ChildProcess;
  try {
    child = spawn(TURNSERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exitedPromise = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
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
      if (!exited) {
        child.kill('SIGTERM');
        const killed = await Promise.race([exitedPromise.then(() => true), sleep(3000).then(() => false)]);
        if (!killed) {
          child.kill('SIGKILL');
          await exitedPromise;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let failure: Error | null = null;
  spawnError.then((e) => (failure = new Error(`Could not start ${TURNSERVER_BIN}: ${e.message}`)));
  for (;;) {
    if (failure) break;
    if (exited) {
      failure = new Error(`turnserver exited early (${JSON.stringify(exited)}):\n${output}`);
      break;
    }
    // The TCP listener opens after the relay and auth threads are set up.
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
}): Promise<UclientResult> {
  const args = ['-v', '-t', '-y', '-c', '-n', '1', '-u', opts.username, '-w', opts.credential, '-p', String(opts.port), '127.0.0.1'];
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
