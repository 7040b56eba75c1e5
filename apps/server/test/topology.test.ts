/**
 * The docker-compose topology brought up natively on loopback: nginx (TLS with a certificate made
 * here, config derived from deploy/nginx/nginx.conf) in front of two Parley server processes in
 * production mode, a private Redis, a private PostgreSQL cluster and coturn started through
 * coturn/entrypoint.sh with the production configuration. Clients only talk to nginx over
 * https/wss. Redis and PostgreSQL are private so that restarting them disturbs no other test file.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParleyClient, followEvents, type ParleyClient, type RouterOutputs } from '@parley/client';
import { generateVapidKeys } from '@parley/config';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  allocateWithUclient,
  startProductionCoturn,
  type RunningCoturn,
} from '../../../packages/api/test/turn-helpers.js';
import { sleep, TEST_PG_URL, TEST_REDIS_URL, uniqueEmail, waitFor } from './helpers.js';
import {
  freePort,
  hasCommand as has,
  httpStatus as status,
  PrivateRedis,
  REPO,
  run,
  runningProcs,
  type Proc,
} from './process-helpers.js';

/** The VAPID variables production requires. */
function vapidEnv() {
  const keys = generateVapidKeys();
  return {
    VAPID_PUBLIC_KEY: keys.publicKey,
    VAPID_PRIVATE_KEY: keys.privateKey,
    VAPID_SUBJECT: 'mailto:ops@parley.test',
  };
}

const NGINX_BIN = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
/** Debian's server binaries (initdb, pg_ctl), newest version first. */
const PG_BIN = (() => {
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((x, y) => Number(y) - Number(x));
    const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((d) => existsSync(join(d, 'initdb')));
    return found ?? null;
  } catch {
    return null;
  }
})();
const TOOLS =
  (existsSync('/usr/sbin/nginx') || has('nginx')) &&
  has('openssl') &&
  has('redis-server') &&
  has('turnserver') &&
  has('turnutils_uclient') &&
  PG_BIN !== null;

const JWT_SECRET = randomUUID() + randomUUID();
const TURN_SECRET = randomUUID();

type Yield<T> = T extends AsyncIterable<infer U> ? U : never;
type PresenceEvent = Yield<RouterOutputs['presence']['onChange']>;
type CallEvent = Yield<RouterOutputs['calls']['onEvent']>;

function exec(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`))
        : resolve(stdout),
    ),
  );
}

/**
 * A PostgreSQL cluster of this test's own (initdb + pg_ctl), so that it can be stopped and
 * started while other test files use the shared one on 5432. initdb and postgres refuse to run
 * as root: under root the cluster belongs to the postgres user.
 */
async function startPrivatePostgres(binDir: string) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-topology-pg-'));
  const asRoot = process.getuid?.() === 0;
  const as = (bin: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, bin), ...args]] : [join(binDir, bin), args];
  if (asRoot) {
    const ids = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, ids('-u'), ids('-g'));
  }
  const data = join(dir, 'data');
  await exec(...as('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']));
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50`;
  const ctl = (...args: string[]) => exec(...as('pg_ctl', ['-D', data, ...args]));
  const start = () => ctl('-o', options, '-l', join(dir, 'postgres.log'), '-w', '-t', '60', 'start');
  const stop = () => ctl('-m', 'fast', '-w', '-t', '60', 'stop');
  const emergencyStop = () => spawnSync(...as('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']));
  process.once('exit', emergencyStop);
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    async destroy() {
      process.removeListener('exit', emergencyStop);
      await stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
  replace(
    /access_log \/dev\/stdout( \w+)?;/,
    `access_log ${dir}/access.log$1;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;`,
  );
  // No Docker DNS here: the instances are fixed loopback ports.
  replace(/^\s*resolver .*$/m, '');
  replace(/^\s*resolver_timeout .*$/m, '');
  conf = conf.replace(/^\s*server server-\d+:3000 .*$/gm, '');
  replace(
    /least_conn;/,
    `least_conn;\n${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=3 fail_timeout=10s;`).join('\n')}`,
  );
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

describe.skipIf(!TEST_PG_URL || !TEST_REDIS_URL || !TOOLS)(
  'the compose topology on loopback (nginx, TLS, two instances)',
  () => {
    let dir: string;
    let postgres: Awaited<ReturnType<typeof startPrivatePostgres>>;
    let coturn: RunningCoturn;
    let redis: PrivateRedis;
    let nginx: Proc;
    let base: string;
    const ports: number[] = [];
    const servers: (Proc | null)[] = [null, null];
    const clients: ParleyClient[] = [];
    /** Subscriptions to end after each test (a follower would otherwise reopen a closed client's socket). */
    const subscriptions: { unsubscribe(): void }[] = [];
    let env: NodeJS.ProcessEnv;

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
      const r = await c.api.auth.register.mutate({
        email: uniqueEmail('topo'),
        password: 'correct horse battery',
        displayName: name,
      });
      return { client: c, user: r.user, session: r };
    };
    /** Signed-in sockets per instance (each test starts with none: see afterEach). */
    const authenticated = () => Promise.all(ports.map((p) => metric(p, 'parley_authenticated_connections')));
    const follow = (c: ParleyClient, conversationId: string) => {
      const seqs: number[] = [];
      let started = false;
      const follower = followEvents(c.api, {
        onStarted: () => (started = true),
        onEvent: (e) => {
          if (e.type === 'message.new' && e.message.conversationId === conversationId) seqs.push(e.message.seq);
        },
      });
      subscriptions.push({ unsubscribe: () => follower.stop() });
      return { seqs, follower, started: () => waitFor(() => started, { timeoutMs: 30_000 }) };
    };

    beforeAll(async () => {
      // Only this test process trusts the self-signed certificate made below.
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      dir = mkdtempSync(join(tmpdir(), 'parley-topology-'));
      const cert = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
          '-keyout',
          join(dir, 'privkey.pem'),
          '-out',
          join(dir, 'fullchain.pem'),
        ],
        { encoding: 'utf8' },
      );
      if (cert.status !== 0) throw new Error(`openssl failed: ${cert.stderr}`);

      postgres = await startPrivatePostgres(PG_BIN!);
      // The production coturn configuration, started as the compose service starts it.
      coturn = await startProductionCoturn({ secret: TURN_SECRET, realm: 'turn.parley.test' });
      redis = await PrivateRedis.start();
      const redisUrl = redis.url;
      ports.push(await freePort(), await freePort());
      const [httpPort, httpsPort] = [await freePort(), await freePort()];
      base = `https://127.0.0.1:${httpsPort}`;
      env = {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        JWT_SECRET,
        TURN_SECRET,
        TURN_URLS: `${coturn.url}?transport=udp,${coturn.url}?transport=tcp`,
        STUN_URLS: coturn.url.replace(/^turn:/, 'stun:'),
        ALLOWED_ORIGINS: base,
        DATABASE_URL: postgres.url,
        DATABASE_POOL_SIZE: '5',
        REDIS_URL: redisUrl,
        BCRYPT_COST: '12',
        TRUST_PROXY: '127.0.0.1',
        // Request lines are logged at debug: the request-id check below reads them.
        LOG_LEVEL: 'debug',
        // Both instances sign pushes with the same keys, as a deployment must.
        ...vapidEnv(),
      };
      // Both start at once, as compose starts them: the migration lock serializes them.
      await Promise.all([startInstance(0), startInstance(1)]);

      writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, httpPort, httpsPort, ports));
      nginx = run(NGINX_BIN, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
      await waitFor(async () => !nginx.running() || (await status(`${base}/healthz`)) === 200, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      if (!nginx.running()) {
        throw new Error(
          `nginx exited:\n${nginx.output()}\n${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`,
        );
      }
      // Plain HTTP redirects to HTTPS.
      const redirect = await fetch(`http://127.0.0.1:${httpPort}/`, { redirect: 'manual' });
      expect(redirect.status).toBe(301);
    }, 240_000);

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
      await Promise.all(runningProcs().map((p) => p.stop('SIGTERM', 10_000)));
      await coturn?.stop();
      await postgres?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, 120_000);

    // Every test starts with no socket anywhere, so that the per-instance socket counts say where
    // this test's users are.
    afterEach(async () => {
      for (const s of subscriptions.splice(0)) s.unsubscribe();
      await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
      await waitFor(
        async () =>
          (await Promise.all(ports.map((p) => metric(p, 'parley_websocket_connections')))).every((n) => n === 0),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
        },
      );
    }, 60_000);

    /** Waits until exactly `n` signed-in sockets remain (a closed one may take a moment to go). */
    const settled = (n: number) =>
      waitFor(
        async () => {
          const counts = await authenticated();
          return counts.reduce((x, y) => x + y, 0) === n ? counts : null;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );

    /** Signs two users in and keeps reconnecting until their sockets sit on different instances. */
    async function pairOnBothInstances() {
      const a = await register('Ada');
      const b = await register('Bob');
      const conv = await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const subA = follow(a.client, conv.id);
      await subA.started();
      let subB = follow(b.client, conv.id);
      await subB.started();
      for (let i = 0; ; i++) {
        if ((await settled(2)).every((n) => n === 1)) break;
        if (i === 20) throw new Error('nginx never put the two users on different instances');
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
      // Request ids: nginx's goes back to the client, into its access log and, as the instance's
      // reqId, into the instance's log: one id follows a request through both.
      expect(await status(`${base}/metrics`)).toBe(404);
      expect(await status(`http://127.0.0.1:${ports[0]}/metrics`)).toBe(200);
      const trpc = await fetch(`${base}/trpc/auth.me`);
      expect(trpc.status).toBe(401);
      const requestId = trpc.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f]{32}$/);
      await waitFor(() => readFileSync(join(dir, 'access.log'), 'utf8').includes(`request_id=${requestId}`), {
        timeoutMs: 10_000,
      });
      await waitFor(
        () =>
          servers
            .map((s) => s!.output())
            .join('')
            .includes(`"reqId":"${requestId}"`),
        { timeoutMs: 10_000 },
      );

      const { a, b, conv, subB } = await pairOnBothInstances();
      expect(await authenticated()).toEqual([1, 1]);

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

      const logged = () => servers.map((s) => s!.output()).join('');
      const count = (text: string) => logged().split(text).length - 1;
      const [unreachable, back] = [count('Redis unreachable'), count('Redis reachable again')];

      await redis.stop();
      await waitFor(async () => (await ready(0)) === 503 && (await ready(1)) === 503, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      // Each instance says once what is wrong and what to check.
      await waitFor(() => count('Redis unreachable') === unreachable + 2, { timeoutMs: 30_000, intervalMs: 100 });
      expect(logged()).toContain('check that Redis is running and that REDIS_URL is right');
      // Sent while Redis is down: stored or retried (same clientId) until it is back.
      const during = sendWithRetry(a.client, conv.id, randomUUID(), 'during the outage');
      await sleep(500);
      await redis.start();
      await waitFor(async () => (await ready(0)) === 200 && (await ready(1)) === 200, {
        timeoutMs: 90_000,
        intervalMs: 250,
      });
      expect(logged()).toContain('Redis subscriber connected');
      await waitFor(() => count('Redis reachable again') === back + 2, { timeoutMs: 30_000, intervalMs: 100 });
      expect(count('Redis unreachable')).toBe(unreachable + 2);

      expect((await during).seq).toBe(2);
      for (let i = 0; i < 3; i++) await sendWithRetry(a.client, conv.id, randomUUID(), `after ${i}`);
      await waitFor(() => subB.seqs.length >= 5, { timeoutMs: 60_000 });
      await sleep(300);
      expect(subB.seqs).toEqual([1, 2, 3, 4, 5]);
    }, 240_000);

    it('shows presence across instances: a user on the other instance comes online and goes offline', async () => {
      const a = await register('Ada');
      const b = await register('Bob');
      // Ada's first call over the WebSocket opens her socket; Bob has none yet.
      await a.client.api.conversations.openDirect.mutate({ userId: b.user.id });
      const seen: PresenceEvent[] = [];
      let started = false;
      subscriptions.push(
        a.client.api.presence.onChange.subscribe(undefined, {
          onStarted: () => (started = true),
          onData: (e) => seen.push(e),
        }),
      );
      await waitFor(() => started && seen.length > 0, { timeoutMs: 30_000 });
      expect(seen[0]).toEqual({
        type: 'snapshot',
        users: [expect.objectContaining({ userId: b.user.id, online: false })],
      });
      const adaOn = (await settled(1)).indexOf(1);
      const bobUpdates = (from: number) =>
        seen
          .slice(from)
          .filter(
            (e): e is Extract<PresenceEvent, { type: 'update' }> => e.type === 'update' && e.userId === b.user.id,
          );

      // Bob's socket opens with his first call over it; least_conn sends it to the other instance
      // (checked, with a fresh socket if not).
      let bob = b.client;
      let mark = seen.length;
      for (let i = 0; ; i++) {
        mark = seen.length;
        await bob.api.auth.me.query();
        if ((await settled(2))[1 - adaOn] === 1) break;
        if (i === 20) throw new Error('nginx never put the two users on different instances');
        await bob.close();
        await waitFor(() => bobUpdates(mark).some((e) => !e.online), { timeoutMs: 30_000 });
        bob = client();
        bob.setSession(b.session);
      }
      await waitFor(() => bobUpdates(mark).length > 0, { timeoutMs: 30_000 });
      expect(bobUpdates(mark)).toEqual([expect.objectContaining({ online: true })]);

      mark = seen.length;
      await bob.close();
      await waitFor(() => bobUpdates(mark).length > 0, { timeoutMs: 30_000 });
      const offline = bobUpdates(mark);
      expect(offline).toEqual([expect.objectContaining({ online: false })]);
      expect(offline[0]?.lastSeenAt).toBeTruthy();
    }, 120_000);

    it('places a call between users on different instances, with TURN credentials coturn accepts', async () => {
      const { a, b, conv } = await pairOnBothInstances();
      const followCalls = async (c: ParleyClient) => {
        const events: CallEvent[] = [];
        let started = false;
        subscriptions.push(
          c.api.calls.onEvent.subscribe(undefined, {
            onStarted: () => (started = true),
            onData: (e) => events.push(e),
          }),
        );
        await waitFor(() => started, { timeoutMs: 30_000 });
        type StateEvent = Extract<CallEvent, { call: unknown }>;
        const next = (type: StateEvent['type']) =>
          waitFor(() => events.find((e): e is StateEvent => e.type === type), { timeoutMs: 30_000 });
        const nextSignal = () =>
          waitFor(() => events.find((e): e is Extract<CallEvent, { type: 'signal' }> => e.type === 'signal'), {
            timeoutMs: 30_000,
          });
        return { events, next, nextSignal };
      };
      const [callsA, callsB] = await Promise.all([followCalls(a.client), followCalls(b.client)]);

      const call = await a.client.api.calls.start.mutate({ conversationId: conv.id, media: 'audio' });
      const incoming = await callsB.next('call.incoming');
      expect(incoming.call).toMatchObject({ id: call.id, callerId: a.user.id, state: 'ringing' });
      await b.client.api.calls.accept.mutate({ callId: call.id });
      expect((await callsA.next('call.accepted')).call).toMatchObject({ id: call.id, state: 'active' });

      const offer = { type: 'offer' as const, sdp: `v=0 offer ${randomUUID()}` };
      await a.client.api.calls.signal.mutate({ callId: call.id, signal: offer });
      expect(await callsB.nextSignal()).toEqual({
        type: 'signal',
        callId: call.id,
        fromUserId: a.user.id,
        signal: offer,
      });
      const answer = { type: 'answer' as const, sdp: `v=0 answer ${randomUUID()}` };
      await b.client.api.calls.signal.mutate({ callId: call.id, signal: answer });
      expect(await callsA.nextSignal()).toEqual({
        type: 'signal',
        callId: call.id,
        fromUserId: b.user.id,
        signal: answer,
      });
      // Relayed to the other participant only: nobody hears their own signal back.
      expect(callsA.events.filter((e) => e.type === 'signal')).toHaveLength(1);
      expect(callsB.events.filter((e) => e.type === 'signal')).toHaveLength(1);

      // TURN: the coturn started above, with a credential that expires, computed from TURN_SECRET.
      const { iceServers, ttlSeconds } = await b.client.api.calls.iceServers.query();
      const turn = iceServers.find((s) => s.username !== undefined);
      expect(turn?.urls).toEqual([`${coturn.url}?transport=udp`, `${coturn.url}?transport=tcp`]);
      expect(iceServers.find((s) => s.username === undefined)?.urls).toEqual([coturn.url.replace(/^turn:/, 'stun:')]);
      const [expiry, userId] = (turn?.username ?? '').split(':');
      expect(userId).toBe(b.user.id);
      expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(ttlSeconds - 60);
      expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(ttlSeconds);
      const allocation = await allocateWithUclient({
        port: coturn.port,
        username: turn!.username!,
        credential: turn!.credential!,
      });
      expect(allocation.relayAddress, `${allocation.output}\n${coturn.log()}`).toMatch(/^127\.0\.0\.1:\d+$/);

      await a.client.api.calls.hangup.mutate({ callId: call.id });
      expect((await callsB.next('call.ended')).call).toMatchObject({ id: call.id, state: 'ended' });
      expect((await callsA.next('call.ended')).call).toMatchObject({ id: call.id, state: 'ended' });
    }, 120_000);

    it('recovers by itself when PostgreSQL restarts, and delivers what was sent meanwhile once', async () => {
      const { a, conv, subB } = await pairOnBothInstances();
      await sendWithRetry(a.client, conv.id, randomUUID(), 'before');
      await waitFor(() => subB.seqs.length >= 1, { timeoutMs: 30_000 });
      const logged = () => servers.map((s) => s!.output()).join('');
      const count = (text: string) => logged().split(text).length - 1;
      const [unreachable, back] = [count('PostgreSQL unreachable'), count('PostgreSQL reachable again')];

      await postgres.stop();
      await waitFor(async () => (await ready(0)) === 503 && (await ready(1)) === 503, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      // Sent while the database is down: retried (same clientId) until it is back.
      const during = sendWithRetry(a.client, conv.id, randomUUID(), 'during the outage');
      // Each instance says what is wrong and what to check.
      await waitFor(() => count('PostgreSQL unreachable') === unreachable + 2, { timeoutMs: 30_000, intervalMs: 200 });
      expect(logged()).toContain('check that the database is running and that DATABASE_URL is right');

      await postgres.start();
      await waitFor(async () => (await ready(0)) === 200 && (await ready(1)) === 200, {
        timeoutMs: 60_000,
        intervalMs: 200,
      });
      expect((await during).seq).toBe(2);
      await sendWithRetry(a.client, conv.id, randomUUID(), 'after');
      await waitFor(() => subB.seqs.length >= 3, { timeoutMs: 60_000 });
      await sleep(300);
      expect(subB.seqs).toEqual([1, 2, 3]);
      await waitFor(() => count('PostgreSQL reachable again') === back + 2, { timeoutMs: 30_000, intervalMs: 200 });
      expect(count('PostgreSQL unreachable')).toBe(unreachable + 2);
    }, 180_000);
  },
);
