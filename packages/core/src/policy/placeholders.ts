import type { Placeholder } from '../catalog/catalog.ts';
import { mapStrings } from './policy-document.ts';

export type PlaceholderValues = Record<Placeholder, string>;

/** Replaces {{partition}}, {{account_id}}, {{role_path}} and {{role_name}} in every string of a document. */
export function fillPlaceholders<T>(document: T, values: PlaceholderValues): T {
  return mapStrings(document, (s) =>
    s.replace(
      /\{\{(partition|account_id|role_path|role_name)\}\}/g,
      (_, name: Placeholder) => values[name],
    ),
  );
}

/**
 * The widest values a deployed policy can hold, used to measure size before the account or role name
 * is known: a 12-digit account and a 64-character role name.
 */
export function sizingValues(partition: string, rolePath: string): PlaceholderValues {
  return { partition, account_id: '123456789012', role_path: rolePath, role_name: 'x'.repeat(64) };
}
