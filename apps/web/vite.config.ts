import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Text formats worth compressing; images and fonts the console ships are compressed already. */
const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|yaml|map|webmanifest)$/;
const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(directory, entry.name);
      return entry.isDirectory() ? filesUnder(path) : [path];
    }),
  );
  return nested.flat();
}

/**
 * Writes `<file>.br` and `<file>.gz` beside each compressible file of the build, at the highest
 * levels (once, at build time), so the server sends them as they are and never compresses per
 * request. A file a compression would not shrink gets no copy, and is sent as it is.
 */
async function precompress(outDir: string): Promise<void> {
  const files = (await filesUnder(outDir)).filter((file) => COMPRESSIBLE.test(file));
  await Promise.all(
    files.map(async (file) => {
      const body = await readFile(file);
      const [br, gz] = await Promise.all([
        brotli(body, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
            [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
          },
        }),
        gzipAsync(body, { level: constants.Z_BEST_COMPRESSION }),
      ]);
      if (br.length < body.length) await writeFile(`${file}.br`, br);
      if (gz.length < body.length) await writeFile(`${file}.gz`, gz);
    }),
  );
}

/** Runs `precompress` once Vite has written the bundle. */
function precompressPlugin(): Plugin {
  let outDir = '';
  return {
    name: 'onramp-precompress',
    apply: 'build',
    configResolved(config) {
      // resolve, not join: a caller may build into an absolute directory (e2e/browser.ts does).
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      await precompress(outDir);
    },
  };
}

/** The console, built into dist/ and served by the Onramp server at `/`. */
export default defineConfig({
  root,
  plugins: [react(), precompressPlugin()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 1024 },
  // `npm run dev -w @onramp/web` against a server on :8080 (npm run dev at the root).
  server: { proxy: { '/v1': 'http://localhost:8080' } },
});
