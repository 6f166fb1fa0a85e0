// The build stamp: which sources the production build (`npm run build`) was made from, so `npm start`
// and the CLI can tell in a few milliseconds whether apps/*/dist still matches the sources. Plain
// Node built-ins only: start.mjs and apps/cli/bin/onramp.js load this before anything else.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Where the stamp is written: beside the outputs, ignored by git as every dist/ is. */
export const STAMP_PATH = join(ROOT, 'dist', '.build.json');

/** What a complete build leaves behind; one missing means the build is missing. */
export const BUILD_OUTPUTS = [
  'apps/server/dist/main.js',
  'apps/cli/dist/main.js',
  'apps/web/dist/index.html',
];

/** Directories whose files the build reads (tests and golden files excepted). */
const INPUT_DIRECTORIES = [
  'apps/server/src',
  'apps/cli/src',
  'apps/web/src',
  'apps/web/public',
  'packages/core/src',
  'packages/core/catalog',
  'packages/contracts/src',
  'packages/sdk/src',
];

/** Single files the build reads: the console's page and config, the manifests, the build itself. */
const INPUT_FILES = [
  'package.json',
  'package-lock.json',
  'apps/server/package.json',
  'apps/cli/package.json',
  'apps/web/package.json',
  'apps/web/index.html',
  'apps/web/vite.config.ts',
  'packages/core/package.json',
  'packages/contracts/package.json',
  'packages/sdk/package.json',
  'scripts/build.mjs',
  'scripts/build-stamp.mjs',
];

/** A test or a golden file changes no build output: editing one must not cost a rebuild. */
function isBuildInput(name) {
  return !/\.test\.tsx?$/.test(name) && name !== '__golden__' && name !== '__snapshots__';
}

function listFiles(directory, into) {
  let entries;
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return; // an optional directory (apps/web/public) that does not exist
  }
  for (const entry of entries) {
    if (!isBuildInput(entry.name)) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) listFiles(path, into);
    else into.push(path);
  }
}

/**
 * A hash of every input's path, size and modification time: an edit, a new file, a deleted or renamed
 * one all change it, and it costs one stat per file (about 500 of them), not a read.
 */
export function sourceFingerprint(root = ROOT) {
  const files = [];
  for (const directory of INPUT_DIRECTORIES) listFiles(join(root, directory), files);
  for (const file of INPUT_FILES) files.push(join(root, file));
  files.sort();
  const hash = createHash('sha256');
  let newest = 0;
  for (const file of files) {
    let line = 'missing';
    try {
      const stat = statSync(file);
      newest = Math.max(newest, stat.mtimeMs);
      line = `${stat.size}:${stat.mtimeMs}`;
    } catch {
      // A single input that is absent is part of the fingerprint too (it may appear later).
    }
    hash.update(`${relative(root, file)}\t${line}\n`);
  }
  return { fingerprint: hash.digest('hex'), files: files.length, newestInputMs: newest };
}

/**
 * Whether the build on disk matches the sources: `missing` (never built, or an output deleted),
 * `stale` (a source changed since), or `fresh`.
 */
export function buildState(root = ROOT) {
  if (BUILD_OUTPUTS.some((output) => !existsSync(join(root, output)))) return 'missing';
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(join(root, 'dist', '.build.json'), 'utf8'));
  } catch {
    return 'missing';
  }
  return stamp.fingerprint === sourceFingerprint(root).fingerprint ? 'fresh' : 'stale';
}

/** Records that the outputs were built from the sources as they were at `inputs` (taken before building). */
export function writeStamp(inputs, root = ROOT) {
  mkdirSync(join(root, 'dist'), { recursive: true });
  const stamp = {
    builtAt: new Date().toISOString(),
    newestInput: new Date(inputs.newestInputMs).toISOString(),
    files: inputs.files,
    fingerprint: inputs.fingerprint,
    node: process.version,
  };
  writeFileSync(join(root, 'dist', '.build.json'), `${JSON.stringify(stamp, null, 2)}\n`);
}
