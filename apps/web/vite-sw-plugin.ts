import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Plugin } from 'vite';

/** Every file under `dir`, as URL paths. */
function filesUnder(dir: string, root = dir): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path, root) : [`/${relative(root, path).split('\\').join('/')}`];
  });
}

/**
 * Emits /sw.js: service-worker/sw.js with the list of every built file (the offline shell) and a
 * version made from them, so each build changes the worker's bytes and browsers install the new one.
 */
export function serviceWorker(): Plugin {
  const source = new URL('./service-worker/sw.js', import.meta.url);
  const publicDir = new URL('./public', import.meta.url);
  return {
    name: 'parley-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const built = Object.keys(bundle)
        .filter((f) => !f.endsWith('.map') && f !== 'index.html')
        .map((f) => `/${f}`);
      const files = [...built, ...filesUnder(publicDir.pathname)].sort();
      const version = createHash('sha256').update(files.join('\n')).digest('hex').slice(0, 12);
      const code = `const PRECACHE = ${JSON.stringify(files)};\nconst VERSION = ${JSON.stringify(version)};\n${readFileSync(source, 'utf8')}`;
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: code });
    },
  };
}
