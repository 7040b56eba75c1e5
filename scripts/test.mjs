#!/usr/bin/env node
// Runs every test: lint (Biome), each package's type check (strict), then each package's tests.
// Tests use the local PostgreSQL and Redis when they answer; under CI they must.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';

const reachable = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

const env = { ...process.env };
env.PARLEY_TEST_PG_URL ??= 'postgres://postgres@127.0.0.1:5432/postgres';
env.PARLEY_TEST_REDIS_URL ??= 'redis://127.0.0.1:6379';
const [pg, redis] = await Promise.all([reachable(5432), reachable(6379)]);
if (!pg || !redis) {
  const missing = [!pg && 'PostgreSQL (127.0.0.1:5432)', !redis && 'Redis (127.0.0.1:6379)'].filter(Boolean);
  if (process.env.CI) {
    console.error(`CI needs ${missing.join(' and ')}, which did not answer.`);
    process.exit(1);
  }
  console.warn(`\n  ${missing.join(' and ')} not running: those tests are skipped; PGlite tests still run.\n`);
  if (!pg) env.PARLEY_TEST_PG_URL = '';
  if (!redis) env.PARLEY_TEST_REDIS_URL = '';
}

const run = (cmd, args) => {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const args = process.argv.slice(2);
if (args.length > 0) {
  // `pnpm test <file or filter>`: just those tests, with vitest's own arguments.
  run('pnpm', ['exec', 'vitest', 'run', ...args]);
} else {
  env.TURBO_TELEMETRY_DISABLED = '1';
  // Lint findings (warnings too) and unformatted files fail the run before anything is built.
  run('pnpm', ['exec', 'biome', 'ci', '--error-on-warnings', '.']);
  // Each package's type check and tests are turbo tasks: what did not change since the last
  // run (its files and those of the packages it depends on) is replayed from the cache.
  run('pnpm', ['exec', 'turbo', 'run', 'typecheck', '--concurrency=2']);
  // One package's tests at a time: the server's alone keep both cores busy. Its browser tests
  // load the built web app (a dependency of that task), as a user would.
  run('pnpm', ['exec', 'turbo', 'run', 'test', '--concurrency=1', '--continue']);
}
