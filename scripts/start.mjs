#!/usr/bin/env node
// `pnpm start`: builds the web app, then serves it and the API on one port (embedded database
// unless DATABASE_URL is set), and opens a browser when there is one. It prints the URL and what
// needs attention: the build says only warnings, the server logs from `warn` (LOG_LEVEL=info or
// debug for more; request lines are at debug). Ctrl-C stops both and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// Ctrl-C reaches every process of the terminal's group: the server shuts itself down; this one
// waits for it (and must not die first, or pnpm reports ELIFECYCLE).
let stopping = false;
let server = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopping = true;
    if (server && server.exitCode === null) server.kill(signal);
    else if (!server) process.exit(0);
  });
}

if (existsSync('apps/web/index.html')) {
  const build = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], {
    cwd: 'apps/web',
    stdio: 'inherit',
  });
  if (build.signal || stopping) process.exit(0);
  if (build.status !== 0) process.exit(build.status ?? 1);
}

server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
  stdio: ['inherit', 'pipe', 'inherit'],
  env: { LOG_LEVEL: 'warn', ...process.env },
});
let opened = false;
server.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const url = /Parley is running at (\S+)/.exec(String(chunk))?.[1];
  if (url && !opened && !process.env.CI) {
    opened = true;
    const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'start' : 'xdg-open';
    const child = spawn(opener, [url], { stdio: 'ignore', detached: true, shell: process.platform === 'win32' });
    child.on('error', () => {}); // no browser here: the printed URL is enough
    child.unref();
  }
});
// Stopped on purpose: success, whatever signal ended it.
server.on('exit', (code) => process.exit(stopping ? 0 : (code ?? 1)));
