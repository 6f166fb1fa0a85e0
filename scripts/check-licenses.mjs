#!/usr/bin/env node
// Fails when a production dependency (anything installed without `dev`) has a licence that is not
// permissive. Onramp is Apache-2.0; copyleft code (the AGPL IAM simulator used by the tests, say) may
// only ever be a devDependency. Reads package-lock.json, so it checks exactly what `npm ci` installs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PERMISSIVE = new Set([
  'MIT',
  'MIT-0',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'CC0-1.0',
  'Unlicense',
  'Python-2.0',
]);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));

/** True when an SPDX expression is satisfiable with permissive licences only. */
export function isPermissive(expression) {
  if (!expression) return false;
  const text = expression.replace(/^\((.*)\)$/, '$1').trim();
  if (/ OR /.test(text)) return text.split(/ OR /).some((part) => isPermissive(part.trim()));
  if (/ AND /.test(text)) return text.split(/ AND /).every((part) => isPermissive(part.trim()));
  return PERMISSIVE.has(text.replace(/[()]/g, ''));
}

const problems = [];
let checked = 0;
for (const [path, entry] of Object.entries(lock.packages)) {
  if (path === '' || entry.dev || entry.devOptional) continue;
  let license = entry.license;
  if (entry.link || !license) {
    // Workspace packages are links; their licence is in their own package.json.
    const pkgPath = join(root, entry.link ? entry.resolved : path, 'package.json');
    try {
      license = JSON.parse(readFileSync(pkgPath, 'utf8')).license;
    } catch {
      license = undefined;
    }
  }
  if (entry.link) continue; // the link's target is checked as its own entry
  checked++;
  if (!isPermissive(license))
    problems.push(
      `${path.replace(/^.*node_modules\//, '')}@${entry.version}: ${license ?? 'no licence'}`,
    );
}

if (problems.length > 0) {
  console.error(
    `Production dependencies with a licence that is not permissive:\n  ${problems.join('\n  ')}`,
  );
  console.error('Move them to devDependencies, or replace them.');
  process.exit(1);
}
console.log(`licences: ${checked} production packages, all permissive`);
