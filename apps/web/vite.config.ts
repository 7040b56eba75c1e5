import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { serviceWorker } from './vite-sw-plugin';

const api = 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [react(), serviceWorker()],
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
  },
});
