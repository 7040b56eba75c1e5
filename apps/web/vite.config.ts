import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { serviceWorker } from './vite-sw-plugin';

const api = 'http://127.0.0.1:3000';

/**
 * The emoji picker's data (emojibase-data, per UI language) served from our own origin: Parley
 * runs where there is no CDN. Built into dist/emoji-data/<lang>/<file>.json; served in dev too.
 */
function emojiData(): Plugin {
  const root = dirname(createRequire(import.meta.url).resolve('emojibase-data/package.json'));
  const files = ['en', 'de'].flatMap((lang) => ['data', 'messages'].map((f) => `${lang}/${f}.json`));
  return {
    name: 'parley-emoji-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const file = files.find((f) => req.url === `/emoji-data/${f}`);
        if (!file) return next();
        res.setHeader('content-type', 'application/json');
        res.end(readFileSync(join(root, file)));
      });
    },
    generateBundle() {
      for (const f of files)
        this.emitFile({ type: 'asset', fileName: `emoji-data/${f}`, source: readFileSync(join(root, f)) });
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker(), emojiData()],
  server: {
    port: 5173,
    proxy: {
      '/trpc': { target: api, ws: true, changeOrigin: false },
      '/healthz': { target: api },
      '/dev/mail': { target: api },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      output: {
        // Libraries in their own files: each stays under Rollup's 500 kB warning, and they stay cached across app releases.
        manualChunks(id) {
          if (!id.includes('/node_modules/')) return undefined;
          if (/\/node_modules\/(react|react-dom|scheduler)\//.test(id)) return 'react';
          if (/\/node_modules\/(@trpc|@tanstack)\//.test(id)) return 'trpc';
          if (/\/node_modules\/(i18next|react-i18next)\//.test(id)) return 'i18n';
          if (/\/node_modules\/zod\//.test(id)) return 'zod';
          return undefined;
        },
      },
      onwarn(warning, warn) {
        // zod's sources carry /*#__PURE__*/ comments where Rollup cannot use them; Rollup drops them. Not ours to fix.
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/node_modules/')) return;
        warn(warning);
      },
    },
  },
});
