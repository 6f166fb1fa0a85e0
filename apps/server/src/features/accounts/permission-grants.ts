import { createHash } from 'node:crypto';
import {
  type Bundle,
  type Catalog,
  type PartitionId,
  type PrincipalKind,
  statementsFor,
  wildcardToRegExp,
} from '@onramp/core';
import type {
  AccountMethod,
  BundleFinding,
  GrantedBundle,
  PermissionChange,
  TrimmedBundle,
} from '../../domain/account.ts';

/**
 * What an account was granted, per bundle, and how it compares with the catalog now. Everything here
 * is worked out from the catalog alone (no AWS call): the actions are the bundle's statements as
 * written for the account's kind of principal (wildcards kept), and the hash covers the statements
 * whole, so a change of resources or conditions shows as a change of the bundle even when no action
 * was added or removed.
 */

/** Which bundles an account follows: the ones it chose, or the partition's defaults as they change. */
export type BundleChoice = 'default' | 'all' | 'custom';

export function principalOf(method: AccountMethod): PrincipalKind {
  return method === 'access_keys' ? 'user' : 'role';
}

/** One bundle as the catalog has it now, for one kind of principal. */
export function grantOf(bundle: Bundle, principal: PrincipalKind): GrantedBundle {
  const statements = statementsFor(bundle, principal, '{{self}}');
  const actions = [...new Set(statements.flatMap((s) => s.actions))].sort();
  const canonical = statements.map((s) => ({
    actions: [...s.actions].sort(),
    resources: [...s.resources].sort(),
    conditions: s.conditions ?? null,
  }));
  const hash = createHash('sha256')
    .update(JSON.stringify(canonical))
    .digest('base64url')
    .slice(0, 16);
  return { hash, actions, verified: false };
}

/**
 * The grants an account gets for these bundle ids now. Ids the catalog no longer has are left out
 * (a bundle removed from the catalog is removed from the account by its next update).
 */
export function grantsOf(
  catalog: Catalog,
  bundleIds: readonly string[],
  principal: PrincipalKind,
): Record<string, GrantedBundle> {
  const grants: Record<string, GrantedBundle> = {};
  for (const id of [...bundleIds].sort()) {
    const bundle = catalog.bundles.get(id);
    if (bundle) grants[id] = grantOf(bundle, principal);
  }
  return grants;
}

/**
 * The bundles an account should have now: its own, and for an account that follows the defaults, a
 * bundle the operator made a default since (in the account's partition). A bundle the catalog dropped,
 * or moved to partitions the account is not in, is no longer wanted. In a partition where the bundles
 * cannot be chosen (`customizable: false`) the account has exactly the partition's defaults, whatever
 * it chose before.
 */
export function wantedBundles(
  catalog: Catalog,
  account: { partition: PartitionId; bundles: readonly string[]; bundleChoice: BundleChoice },
): string[] {
  if (!catalog.isCustomizable(account.partition))
    return catalog
      .defaultBundles(account.partition)
      .map((b) => b.id)
      .sort();
  const available = new Set(catalog.availableBundles(account.partition).map((b) => b.id));
  const wanted = new Set(account.bundles.filter((id) => available.has(id)));
  if (account.bundleChoice === 'default')
    for (const b of catalog.defaultBundles(account.partition)) wanted.add(b.id);
  if (account.bundleChoice === 'all') for (const id of available) wanted.add(id);
  return [...wanted].sort();
}

/**
 * Per bundle, what the catalog asks now against what was granted: actions to add, actions to remove
 * (a whole bundle for one added to or dropped from the account's set), in bundle-id order. A bundle
 * whose statements changed without an action changing (resources, conditions) is listed with both
 * lists empty: its policy still has to be replaced.
 */
export function diffGrants(
  granted: Record<string, GrantedBundle>,
  wanted: Record<string, GrantedBundle>,
): PermissionChange[] {
  const ids = [...new Set([...Object.keys(granted), ...Object.keys(wanted)])].sort();
  const changes: PermissionChange[] = [];
  for (const bundle of ids) {
    const before = granted[bundle];
    const now = wanted[bundle];
    if (before && now && before.hash === now.hash) continue;
    const had = new Set(before?.actions ?? []);
    const has = new Set(now?.actions ?? []);
    changes.push({
      bundle,
      add: [...has].filter((a) => !had.has(a)).sort(),
      remove: [...had].filter((a) => !has.has(a)).sort(),
    });
  }
  return changes;
}

/**
 * Of a check's missing actions, those the account had been granted and proven to hold (a bundle
 * `verified` when it was recorded or checked since): someone removed them from the role's or user's
 * policies. Missing actions the grant never covered are the catalog asking for more, not a trim.
 */
export function trimmedFrom(
  granted: Record<string, GrantedBundle> | null,
  findings: readonly BundleFinding[],
): TrimmedBundle[] {
  if (!granted) return [];
  const trimmed: TrimmedBundle[] = [];
  for (const finding of findings) {
    const grant = granted[finding.bundleId];
    if (!grant?.verified || finding.missing.length === 0) continue;
    const patterns = grant.actions.map((a) => wildcardToRegExp(a));
    const actions = finding.missing.filter((action) => patterns.some((p) => p.test(action)));
    if (actions.length) trimmed.push({ bundle: finding.bundleId, actions: [...actions].sort() });
  }
  return trimmed;
}

/**
 * Grants as recorded after a check: bundles without findings are proven (`verified`), bundles with
 * missing or SCP-denied actions are not (an account saved degraded, or whose check found gaps).
 */
export function withVerification(
  grants: Record<string, GrantedBundle>,
  findings: readonly BundleFinding[],
  proven: boolean,
): Record<string, GrantedBundle> {
  const failing = new Set(
    findings.filter((f) => f.missing.length || f.deniedByScp.length).map((f) => f.bundleId),
  );
  const out: Record<string, GrantedBundle> = {};
  for (const [id, grant] of Object.entries(grants))
    out[id] = { ...grant, verified: proven && !failing.has(id) };
  return out;
}
