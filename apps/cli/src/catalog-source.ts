import { fileURLToPath } from 'node:url';
import { type Catalog, CoreValidationError, type FieldIssue, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import type { CliIo } from './cli-io.ts';
import { describeIssue, EXIT_FAILURE, UserError } from './errors.ts';
import type { CatalogFlags } from './options.ts';

export interface LoadedCatalog {
  catalog: Catalog;
  /** How to name the catalog to a person: its path, or "the shipped example catalog". */
  label: string;
}

/**
 * The catalog to work from: --catalog FILE, else the example shipped with Onramp. A file that cannot
 * be read or does not pass the core's checks is a user error (exit 1) listing every problem, with the
 * file's path: an operator fixes a catalog in one go, not one error per run.
 */
/** The shipped catalog, found through the package (not this file's place, which a build moves). */
const SHIPPED_CATALOG = new URL(import.meta.resolve('@onramp/core/catalog/default.yaml'));

export async function readCatalog(io: CliIo, flags: CatalogFlags): Promise<LoadedCatalog> {
  const path = flags.catalog;
  if (path === undefined) {
    // The shipped catalog is part of Onramp: failing to read or load it is a bug, not a user error.
    const text = await io.readFile(SHIPPED_CATALOG);
    return {
      catalog: await loadCatalogText(text, fileURLToPath(SHIPPED_CATALOG)),
      label: 'the shipped example catalog',
    };
  }
  if (path.trim() === '') {
    throw new UserError([`--catalog: give the path of a catalog file (YAML).`], EXIT_FAILURE);
  }
  let text: string;
  try {
    text = await io.readFile(path);
  } catch (error) {
    throw new UserError(
      [`--catalog: cannot read the catalog file ${path}: ${describeReadError(error)}.`],
      EXIT_FAILURE,
    );
  }
  return { catalog: await loadCatalogText(text, path), label: path };
}

async function loadCatalogText(text: string, path: string): Promise<Catalog> {
  try {
    return await loadCatalog(text, { actions: createIamDataActionIndex() });
  } catch (error) {
    if (error instanceof CoreValidationError) throw toCatalogError(path, error.issues);
    throw error;
  }
}

function toCatalogError(path: string, issues: readonly FieldIssue[]): UserError {
  const count = issues.length === 1 ? 'a problem' : `${issues.length} problems`;
  const lines = issues.map((issue) => `  - ${describeIssue(issue)}\n    (at ${issue.field})`);
  return new UserError(
    [
      `the catalog ${path} has ${count}; fix ${issues.length === 1 ? 'it' : 'them'} and run again:\n${lines.join('\n')}`,
    ],
    EXIT_FAILURE,
  );
}

function describeReadError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'there is no such file';
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
