#!/usr/bin/env node
// `pnpm start`: builds the web app, then serves it and the API on one port (embedded database
// unless DATABASE_URL is set), and opens a browser when there is one.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (existsSync('apps/web/index.html')) {
  const build = spawnSync('pnpm', ['--filter', '@parley/web', 'build'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
  stdio: ['inherit', 'pipe', 'inherit'],
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
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal));
server.on('exit', (code) => process.exit(code ?? 0));
