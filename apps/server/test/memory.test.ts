/**
 * Memory amplification by reads: hostile clients send calls whose answers are megabytes (pages of
 * 4,000-character messages, 50 calls a WebSocket frame, 10 an HTTP batch, pipelined) and never read
 * the answers. The server runs as its own process on PostgreSQL; its RSS is sampled all along and
 * must stay under a bound, a bystander is served meanwhile, /readyz stays 200, and the server
 * closes a connection that does not read. Without backpressure (or with it checked before the
 * fair-share queue instead of just before the call runs) the same run passed +400 MB.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParleyClient, type ParleyClient } from '@parley/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverWebSockets, startHostileReaders } from '@parley/test-helpers/hostile-readers';
import { createTestDatabase, sleep, TEST_PG_URL, uniqueEmail, waitFor } from './helpers.js';
import { freePort, ServerProcess } from './process-helpers.js';

/** RSS the server may grow by while the attack runs, over its RSS before it. */
const RSS_GROWTH_BOUND_MB = 350;
const HOSTILE_SOCKETS = 16;
const FRAMES_PER_SOCKET = 20;
const HOSTILE_HTTP = 8;
const REQUESTS_PER_HTTP = 20;

const METRICS_HEADERS: Record<string, string> = {};

const rssMb = (pid: number) => {
  const kb = Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return kb / 1024;
};

describe.skipIf(!TEST_PG_URL)('hostile readers', () => {
  let dir: string;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: ServerProcess;
  const clients: ParleyClient[] = [];
  const client = () => {
    const c = createParleyClient({ url: server.url, cookies: 'jar' });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-memory-'));
    database = await createTestDatabase();
    server = new ServerProcess('memory', await freePort(), {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      JWT_SECRET: randomUUID() + randomUUID(),
      TURN_SECRET: randomUUID(),
      BCRYPT_COST: '4',
      // The read rate limit would stop this attack early; here backpressure alone must hold it.
      RATE_LIMIT_SCALE: '1000000',
      LOG_LEVEL: 'error',
      DATA_DIR: dir,
    });
    await server.start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server?.stop();
    await database?.drop().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  // One retry: in one of two quiet full runs a request to the server answered `fetch failed` after 10 s (stop 11's note); the bounds are still asserted on every try.
  it(`stays under +${RSS_GROWTH_BOUND_MB} MB RSS, serves a bystander, and closes readers that do not read`, {
    timeout: 120_000,
    retry: 1,
  }, async () => {
    const pid = server.proc!.child.pid!;
    // The hostile user: one conversation of 100 messages of 4,000 characters (~400 KB a page).
    const hostile = client();
    const h = await hostile.api.auth.register.mutate({
      email: uniqueEmail('hostile'),
      password: 'correct horse battery',
      displayName: 'H',
    });
    const other = client();
    const o = await other.api.auth.register.mutate({
      email: uniqueEmail('other'),
      password: 'correct horse battery',
      displayName: 'O',
    });
    const direct = await hostile.api.conversations.openDirect.mutate({ userId: o.user.id });
    for (let i = 0; i < 100; i++) {
      await hostile.api.messages.send.mutate({
        conversationId: direct.id,
        clientId: randomUUID(),
        body: `${i} ${'x'.repeat(3990)}`,
      });
    }
    const bystander = client();
    await bystander.api.auth.register.mutate({
      email: uniqueEmail('bystander'),
      password: 'correct horse battery',
      displayName: 'B',
    });
    await bystander.api.auth.me.query();
    await sleep(500);
    const before = rssMb(pid);
    let peak = before;
    let over = false;
    const sampler = setInterval(() => {
      const now = rssMb(pid);
      peak = Math.max(peak, now);
      if (now - before > RSS_GROWTH_BOUND_MB && !over) {
        over = true;
        // Fail without taking the machine down with it.
        server.proc?.child.kill('SIGKILL');
      }
    }, 50);

    const attack = startHostileReaders({
      url: server.url,
      accessToken: h.accessToken,
      conversationId: direct.id,
      sockets: HOSTILE_SOCKETS,
      framesPerSocket: FRAMES_PER_SOCKET,
      httpConnections: HOSTILE_HTTP,
      requestsPerConnection: REQUESTS_PER_HTTP,
    });

    try {
      // Meanwhile a bystander is served and the instance reports ready.
      for (let i = 0; i < 5; i++) {
        await sleep(500);
        expect(over, `RSS ${peak.toFixed(0)} MB, started at ${before.toFixed(0)} MB`).toBe(false);
        expect((await bystander.api.auth.me.query()).displayName).toBe('B');
        expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      }
      // The server closes a WebSocket that does not read (send buffer over the limit, no progress).
      // The others' calls wait behind it in the user's fair share, holding no answers.
      // (A client whose socket is paused does not see the close: ask the server how many it holds.)
      const serverSockets = () => serverWebSockets(server.url, { headers: METRICS_HEADERS });
      expect(await serverSockets()).toBeGreaterThanOrEqual(HOSTILE_SOCKETS);
      await waitFor(async () => (await serverSockets()) < HOSTILE_SOCKETS, { timeoutMs: 40_000, intervalMs: 250 });
      expect(over, `RSS ${peak.toFixed(0)} MB, started at ${before.toFixed(0)} MB`).toBe(false);
      console.log(`hostile readers: RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB`);
      expect((await bystander.api.auth.me.query()).displayName).toBe('B');
    } finally {
      clearInterval(sampler);
      attack.stop();
    }
  });
});
