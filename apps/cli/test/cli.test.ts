/**
 * The `parley` command as a user runs it: a real process against a real server (PGlite), its
 * session kept on disk between runs, and `tail` resuming across a dropped connection.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, startTestServer, waitFor, type TestServer } from '../../server/test/helpers.js';

const BIN = fileURLToPath(new URL('../bin/parley.mjs', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../examples/echo-bot.ts', import.meta.url));

let t: TestServer;
let configDir: string;

/** A TCP hop between the CLI and the server whose connections the test can cut. */
class Cuttable {
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  url = '';
  constructor(private readonly target: URL) {}
  async start() {
    this.server = createServer((inbound) => {
      const outbound = connect(Number(this.target.port), this.target.hostname);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    this.url = `http://127.0.0.1:${address.port}`;
  }
  cut() {
    for (const s of this.sockets) s.destroy();
  }
  close() {
    this.cut();
    this.server.close();
  }
}

function run(args: string[], stdin?: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, PARLEY_CONFIG_DIR: configDir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(stdin ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running child whose output lines the test watches. */
function watch(child: ChildProcess) {
  const lines: string[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout!.on('data', (d) => {
    buffer += d;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d) => (stderr += d));
  return { lines, stderr: () => stderr };
}

beforeAll(async () => {
  t = await startTestServer({ db: 'pglite' });
  configDir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
});
afterAll(async () => {
  await t?.close();
  rmSync(configDir, { recursive: true, force: true });
});

describe('parley (the CLI)', () => {
  let ada: Awaited<ReturnType<typeof signUp>>;
  let bob: Awaited<ReturnType<typeof signUp>>;
  let conversationId: string;

  beforeAll(async () => {
    ada = await signUp(t, 'Ada Lovelace');
    bob = await signUp(t, 'Bob Babbage');
    conversationId = (await bob.client.api.conversations.openDirect.mutate({ userId: ada.user.id })).id;
  });

  it('refuses a wrong password, then signs in and keeps the session readable by the user alone', async () => {
    const wrong = await run(['login', ada.email, '--server', t.url, '--password-stdin'], 'not the password\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/UNAUTHORIZED/);

    const ok = await run(['login', ada.email, '--server', t.url, '--password-stdin'], `${ada.password}\n`);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('Signed in');
    expect(statSync(join(configDir, 'session.json')).mode & 0o777).toBe(0o600);

    const me = await run(['whoami', '--json']);
    expect(JSON.parse(me.stdout)).toMatchObject({ id: ada.user.id, displayName: 'Ada Lovelace' });
  });

  it('lists conversations, sends by name (arguments and standard input) and reads history', async () => {
    const list = await run(['conversations', '--json']);
    expect((JSON.parse(list.stdout) as { id: string }[]).map((c) => c.id)).toEqual([conversationId]);
    expect((await run(['ls'])).stdout).toContain('Bob Babbage');

    expect((await run(['send', 'bob babbage', 'hello', 'from', 'the', 'terminal'])).code).toBe(0);
    expect((await run(['send', conversationId.slice(0, 8)], 'piped text\n')).code).toBe(0);
    const seen = await bob.client.api.messages.list.query({ conversationId });
    expect(seen.items.map((m) => [m.senderId, m.body])).toEqual([
      [ada.user.id, 'hello from the terminal'],
      [ada.user.id, 'piped text'],
    ]);

    const text = await run(['history', 'Bob Babbage']);
    expect(text.stdout).toMatch(/Ada Lovelace: hello from the terminal\n.*Ada Lovelace: piped text/);
    const json = await run(['history', 'Bob Babbage', '--json', '-n', '1']);
    expect((JSON.parse(json.stdout) as { body: string }[]).map((m) => m.body)).toEqual(['piped text']);

    const unknown = await run(['send', 'nobody', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No conversation called "nobody"');
    expect((await run(['frobnicate'])).code).toBe(2);
  });

  it('tails live and resumes after a dropped connection without losing or repeating a message', async () => {
    const hop = new Cuttable(new URL(t.url));
    await hop.start();
    // A session of its own, through the hop.
    const dir = mkdtempSync(join(tmpdir(), 'parley-cli-tail-'));
    const env = { ...process.env, PARLEY_CONFIG_DIR: dir };
    const login = spawn(process.execPath, [BIN, 'login', ada.email, '--server', hop.url, '--password-stdin'], { env });
    login.stdin.end(`${ada.password}\n`);
    await new Promise((resolve) => login.on('exit', resolve));

    const tail = spawn(process.execPath, [BIN, 'tail', 'Bob Babbage', '--json', '-n', '1'], { env });
    const out = watch(tail);
    try {
      await waitFor(() => out.stderr().includes('Following'), { timeoutMs: 20_000 });
      const say = (body: string) =>
        bob.client.api.messages.send.mutate({ conversationId, clientId: randomUUID(), body });
      await say('live 1');
      await waitFor(() => out.lines.length >= 2);

      hop.cut();
      for (const body of ['while away 1', 'while away 2', 'while away 3']) await say(body);
      await waitFor(() => out.lines.length >= 5, { timeoutMs: 20_000 });
      await say('live 2');
      await waitFor(() => out.lines.length >= 6);

      const bodies = out.lines.map((l) => (JSON.parse(l) as { body: string }).body);
      expect(bodies).toEqual(['piped text', 'live 1', 'while away 1', 'while away 2', 'while away 3', 'live 2']);
    } finally {
      tail.kill('SIGINT');
      await new Promise((resolve) => tail.on('exit', resolve));
      hop.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(tail.exitCode).toBe(0);
  });

  it('signs out and says so afterwards', async () => {
    expect((await run(['logout'])).stdout).toContain('Signed out');
    const after = await run(['whoami']);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain('Not signed in');
  });

  it('runs the echo bot from its README', async () => {
    const botUser = await signUp(t, 'Echo Bot');
    const { id } = await bob.client.api.conversations.openDirect.mutate({ userId: botUser.user.id });
    const bot = spawn(process.execPath, ['--import', 'tsx', EXAMPLE, t.url, botUser.email, botUser.password]);
    const out = watch(bot);
    try {
      await waitFor(() => out.lines.some((l) => l.includes('echo bot ready')), { timeoutMs: 20_000 });
      await bob.client.api.messages.send.mutate({ conversationId: id, clientId: randomUUID(), body: 'ping' });
      const answered = await waitFor(async () => {
        const { items } = await bob.client.api.messages.list.query({ conversationId: id });
        return items.find((m) => m.senderId === botUser.user.id);
      });
      expect(answered.body).toBe('echo: ping');
    } finally {
      bot.kill();
    }
  });
});
