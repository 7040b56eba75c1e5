/**
 * Test harness: real servers on real sockets, on PGlite or a throwaway PostgreSQL database.
 * The test runner (scripts/test.mjs) says where PostgreSQL and Redis are through PARLEY_TEST_*.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParleyClient, type ParleyClient, type ParleyClientOptions } from '@parley/client';
import { loadConfig, type Config } from '@parley/config';
import { countRows } from '@parley/db';
import type { RedisClient } from '@parley/api';
import postgres from 'postgres';
import WebSocket from 'ws';
import { startServer, type ParleyServer } from '../src/server.js';

export const TEST_PG_URL = process.env.PARLEY_TEST_PG_URL || '';
export const TEST_REDIS_URL = process.env.PARLEY_TEST_REDIS_URL || '';

export type DbKind = 'pglite' | 'postgres';
/** The databases this run can test against: PGlite always, PostgreSQL when it runs. */
export const DB_KINDS: DbKind[] = TEST_PG_URL ? ['pglite', 'postgres'] : ['pglite'];

/** A fresh PostgreSQL database for one test file, dropped afterwards. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `parley_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  const admin = postgres(TEST_PG_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export interface TestServerOptions {
  db: DbKind;
  /** Share one PostgreSQL database between servers (multi-instance tests). */
  databaseUrl?: string;
  redis?: boolean;
  env?: Record<string, string>;
  /** Presence's own Redis connection (a test cuts it to play a crashed instance). */
  presenceRedis?: RedisClient;
}

export interface TestServer {
  server: ParleyServer;
  config: Config;
  url: string;
  databaseUrl: string | undefined;
  client(opts?: Partial<ParleyClientOptions>): ParleyClient;
  close(): Promise<void>;
}

export async function startTestServer(opts: TestServerOptions): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  let ownDb: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
  let databaseUrl = opts.databaseUrl;
  if (opts.db === 'postgres' && !databaseUrl) {
    ownDb = await createTestDatabase();
    databaseUrl = ownDb.url;
  }
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    BCRYPT_COST: '4',
    // Tests sign up hundreds of users from one IP and send in bursts; rate-limit tests set 1.
    RATE_LIMIT_SCALE: '1000',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...(opts.redis ? { REDIS_URL: TEST_REDIS_URL } : {}),
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    TURN_SECRET: 'test-turn-secret-0123456789',
    ...opts.env,
  });
  const server = await startServer(config, { presenceRedis: opts.presenceRedis });
  const clients: ParleyClient[] = [];
  return {
    server,
    config,
    url: server.url,
    databaseUrl,
    client(clientOpts = {}) {
      const c = createParleyClient({
        url: server.url,
        cookies: 'jar',
        // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
        WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
        retryDelayMs: () => 50,
        ...clientOpts,
      });
      clients.push(c);
      return c;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      await ownDb?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
export const uniqueEmail = (prefix = 'user') =>
  `${prefix}-${Date.now().toString(36)}-${++counter}-${randomUUID().slice(0, 6)}@example.test`;

/** Registers a new user through a fresh client and returns both. */
export async function signUp(
  t: TestServer,
  displayName = `User ${++counter}`,
  clientOpts: Partial<ParleyClientOptions> = {},
) {
  const client = t.client(clientOpts);
  const email = uniqueEmail();
  const result = await client.api.auth.register.mutate({ email, password: 'correct horse battery', displayName });
  return { client, user: result.user, email, password: 'correct horse battery', accessToken: result.accessToken };
}

/** The tRPC error code of a rejected promise. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { data?: { code?: string } }).data?.code ?? `not a tRPC error: ${String(err)}`;
  }
  return 'no error';
}

/** Counts rows in every table, to show that a rejected call changed nothing. */
export const tableCounts = (t: TestServer) => countRows(t.server.database.db);

export { sleep, waitFor } from '@parley/test-helpers';

/** A WebSocket client on server `t` signed in with an access token obtained elsewhere. */
export function wsClientAs(t: TestServer, accessToken: string) {
  const client = t.client({ transport: 'ws' });
  client.setSession({ accessToken, accessTokenExpiresAt: new Date(Date.now() + 14 * 60_000).toISOString() });
  return client;
}

export type Frame = {
  id?: unknown;
  result?: { type?: string; data?: unknown };
  error?: { code: number; data: { code: string } };
};

/** A raw tRPC socket authenticated by connectionParams, for what the typed client hides (frames, close codes). */
export function rawSocket(
  t: TestServer,
  token: string | null,
  headers: Record<string, string> = {},
  options: WebSocket.ClientOptions = {},
) {
  const url = `${t.url.replace(/^http/, 'ws')}/trpc${token === null ? '' : '?connectionParams=1'}`;
  const ws = new WebSocket(url, { ...options, headers });
  const received: Frame[] = [];
  const waiters = new Map<unknown, (f: Frame) => void>();
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  const opened = new Promise<void>((resolve) =>
    ws.on('open', () => {
      if (token !== null) ws.send(JSON.stringify({ method: 'connectionParams', data: { token } }));
      resolve();
    }),
  );
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === 'PING' || text === 'PONG') return;
    const frame = JSON.parse(text) as Frame;
    received.push(frame);
    waiters.get(frame.id)?.(frame);
  });
  /** The answer to request `id`, or null if the socket closes first. */
  const answerTo = (id: number) =>
    Promise.race([new Promise<Frame>((resolve) => waiters.set(id, resolve)), closed.then(() => null)]);
  const request = async (id: number, method: string, path: string, input?: unknown) => {
    await opened;
    const answer = answerTo(id);
    ws.send(JSON.stringify({ id, method, params: { path, input } }));
    return answer;
  };
  return { ws, closed, opened, received, answerTo, request, me: (id: number) => request(id, 'query', 'auth.me') };
}
