/**
 * The production build as the Docker image runs it: the compiled packages with node alone (no
 * tsx), and the production dependency closure that `pnpm deploy --prod` puts in the image.
 * (Not `pnpm deploy` itself here: it rewrites the workspace's install state to production-only,
 * and the next pnpm command would then reinstall without dev dependencies.)
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, httpStatus, REPO, run, type Proc } from './process-helpers.js';
import { waitFor } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'parley-prod-'));
let server: Proc | undefined;

const execFileAsync = promisify(execFile);
/** Asynchronous on purpose: a long synchronous child would block this worker's event loop past vitest's RPC timeout. */
const pnpm = async (args: string[]) => {
  try {
    const { stdout } = await execFileAsync('pnpm', args, {
      cwd: REPO,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
    });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`pnpm ${args.join(' ')} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
};

type Listed = { dependencies?: Record<string, Listed> };
/**
 * Optional peers pnpm fills from the workspace's own dev dependencies, which `pnpm list` then
 * shows under the package: sharp's @types/node (type declarations; nothing runs them).
 */
const OPTIONAL_PEERS: Record<string, string[]> = { sharp: ['@types/node'] };
/** Every package name in a `pnpm list --json` tree. */
function closure(deps: Record<string, Listed> | undefined, into = new Set<string>(), parent = '') {
  for (const [name, dep] of Object.entries(deps ?? {})) {
    if (into.has(name) || OPTIONAL_PEERS[parent]?.includes(name)) continue;
    into.add(name);
    closure(dep.dependencies, into, name);
  }
  return into;
}

beforeAll(async () => {
  // Served from turbo's cache when the test task's dependencies already built it.
  await pnpm(['exec', 'turbo', 'run', 'build', '--filter=@parley/server', '--output-logs=errors-only']);
}, 300_000);

afterAll(async () => {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('the production build', () => {
  it('has production dependencies without development tools', async () => {
    // The server and the workspace packages it depends on ("..."): pnpm lists each one's own tree.
    const projects = JSON.parse(
      await pnpm(['list', '--prod', '--depth', 'Infinity', '--json', '--filter', '@parley/server...']),
    ) as Listed[];
    const installed = new Set<string>();
    for (const project of projects) closure(project.dependencies, installed);
    expect([...installed]).toEqual(expect.arrayContaining(['fastify', '@parley/api', 'drizzle-orm', 'postgres']));
    for (const tool of ['tsx', 'vite', 'vitest', 'drizzle-kit', 'esbuild', 'playwright-core', 'turbo', '@types/node']) {
      expect(installed.has(tool), tool).toBe(false);
    }
  });

  it('runs the compiled server with node alone: migrations, the password worker, the API', {
    timeout: 120_000,
  }, async () => {
    const port = await freePort();
    const main = join(REPO, 'apps', 'server', 'dist', 'main.js');
    expect(existsSync(main)).toBe(true);
    server = run(process.execPath, ['--conditions=parley-compiled', main], {
      cwd: work,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        PORT: String(port),
        DATA_DIR: join(work, 'data'),
        BCRYPT_COST: '4',
        LOG_LEVEL: 'warn',
        WEB_DIST_DIR: join(REPO, 'apps', 'web', 'dist'),
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(async () => !server!.running() || (await httpStatus(`${url}/readyz`)) === 200, { timeoutMs: 90_000 });
    expect(server.running(), server.output()).toBe(true);

    const res = await fetch(`${url}/trpc/auth.register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: url },
      body: JSON.stringify({ email: 'prod@example.test', password: 'correct horse battery', displayName: 'Prod' }),
    });
    const body = (await res.json()) as { result?: { data?: { user?: { displayName?: string } } } };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.result?.data?.user?.displayName).toBe('Prod');
    // Only the compiled code ran: no TypeScript loader in the process.
    expect(server.output()).not.toMatch(/tsx|\.ts:\d+/);
  });
});
