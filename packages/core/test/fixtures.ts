import { readFileSync } from 'node:fs';
import { createIamDataActionIndex } from '../src/catalog/iam-actions.ts';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '../src/index.ts';

export const DEFAULT_CATALOG_TEXT = readFileSync(DEFAULT_CATALOG_URL, 'utf8');

let shipped: Promise<Catalog> | undefined;

/** The shipped example catalog, checked against AWS's action list, loaded once per test file. */
export function defaultCatalog(): Promise<Catalog> {
  shipped ??= loadCatalog(DEFAULT_CATALOG_TEXT, { actions: createIamDataActionIndex() });
  return shipped;
}

export function loadTestCatalog(text: string): Promise<Catalog> {
  return loadCatalog(text, { actions: createIamDataActionIndex() });
}

/** Runs fn and returns the issues of the CoreValidationError it throws; fails if it does not throw. */
export async function issuesOf(
  fn: () => unknown,
): Promise<{ field: string; code: string; message: string; hint?: string }[]> {
  try {
    await fn();
  } catch (error) {
    if (error && typeof error === 'object' && 'issues' in error) {
      return (
        error as { issues: { field: string; code: string; message: string; hint?: string }[] }
      ).issues;
    }
    throw error;
  }
  throw new Error('expected a CoreValidationError, but nothing was thrown');
}
