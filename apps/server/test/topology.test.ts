/**
 * The docker-compose topology brought up natively on loopback: nginx (TLS with a certificate made
 * here, config derived from deploy/nginx/nginx.conf) in front of two Parley server processes in
 * production mode, a private Redis, PostgreSQL (a fresh database) and coturn. Clients only talk to
 * nginx over https/wss.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createParleyClient, followEvents, type ParleyClient } from '@parley/client';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoturn, type RunningCoturn } from '../../../packages/api/test/turn-helpers.js';
import { createTestDatabase, sleep, TEST_PG_URL, TEST_REDIS_URL, uniqueEmail, waitFor } from './helpers.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const NGINX_BIN = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const TOOLS = (existsSync('/usr/sbin/nginx') || has('nginx')) && has('openssl') && has('redis-server') && has('turnserver');

const JWT_SECRET = randomUUID() + randomUUID();
const TURN_SECRET = randomUUID();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  running: () => boolean;
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const procs = new Set<Proc>();

function run(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
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
      procs.delete(proc);
    },
  };
  procs.add(proc);
  return proc;
}
process.once('exit', () => {
  for (const p of procs) p.child.kill('SIGKILL');
});

async function status(url: string): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

async function metric(port: number, name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.split(' ').pop()) : NaN;
  } catch {
    return NaN;
  }
}

/** deploy/nginx/nginx.conf with only what a loopback test must change. */
function nginxConfig(dir: string, httpPort: number, httpsPort: number, upstreams: number[]) {
  let conf = readFileSync(join(REPO, 'deploy/nginx/nginx.conf'), 'utf8');
  const replace = (from: RegExp, to: string) => {
    if (!from.test(conf)) throw new Error(`nginx.conf no longer contains ${from}`);
    conf = conf.replace(from, to);
  };
  replace(/^worker_processes .*$/m, 'worker_processes 1;');
  replace(/^pid .*$/m, `pid ${dir}/nginx.pid;`);
  replace(/^error_log .*$/m, `error_log ${dir}/error.log warn;`);
  replace(/worker_connections \d+;/, 'worker_connections 1024;');
  replace(/access_log \/dev\/stdout;/, `access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`);
  // No Docker DNS here: the instances are fixed loopback ports.
  replace(/^\s*resolver .*$/m, '');
  replace(/^\s*resolver_timeout .*$/m, '');
  conf = conf.replace(/^\s*server server-\d+:3000 .*$/gm, '');
  replace(/least_conn;/, `least_conn;\n${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=10s;`).join('\n')}`);
  conf = conf.replace(/^\s*listen \[::\]:.*$/gm, '');
  replace(/listen 80 default_server;/, `listen 127.0.0.1:${httpPort} default_server;`);
  replace(/listen 443 ssl default_server;/, `listen 127.0.0.1:${httpsPort} ssl default_server;`);
  // nginx < 1.25.1 (Debian 12) knows no "http2 on"; HTTP/1.1 is what WebSockets use anyway.
  const version = spawnSync(NGINX_BIN, ['-v'], { encoding: 'utf8' }).stderr.match(/nginx\/(\d+)\.(\d+)/);
  if (version && (Number(version[1]) < 1 || (Number(version[1]) === 1 && Number(version[2]) < 25))) {
    replace(/^\s*http2 on;$/m, '');
  }
  replace(/ssl_certificate \s*\S+;/, `ssl_certificate ${dir}/fullchain.pem;`);
  replace(/ssl_certificate_key \S+;/, `ssl_certificate_key ${dir}/privkey.pem;`);
  if (process.getuid?.() === 0) conf = `user root;\n${conf}`;
  return conf;
}

function sendWithRetry(client: ParleyClient, conversationId: string, clientId: string, body: string) {
  return (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await Promise.race([
          client.api.messages.send.mutate({ conversationId, clientId, body }),
          sleep(20_000).then(() => {
            throw new Error('send timed out');
          }),
        ]);
      } catch (err) {
        if (attempt >= 60) throw err;
        await sleep(250);
      }
    }
  })();
}

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL || !TOOLS)('the compose topology on loopback (nginx, TLS, two instances)', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let coturn: RunningCoturn;
  let redisPort: number;
  let redis: Proc;
  let nginx: Proc;
  let base: string;
  const ports: number[] = [];
  const servers: (Proc | null)[] = [null, null];
  const clients: ParleyClient[] = [];
  let env: NodeJS.ProcessEnv;

  const startRedis = () => run('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const ready = (i: number) => status(`http://127.0.0.1:${ports[i]}/readyz`);
  const startInstance = async (i: number) => {
    const proc = run(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
      cwd: REPO,
      env: { ...env, PORT: String(ports[i]), INSTANCE_ID: `server-${i + 1}`, DATA_DIR: join(dir, `data-${i + 1}`) },
    });
    servers[i] = proc;
    await waitFor(async () => !proc.running() || (await ready(i)) === 200, { timeoutMs: 90_000, intervalMs: 200 });
    if (!proc.running()) throw new Error(`server-${i + 1} exited:\n${proc.output()}`);
  };
  const client = () => {
    const c = createParleyClient({
      url: base,
      cookies: 'jar',
      transport: 'ws',
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
      retryDelayMs: () => 200,
    });
    clients.push(c);
    return c;
  };
  const register = async (name: string) => {
    const c = client();
    const r = await c.api.auth.register.mutate({ email: uniqueEmail('topo'), password: 'correct horse battery', displayName: name });
    return { client: c, user: r.user };
  };
  const follow = (c: ParleyClient, conversationId: string) => {
    const seqs: number[] = [];
    let started = false;
    const follower = followEvents(c.api, {
      onStarted: () => (started = true),
      onEvent: (e) => {
        if (e.type === 'message.new' && e.message.conversationId === conversationId) seqs.push(e.message.seq);
      },
    });
    return { seqs, follower, started: () => waitFor(() => started, { timeoutMs: 30_000 }) };
  };

  beforeAll(async () => {
    // Only this test process trusts the self-signed certificate made below.
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    dir = mkdtempSync(join(tmpdir(), 'parley-topology-'));
    const cert = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'privkey.pem'), '-out', join(dir, 'fullchain.pem'),
    ], { encoding: 'utf8' });
    if (cert.status !== 0) throw new Error(`openssl failed: ${cert.stderr}`);

    database = await createTestDatabase();
    coturn = await startCoturn({ secret: TURN_SECRET });
    redisPort = await freePort();
    redis = startRedis();
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    ports.push(await freePort(), await freePort());
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    base = `https://127.0.0.1:${httpsPort}`;
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      JWT_SECRET,
      TURN_SECRET,
      TURN_URLS: coturn.url,
      ALLOWED_ORIGINS: base,
      DATABASE_URL: database.url,
      DATABASE_POOL_SIZE: '5',
      REDIS_URL: redisUrl,
      BCRYPT_COST: '12',
      TRUST_PROXY: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    await waitFor(async () => (await (async () => {
      const { Redis } = await import('ioredis');
      const r = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await r.connect();
        return (await r.ping()) === 'PONG';
      } catch {
        return false;
      } finally {
        r.disconnect();
      }
    })()), { timeoutMs: 20_000, intervalMs: 100 });
    // Both start at once, as compose starts them: the migration lock serializes them.
    await Promise.all([startInstance(0), startInstance(1)]);

    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, httpPort, httpsPort, ports));
    nginx = run(NGINX_BIN, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    await waitFor(async () => !nginx.running() || (await status(`${base}/healthz`)) === 200, { timeoutMs: 30_000, intervalMs: 100 });
    if (!nginx.running()) {
      throw new Error(`nginx exited:\n${nginx.output()}\n${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`);
    }
    // Plain HTTP redirects to HTTPS.
    const redirect = await fetch(`http://127.0.0.1:${httpPort}/`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await Promise.all([...procs].map((p) => p.stop('SIGTERM', 10_000)));
    await coturn?.stop();
    await database?.drop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** Signs two users in and keeps reconnecting until their sockets sit on different instances. */
  async function pairOnBothInstances() {
    const a = await register('Ada');
    const b = await register('Bob');
    const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
    const subA = follow(a.client, conv.id);
    await subA.started();
    let subB = follow(b.client, conv.id);
    await subB.started();
    for (let i = 0; i < 20; i++) {
      const counts = await Promise.all(ports.map((p) => metric(p, 'parley_websocket_connections')));
      if (counts.every((n) => n >= 1)) break;
      subB.follower.stop();
      b.client.reconnect();
      subB = follow(b.client, conv.id);
      await subB.started();
    }
    return { a, b, conv, subA, subB };
  }

  it('serves HTTPS with the security headers, and users on different instances chat through it', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('strict-transport-security')).toContain('max-age');

    const { a, b, conv, subB } = await pairOnBothInstances();
    const counts = await Promise.all(ports.map((p) => metric(p, 'parley_websocket_connections')));
    expect(counts.every((n) => n >= 1)).toBe(true);

    for (let i = 0; i < 5; i++) await sendWithRetry(a.client, conv.id, randomUUID(), `hello ${i}`);
    await waitFor(() => subB.seqs.length >= 5, { timeoutMs: 30_000 });
    expect(subB.seqs).toEqual([1, 2, 3, 4, 5]);
    const reply = await sendWithRetry(b.client, conv.id, randomUUID(), 'hi Ada');
    expect(reply.seq).toBe(6);

    const sent = await Promise.all(ports.map((p) => metric(p, 'parley_messages_sent_total')));
    expect(sent.reduce((x, y) => x + y, 0)).toBe(6);
    const delivered = await Promise.all(ports.map((p) => metric(p, 'parley_messages_delivered_total')));
    expect(delivered.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(6);
  }, 180_000);

  it('loses nothing when an instance gets SIGTERM in the middle of a burst', async () => {
    const { a, conv, subB } = await pairOnBothInstances();
    const total = 30;
    const burst = (async () => {
      for (let i = 1; i <= total; i++) await sendWithRetry(a.client, conv.id, randomUUID(), `burst ${i}`);
    })();
    await waitFor(() => subB.seqs.length >= 8, { timeoutMs: 60_000 });
    const stopping = servers[0]!;
    await stopping.stop('SIGTERM', 30_000);
    expect(await stopping.exited).toBe(0);
    expect(stopping.output()).toContain('Closing sockets: clients reconnect elsewhere');
    await burst;
    await waitFor(() => subB.seqs.length >= total, { timeoutMs: 60_000 });
    expect(subB.seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const stored = await a.client.api.messages.list.query({ conversationId: conv.id, limit: 100 });
    expect(stored.items.map((m) => m.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // The instance comes back (as compose restarts it) for the tests that follow.
    await startInstance(0);
  }, 240_000);

  it('recovers by itself when Redis restarts', async () => {
    const { a, conv, subB } = await pairOnBothInstances();
    await sendWithRetry(a.client, conv.id, randomUUID(), 'before');
    await waitFor(() => subB.seqs.length >= 1, { timeoutMs: 30_000 });

    await redis.stop('SIGTERM');
    await waitFor(async () => (await ready(0)) === 503 && (await ready(1)) === 503, { timeoutMs: 60_000, intervalMs: 200 });
    redis = startRedis();
    await waitFor(async () => (await ready(0)) === 200 && (await ready(1)) === 200, { timeoutMs: 90_000, intervalMs: 250 });
    expect(servers.map((s) => s!.output()).join('')).toContain('Redis subscriber connected');

    for (let i = 0; i < 3; i++) await sendWithRetry(a.client, conv.id, randomUUID(), `after ${i}`);
    await waitFor(() => subB.seqs.length >= 4, { timeoutMs: 60_000 });
    expect(subB.seqs).toEqual([1, 2, 3, 4]);
  }, 240_000);
});
