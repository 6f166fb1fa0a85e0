import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** The console, built into dist/ and served by the Onramp server at `/`. */
export default defineConfig({
  root,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  // `npm run dev -w @onramp/web` against a server on :8080 (npm run dev at the root).
  server: { proxy: { '/v1': 'http://localhost:8080' } },
});
