/**
 * `tsx src/profile-summary.ts FILE.cpuprofile [FROM TO]`: self time by package and by function in
 * a window of a CPU profile (seconds since it started; profile.ts prints the fixed-rate window),
 * and with INCL=name,name the inclusive time of frames whose name or file contains each.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const [file, fromS, toS] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [FROM TO]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const from = Number(fromS ?? 0) * 1e6;
const to = Number(toS ?? 1e6) * 1e6;
const incl = (process.env.INCL ?? '').split(',').filter(Boolean);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const self = new Map<number, number>();
const inclusive = new Map(incl.map((k) => [k, 0]));
let t = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (t < from || t > to) return;
  self.set(id, (self.get(id) ?? 0) + dt);
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const cf = byId.get(n)!.callFrame;
    for (const k of incl) {
      if (!seen.has(k) && `${cf.functionName} ${cf.url}`.includes(k)) {
        seen.add(k);
        inclusive.set(k, inclusive.get(k)! + dt);
      }
    }
  }
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
const short = (url: string) =>
  url
    .replace(/^file:\/\//, '')
    .replace(/.*node_modules\/\.pnpm\/[^/]+\/node_modules\//, '')
    .replace(/.*\/(packages|apps)\//, '$1/');
const pkg = (url: string) => {
  const s = short(url);
  const m = s.match(/^(@[^/]+\/[^/]+|[^/]+)/);
  return s.startsWith('packages/') || s.startsWith('apps/') ? s.split('/').slice(0, 3).join('/') : (m?.[1] ?? s);
};
const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const [id, dt] of self) {
  const cf = byId.get(id)!.callFrame;
  const fn = `${cf.functionName || '(anon)'} ${short(cf.url)}:${cf.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
  const p = cf.url ? pkg(cf.url) : cf.functionName;
  byPkg.set(p, (byPkg.get(p) ?? 0) + dt);
}
const print = (m: Map<string, number>, n: number) => {
  const top = [...m].sort((a, b) => b[1] - a[1]).slice(0, n);
  for (const [k, v] of top)
    console.log(`${(v / 1000).toFixed(0).padStart(7)} ms ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`window ${(total / 1e6).toFixed(1)} s of samples`);
console.log('--- self time by package');
print(byPkg, 25);
console.log('--- self time by function');
print(byFn, Number(process.env.TOP ?? 40));
if (incl.length > 0) {
  console.log('--- inclusive');
  print(inclusive, incl.length);
}
