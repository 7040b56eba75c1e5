/**
 * `pnpm --filter @parley/bench bench:hostile`: memory amplification by reads (the hardening
 * issue's high finding). Parley runs as a child process on PostgreSQL with its rate limits lifted,
 * so backpressure alone must hold; a hostile user asks for pages of 4,000-character messages over
 * N paused WebSockets (50 calls a frame) and M pipelined HTTP connections (batches of 10) and never
 * reads. Reported per round: the server's RSS before and its peak, a bystander's `auth.me` latency
 * calm and under attack, /readyz answers, and how long until the server had closed every hostile
 * socket (from its /metrics: a paused client never sees the close). Options: --sockets --frames --http --requests --seconds --rounds --out.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createParleyClient } from '@parley/client';
import { serverWebSockets, startHostileReaders } from '@parley/test-helpers/hostile-readers';
import { cleanup, createDatabase, freePort, rssBytes, sleep, startChild, stopChild } from './procs.js';
import { round, summarize } from './stats.js';

const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '40' },
    frames: { type: 'string', default: '20' },
    http: { type: 'string', default: '8' },
    requests: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const opts = {
  sockets: Number(args.sockets),
  frames: Number(args.frames),
  http: Number(args.http),
  requests: Number(args.requests),
  seconds: Number(args.seconds),
  rounds: Number(args.rounds),
};
const MiB = 1024 * 1024;
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(
  args.out ?? join(benchDir, 'results', `hostile-${new Date().toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(outDir, { recursive: true });

/** A bystander's `auth.me` answered every 100 ms for `ms`; latencies in ms. */
async function bystanderLatencies(me: () => Promise<unknown>, ms: number) {
  const latencies: number[] = [];
  let failed = 0;
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      await me();
      latencies.push(performance.now() - t0);
    } catch {
      failed++;
    }
    await sleep(100);
  }
  return { latency: summarize(latencies), failed };
}

async function oneRound(r: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-hostile-'));
  const databaseUrl = await createDatabase(`parley_bench_hostile_${Date.now()}_${r}`);
  const port = await freePort();
  const child = await startChild({
    name: 'parley',
    port,
    logFile: join(outDir, `parley-server-${r}.log`),
    env: {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      REDIS_URL: '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      // The read rate limit would stop the attack early; backpressure alone must hold it.
      RATE_LIMIT_SCALE: '1000000',
    },
  });
  const clients = Array.from({ length: 3 }, () => createParleyClient({ url: child.url, cookies: 'jar' }));
  const [hostile, other, bystander] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
  try {
    const register = (c: typeof hostile, name: string) =>
      c.api.auth.register.mutate({
        email: `${name}-${randomUUID()}@bench.test`,
        password: 'bench password',
        displayName: name,
      });
    const h = await register(hostile, 'Hostile');
    const o = await register(other, 'Other');
    await register(bystander, 'Bystander');
    const direct = await hostile.api.conversations.openDirect.mutate({ userId: o.user.id });
    for (let i = 0; i < 100; i++) {
      await hostile.api.messages.send.mutate({
        conversationId: direct.id,
        clientId: randomUUID(),
        body: `${i} ${'x'.repeat(3990)}`,
      });
    }
    const me = () => bystander.api.auth.me.query();
    await bystanderLatencies(me, 1000); // warm-up
    const calm = await bystanderLatencies(me, 3000);
    const webSockets = () => serverWebSockets(child.url, { timeoutMs: 2000 });
    const socketsBefore = await webSockets();
    const rssBefore = rssBytes(child.pid) ?? NaN;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(child.pid) ?? 0)), 50);
    // /readyz answers by status ("error": no answer within 2 s); a load balancer drops a 503.
    const readyz: Record<string, number> = {};
    const readiness = setInterval(() => {
      fetch(`${child.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
        (res) => (readyz[res.status] = (readyz[res.status] ?? 0) + 1),
        () => (readyz.error = (readyz.error ?? 0) + 1),
      );
    }, 500);
    const t0 = performance.now();
    const attack = startHostileReaders({
      url: child.url,
      accessToken: h.accessToken,
      conversationId: direct.id,
      sockets: opts.sockets,
      framesPerSocket: opts.frames,
      httpConnections: opts.http,
      requestsPerConnection: opts.requests,
    });
    // A paused client never sees its socket close: ask the server how many it still holds.
    let allClosedMs: number | null = null;
    const closing = setInterval(() => {
      webSockets().then(
        (n) => {
          if (allClosedMs === null && performance.now() - t0 > 1000 && n <= socketsBefore)
            allClosedMs = performance.now() - t0;
        },
        () => {},
      );
    }, 500);
    const attacked = await bystanderLatencies(me, opts.seconds * 1000);
    clearInterval(closing);
    clearInterval(sampler);
    clearInterval(readiness);
    attack.stop();
    const result = {
      rssBeforeMiB: round(rssBefore / MiB),
      rssPeakMiB: round(rssPeak / MiB),
      rssGrowthMiB: round((rssPeak - rssBefore) / MiB),
      calm: calm.latency,
      attacked: attacked.latency,
      bystanderFailed: calm.failed + attacked.failed,
      readyz,
      hostileSocketsClosedAfterMs: allClosedMs === null ? null : round(allClosedMs),
    };
    console.log(
      `round ${r + 1}: RSS ${result.rssBeforeMiB} → peak ${result.rssPeakMiB} MiB (+${result.rssGrowthMiB}); ` +
        `bystander auth.me p50/p99 calm ${result.calm.p50}/${result.calm.p99} ms, attacked ${result.attacked.p50}/${result.attacked.p99} ms, ` +
        `${result.bystanderFailed} failed; /readyz ${JSON.stringify(readyz)}; hostile sockets closed after ` +
        `${result.hostileSocketsClosedAfterMs === null ? `more than ${opts.seconds} s` : `${(result.hostileSocketsClosedAfterMs / 1000).toFixed(1)} s`}`,
    );
    return result;
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  console.log(
    `hostile readers: ${opts.sockets} WebSockets × ${opts.frames} frames of 50 messages.list, ` +
      `${opts.http} HTTP connections × ${opts.requests} batches of 10; each answer ~400 KB, none read`,
  );
  const rounds = [];
  for (let r = 0; r < opts.rounds; r++) rounds.push(await oneRound(r));
  writeFileSync(join(outDir, 'hostile.json'), JSON.stringify({ opts, rounds }, null, 2));
  console.log(`results in ${outDir}`);
  await cleanup();
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
