/**
 * docs/API.md agrees with the router: every procedure the server has is documented there, and
 * every procedure the page documents exists (no stale rows after a rename or removal).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO } from './process-helpers.js';
import { procedures } from './router-walk.js';

const page = readFileSync(`${REPO}/docs/API.md`, 'utf8');
/** Procedure names in the page's tables: the first cell of each row, in backticks (`a.b` or `a.b` / `a.c`). */
const documented = new Set(
  page
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .flatMap((line) => {
      const cell = line.split('|')[1] ?? '';
      const names = [...cell.matchAll(/`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)`/g)].map((m) => m[1]!);
      // "`calls.accept` / `calls.decline`" and "`auth.totp.setup` / `.enable`" forms.
      const [first] = names;
      const shorthand = first
        ? [...cell.matchAll(/\/\s*`\.([a-z][A-Za-z]*)`/g)].map((m) => first.replace(/\.[^.]+$/, `.${m[1]}`))
        : [];
      return [...names, ...shorthand];
    }),
);
const routed = procedures.map(([path]) => path);

describe('docs/API.md', () => {
  it('documents every procedure of the router', () => {
    expect(routed.filter((path) => !documented.has(path))).toEqual([]);
  });

  it('documents no procedure the router lacks', () => {
    expect([...documented].filter((path) => !routed.includes(path)).sort()).toEqual([]);
  });
});
