import {
  type Bundle,
  type PrincipalKind,
  statementsFor,
  validationBundle,
  wildcardToRegExp,
} from '@onramp/core';
import type { PrincipalPolicy } from '../../ports/aws-gateway.ts';

/**
 * Least privilege the other way: actions the role or user is allowed by its own policies that no
 * chosen bundle (nor Onramp's own validation statements) needs, per policy, as the policy writes them
 * (wildcards kept). Only Allow statements with `Action` are read; a `NotAction` statement cannot be
 * listed action by action and is left out. An action overlapping any needed one (`ec2:*` when a bundle
 * needs `ec2:DescribeInstances`) is not extra: removing it would take the needed one too.
 */

export interface ExtraPermissions {
  /** The inline policy's name, or the managed policy's ARN. */
  policy: string;
  actions: string[];
}

/** Kept small: the account page lists them, and a role with AWS's ReadOnlyAccess has thousands. */
export const EXTRA_POLICIES_KEPT = 20;
export const EXTRA_ACTIONS_KEPT = 100;

export function extraPermissions(
  policies: readonly PrincipalPolicy[],
  bundles: readonly Bundle[],
  principal: PrincipalKind,
): ExtraPermissions[] {
  const needed = [...bundles, validationBundle(principal)].flatMap((b) =>
    statementsFor(b, principal, '{{self}}').flatMap((s) => s.actions),
  );
  const neededPatterns = needed.map((a) => wildcardToRegExp(a));
  const isNeeded = (action: string) => {
    const pattern = wildcardToRegExp(action);
    return neededPatterns.some((p) => p.test(action)) || needed.some((n) => pattern.test(n));
  };
  const out: ExtraPermissions[] = [];
  for (const policy of policies) {
    const actions = new Set<string>();
    for (const action of allowedActions(policy.document))
      if (!isNeeded(action)) actions.add(action);
    if (actions.size === 0) continue;
    out.push({ policy: policy.name, actions: [...actions].sort().slice(0, EXTRA_ACTIONS_KEPT) });
    if (out.length === EXTRA_POLICIES_KEPT) break;
  }
  return out;
}

/** The actions a policy document's Allow statements name; nothing for a document that is not JSON. */
function allowedActions(document: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(document);
  } catch {
    return [];
  }
  if (typeof parsed !== 'object' || parsed === null) return [];
  const statement = (parsed as { Statement?: unknown }).Statement;
  const statements = Array.isArray(statement) ? statement : statement ? [statement] : [];
  const actions: string[] = [];
  for (const s of statements) {
    if (typeof s !== 'object' || s === null) continue;
    const { Effect, Action } = s as { Effect?: unknown; Action?: unknown };
    if (Effect !== 'Allow') continue;
    const listed = Array.isArray(Action) ? Action : [Action];
    for (const a of listed) if (typeof a === 'string' && a.length > 0) actions.push(a);
  }
  return actions;
}
