/**
 * `pnpm --filter @parley/bench bench:search`: messages.search latency over 100,000 stored messages.
 * A fresh PostgreSQL database is seeded straight through @parley/db (users with sessions, groups,
 * messages whose words come from a fixed vocabulary, so every query has a known share of hits),
 * the real server runs as a child process (NODE_ENV=production), and one signed-in user, a
 * member of a quarter of the conversations, searches over HTTP, one request at a time.
 * Options: --messages (100000) --conversations (200) --runs (200 per query) --out.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createParleyClient } from '@parley/client';
import { openDatabase, seedMessages } from '@parley/db';
import { cleanup, createDatabase, freePort, startChild, stopChild } from './procs.js';
import { seedParley } from './seed.js';
import { summarize, type Summary } from './stats.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    conversations: { type: 'string', default: '200' },
    runs: { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});
const totalMessages = Number(args.messages);
const conversations = Number(args.conversations);
const runs = Number(args.runs);
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(
  args.out ?? join(benchDir, 'results', `search-${new Date().toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(outDir, { recursive: true });
const JWT_SECRET = 'bench-jwt-secret-bench-jwt-secret-0123456789';

// A vocabulary with a known spread: common words appear in many messages, rare ones in few.
const common = [
  'meeting',
  'tomorrow',
  'project',
  'deploy',
  'lunch',
  'review',
  'coffee',
  'release',
  'weekend',
  'budget',
];
const names = ['Jürgen', 'Anaïs', 'Will', 'Siobhán', 'Kenji'];
const filler = Array.from({ length: 2000 }, (_, i) => `w${i.toString(36)}x`);
const words = [...common, ...common, ...names, ...filler];
const rare = filler.slice(0, 3);

const QUERIES: Record<string, string> = {
  'common word': 'meeting',
  'stemmed word': 'meetings',
  'two words': 'deploy tomorrow',
  phrase: '"project review"',
  exclusion: 'lunch -coffee',
  name: 'Jürgen',
  'rare word': rare[0]!,
  'no hit': 'zzzznothing',
};

/** A VAPID key pair, which production requires (as in main.ts). */
function vapidKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]);
  return { publicKey: raw.toString('base64url'), privateKey: privateKey.export({ format: 'jwk' }).d! };
}

async function main() {
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const databaseUrl = await createDatabase(`parley_bench_search_${Date.now().toString(36)}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-search-'));
  try {
    // Migrate and seed before the server starts: the seed is not part of what is measured.
    const started = Date.now();
    const users = 40;
    const groups = Array.from({ length: conversations }, (_, g) => [0, 1, 2, 3].map((k) => (g + k * 10) % users));
    const seeded = await seedParley(
      { databaseUrl, jwtSecret: JWT_SECRET, accessTokenTtlSeconds: 3600, bcryptCost: 4 },
      { users, groups, password: 'bench password', runId: 'search' },
    );
    const database = await openDatabase({ databaseUrl, dataDir: '.', poolSize: 2 });
    await seedMessages(database.db, seeded.conversationIds, Math.ceil(totalMessages / conversations), words);
    await database.close();
    const seedMs = Date.now() - started;
    console.log(
      `seeded ${totalMessages} messages in ${conversations} conversations in ${(seedMs / 1000).toFixed(1)} s`,
    );

    const port = await freePort();
    const vapid = vapidKeys();
    const child = await startChild({
      name: 'parley',
      port,
      logFile: join(outDir, 'parley-server.log'),
      env: {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        JWT_SECRET,
        ACCESS_TOKEN_TTL_SECONDS: '3600',
        TURN_SECRET: 'bench-turn-secret-0123456789',
        VAPID_PUBLIC_KEY: vapid.publicKey,
        VAPID_PRIVATE_KEY: vapid.privateKey,
        VAPID_SUBJECT: 'mailto:bench@example.test',
        ALLOWED_ORIGINS: `http://127.0.0.1:${port}`,
        RATE_LIMIT_SCALE: '1000000',
        REDIS_URL: '',
      },
    });
    // User 0 is a member of every tenth conversation (g % 10 == 0): it searches 10,000 of the messages.
    const me = seeded.users[0]!;
    const client = createParleyClient({ url: child.url });
    client.setSession({ accessToken: me.token, accessTokenExpiresAt: me.expiresAt });

    const results: Record<string, { latency: Summary; hits: number }> = {};
    const all: number[] = [];
    for (const [label, query] of Object.entries(QUERIES)) {
      // Warm-up: plans, caches, JIT.
      for (let i = 0; i < 10; i++) await client.api.messages.search.query({ query, limit: 20 });
      const samples: number[] = [];
      let hits = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const page = await client.api.messages.search.query({ query, limit: 20 });
        samples.push(performance.now() - t0);
        hits = page.items.length;
      }
      all.push(...samples);
      results[label] = { latency: summarize(samples), hits };
      const s = results[label]!.latency;
      console.log(
        `${label.padEnd(14)} ${JSON.stringify(query).padEnd(20)} p50 ${s.p50.toFixed(2)} ms  p99 ${s.p99.toFixed(2)} ms  (${hits} on the first page)`,
      );
    }
    // Paging deep: the fifth page of the commonest word, by cursor.
    const deep: number[] = [];
    for (let i = 0; i < Math.max(20, runs / 10); i++) {
      let cursor: string | null = null;
      for (let p = 0; p < 5; p++) {
        const t0 = performance.now();
        const page: { nextCursor: string | null } = await client.api.messages.search.query({
          query: 'meeting',
          limit: 20,
          cursor,
        });
        if (p === 4) deep.push(performance.now() - t0);
        cursor = page.nextCursor;
      }
    }
    const overall = summarize(all);
    const fifth = summarize(deep);
    console.log(
      `all queries    p50 ${overall.p50.toFixed(2)} ms  p99 ${overall.p99.toFixed(2)} ms over ${all.length} searches`,
    );
    console.log(`5th page       p50 ${fifth.p50.toFixed(2)} ms  p99 ${fifth.p99.toFixed(2)} ms`);
    writeFileSync(
      join(outDir, 'search.json'),
      JSON.stringify(
        { messages: totalMessages, conversations, runs, seedMs, queries: QUERIES, results, overall, fifthPage: fifth },
        null,
        2,
      ),
    );
    console.log(`results in ${outDir}`);
    await client.close();
    await stopChild(child);
  } finally {
    await cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
