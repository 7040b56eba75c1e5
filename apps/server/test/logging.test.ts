/**
 * Logs never carry a password, a token or a cookie: a server logging at `trace` (every request,
 * every upgrade) goes through sign-up, sign-in, refresh, a socket and failures, and its whole
 * output is searched for each secret it saw, and for a searched email (query strings are not logged).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createParleyClient } from '@parley/client';
import { createLogger } from '@parley/api';
import { loadConfig } from '@parley/config';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type ParleyServer } from '../src/server.js';
import { errorCode, uniqueEmail, waitFor } from './helpers.js';

describe('logs', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  let server: ParleyServer;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-logs-'));
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: '0',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'trace',
      BCRYPT_COST: '4',
      JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
      TURN_SECRET: 'test-turn-secret-0123456789',
    });
    // The server's own logger (with its redaction), written to memory instead of stdout.
    server = await startServer(config, { logger: createLogger('trace', { instance: 'logging-test' }, sink) });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hold no password, token or cookie value', async () => {
    const client = createParleyClient({
      url: server.url,
      cookies: 'jar',
      // The `ws` package implements the WebSocket the client needs; its types differ only in extras.
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const email = uniqueEmail('logs');
    const password = 'hunter2-correct-horse';
    const cookieValues = new Set<string>();
    const refreshTokens = new Set<string>();
    const keepCookies = () =>
      client.cookieJar?.forEach((value, name) => {
        cookieValues.add(value);
        if (name.includes('refresh')) refreshTokens.add(value);
      });
    const registered = await client.api.auth.register.mutate({ email, password, displayName: 'Logged' });
    keepCookies();
    expect(await errorCode(client.api.auth.login.mutate({ email, password: 'wrong-password-xyz' }))).toBe(
      'UNAUTHORIZED',
    );
    const loggedIn = await client.api.auth.login.mutate({ email, password });
    keepCookies();
    const refreshed = await client.api.auth.refresh.mutate();
    keepCookies();
    // A socket authenticated by token, and a subscription on it.
    const sub = client.api.messages.onEvent.subscribe({}, { onData: () => {} });
    await client.api.auth.me.query();
    // A search travels in the query string of a GET: the access log keeps only the path.
    const searched = uniqueEmail('searched');
    await client.api.users.search.query({ query: searched });
    await waitFor(() => lines.some((l) => l.includes('"msg"')));
    sub.unsubscribe();
    await client.close();

    const secrets = [
      password,
      'wrong-password-xyz',
      registered.accessToken,
      loggedIn.accessToken,
      refreshed.accessToken,
      ...cookieValues,
    ];
    // Three refresh tokens (sign-up, sign-in, rotation), each a secret the logs must not hold.
    expect(refreshTokens.size).toBe(3);
    const output = lines.join('');
    expect(output.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(output).not.toContain(secret);
    // Nor the searched email, in any encoding, while the request itself is logged.
    expect(output).toContain('/trpc/users.search');
    for (const form of [searched, encodeURIComponent(searched), searched.split('@')[0]!])
      expect(output).not.toContain(form);
  });
});
