#!/usr/bin/env node
// A server-side package's production build: its TypeScript compiled to dist/ with the layout of
// src/ (so paths taken relative to a module, like '../migrations', hold in both), and every
// other file of src/ (workers, word lists) copied beside it. Run from the package's folder.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync('tsc', ['-p', 'tsconfig.build.json'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
cpSync('src', 'dist', { recursive: true, filter: (path) => !/\.tsx?$/.test(path) });
