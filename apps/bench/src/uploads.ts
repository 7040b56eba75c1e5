/**
 * `pnpm --filter @parley/bench bench:uploads`: upload streaming. The real server runs as a child
 * process (folder storage in a fresh DATA_DIR); N clients (10) each upload a file of SIZE MiB (25)
 * at once through attachments.createUpload and the signed PUT. Reported: the server's RSS before
 * and its peak while the uploads run (flat = streamed, not buffered: 10 × 25 MiB held would add
 * 250 MiB), and the upload throughput on loopback. Options: --clients --mib --rounds --out.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createParleyClient } from '@parley/client';
import { cleanup, freePort, rssBytes, sleep, startChild, stopChild } from './procs.js';

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '10' },
    mib: { type: 'string', default: '25' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const clients = Number(args.clients);
const size = Number(args.mib) * 1024 * 1024;
const rounds = Number(args.rounds);
const MiB = 1024 * 1024;
const benchDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(
  args.out ?? join(benchDir, 'results', `uploads-${new Date().toISOString().replace(/[:.]/g, '-')}`),
);
mkdirSync(outDir, { recursive: true });

/** `size` bytes in 64 KiB chunks made as they are read: the bench holds no file either. */
function body(bytes: number) {
  const chunk = randomBytes(64 * 1024);
  let left = bytes;
  return Readable.toWeb(
    new Readable({
      read() {
        if (left <= 0) return this.push(null);
        const n = Math.min(left, chunk.length);
        left -= n;
        this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
      },
    }),
  ) as ReadableStream;
}

async function main() {
  process.on('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-uploads-'));
  const port = await freePort();
  const child = await startChild({
    name: 'parley',
    port,
    logFile: join(outDir, 'parley-server.log'),
    env: {
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      DATABASE_URL: '',
      REDIS_URL: '',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      RATE_LIMIT_SCALE: '1000000',
      MAX_UPLOAD_BYTES: String(Math.max(size, 25 * MiB)),
    },
  });
  try {
    const people = await Promise.all(
      Array.from({ length: clients + 1 }, async (_, i) => {
        const c = createParleyClient({ url: child.url, cookies: 'jar' });
        const r = await c.api.auth.register.mutate({
          email: `up${i}-${Date.now()}@bench.test`,
          password: 'bench password',
          displayName: `Uploader ${i}`,
        });
        return { c, id: r.user.id };
      }),
    );
    const [host, ...uploaders] = people;
    const convs = await Promise.all(
      uploaders.map((u) => u.c.api.conversations.openDirect.mutate({ userId: host!.id })),
    );

    const upload = async (i: number, bytes: number) => {
      const u = uploaders[i]!;
      const slot = await u.c.api.attachments.createUpload.mutate({
        conversationId: convs[i]!.id,
        name: 'bench.bin',
        size: bytes,
        contentType: 'application/octet-stream',
      });
      const res = await fetch(`${child.url}${slot.uploadUrl}`, {
        method: 'PUT',
        headers: { ...slot.headers, 'content-length': String(bytes) },
        body: body(bytes),
        // @ts-expect-error -- undici needs `duplex` for a stream body; the DOM RequestInit type lacks it.
        duplex: 'half',
      });
      if (res.status !== 200) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
    };
    // Warm-up: JIT, the first file writes.
    await Promise.all(uploaders.map((_, i) => upload(i, MiB)));
    await sleep(500);

    const results: { rssBeforeMiB: number; rssPeakMiB: number; seconds: number; mibPerSecond: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const before = rssBytes(child.pid) ?? NaN;
      let peak = before;
      let running = true;
      const sampler = (async () => {
        while (running) {
          peak = Math.max(peak, rssBytes(child.pid) ?? 0);
          await sleep(20);
        }
      })();
      const t0 = performance.now();
      await Promise.all(uploaders.map((_, i) => upload(i, size)));
      const seconds = (performance.now() - t0) / 1000;
      running = false;
      await sampler;
      const round = {
        rssBeforeMiB: before / MiB,
        rssPeakMiB: peak / MiB,
        seconds,
        mibPerSecond: (clients * size) / MiB / seconds,
      };
      results.push(round);
      console.log(
        `round ${r + 1}: ${clients} × ${size / MiB} MiB in ${seconds.toFixed(2)} s = ${round.mibPerSecond.toFixed(0)} MiB/s; ` +
          `server RSS ${round.rssBeforeMiB.toFixed(0)} → peak ${round.rssPeakMiB.toFixed(0)} MiB (+${(round.rssPeakMiB - round.rssBeforeMiB).toFixed(0)})`,
      );
    }
    const report = { clients, mibEach: size / MiB, rounds: results };
    writeFileSync(join(outDir, 'uploads.json'), JSON.stringify(report, null, 2));
    console.log(`results in ${outDir}`);
    await Promise.all(people.map((p) => p.c.close()));
  } finally {
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch(async (err) => {
  console.error(err);
  await cleanup();
  process.exit(1);
});
