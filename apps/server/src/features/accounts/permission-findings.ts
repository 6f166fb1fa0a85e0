import { wildcardToRegExp } from '@onramp/core';
import type {
  BundleFinding,
  Check,
  GrantedBundle,
  PermissionChange,
  TrimmedBundle,
} from '../../domain/account.ts';
import type { ProblemFieldError } from '../../http/problems.ts';
import { trimmedFrom } from './permission-grants.ts';

/**
 * What a health check's permission findings mean for an account that knows what it was granted.
 * Missing actions have two causes with two fixes: actions it was granted and proven to hold were
 * removed from its policies since (trimmed: restore the policy), or the catalog asks for actions it
 * was never granted (outdated: update the permissions). Pure: the caller stores what this returns.
 */

/** The permissions step decided (every bundle was simulated or read), so its findings are complete. */
export function permissionsDecided(checks: readonly Check[]): boolean {
  const step = checks.find((c) => c.name === 'permissions');
  return step?.status === 'passed' || step?.status === 'failed';
}

/**
 * The grants and trimmed actions after a decided check: a bundle the check found complete is proven
 * (`verified`, so a later removal is recognised as a trim); a bundle with findings keeps what it had.
 * `changed` is false when nothing differs from what is stored, so a routine check writes nothing.
 */
export function permissionsAfterCheck(
  state: { granted: Record<string, GrantedBundle> | null; trimmed: readonly TrimmedBundle[] },
  checkedBundles: readonly string[],
  findings: readonly BundleFinding[],
): { granted: Record<string, GrantedBundle> | null; trimmed: TrimmedBundle[]; changed: boolean } {
  const trimmed = trimmedFrom(state.granted, findings);
  const failing = new Set(
    findings.filter((f) => f.missing.length || f.deniedByScp.length).map((f) => f.bundleId),
  );
  const checked = new Set(checkedBundles);
  let grantsChanged = false;
  let granted = state.granted;
  if (state.granted) {
    const next: Record<string, GrantedBundle> = {};
    for (const [id, grant] of Object.entries(state.granted)) {
      const proven = checked.has(id) && !failing.has(id) && !grant.verified;
      if (proven) grantsChanged = true;
      next[id] = proven ? { ...grant, verified: true } : grant;
    }
    granted = next;
  }
  const changed = grantsChanged || JSON.stringify(trimmed) !== JSON.stringify(state.trimmed);
  return { granted, trimmed, changed };
}

/**
 * Whether a decided check shows that an outdated account already holds everything the catalog now
 * asks: the catalog only added actions (nothing to remove, no statement changed without an action
 * added), only to bundles the account has and the check simulated, and the check found none missing.
 * A role that allows `ec2:*` holds a new EC2 action before anyone updates it; its next check says so
 * and the account is no longer outdated. Removals still need the update: a passing check cannot show
 * that an action is gone.
 */
export function checkConfirmsCatalog(
  changes: readonly PermissionChange[],
  checkedBundles: readonly string[],
  wantedBundles: readonly string[],
  findings: readonly BundleFinding[],
): boolean {
  if (changes.length === 0) return false;
  const checked = new Set(checkedBundles);
  if (wantedBundles.length !== checked.size || wantedBundles.some((b) => !checked.has(b)))
    return false;
  if (findings.some((f) => f.missing.length || f.deniedByScp.length)) return false;
  return changes.every((c) => c.remove.length === 0 && c.add.length > 0 && checked.has(c.bundle));
}

/**
 * The check's errors with each bundle's `missing_actions` error saying which of its actions were
 * trimmed and which the catalog asks for anew, each with its own fix. A bundle without a recorded
 * grant, or whose grant was never proven (saved degraded), keeps the plain message: nothing tells
 * the two causes apart there.
 */
export function explainMissing(
  errors: readonly ProblemFieldError[],
  granted: Record<string, GrantedBundle> | null,
  findings: readonly BundleFinding[],
  principal: 'role' | 'user',
): ProblemFieldError[] {
  if (!granted) return [...errors];
  const explained = new Map<string, Pick<ProblemFieldError, 'message' | 'hint'>>();
  for (const finding of findings) {
    const grant = granted[finding.bundleId];
    if (!grant || finding.missing.length === 0) continue;
    const patterns = grant.actions.map((a) => wildcardToRegExp(a));
    const covered = (action: string) => patterns.some((p) => p.test(action));
    const trimmed = grant.verified ? finding.missing.filter(covered) : [];
    const asksMore = finding.missing.filter((a) => !covered(a));
    if (trimmed.length === 0 && asksMore.length === 0) continue;
    const parts = [
      `The ${principal} lacks ${finding.missing.length} action(s) that “${finding.bundleName}” needs.`,
    ];
    if (trimmed.length)
      parts.push(
        `${listSome(trimmed)}: removed from the ${principal}’s policies since it was connected (trimmed).`,
      );
    if (asksMore.length)
      parts.push(
        `${listSome(asksMore)}: never granted to the ${principal}; the catalog asks for more since it was connected.`,
      );
    const restore =
      principal === 'role'
        ? 'Restore the role’s policy: re-apply its stack or Terraform (“Update permissions” gives the commands), or put back the policy from “View JSON”.'
        : 'Restore the user’s policy: attach again the policy “Update permissions” gives.';
    const update =
      '“Update permissions” gives the new policy, for the way the role or user was made, with the actions the catalog added.';
    explained.set(finding.bundleId, {
      message: parts.join(' '),
      hint: trimmed.length
        ? asksMore.length
          ? `${restore} The same update adds the actions the catalog asks for now.`
          : restore
        : update,
    });
  }
  return errors.map((error) => {
    if (error.code !== 'missing_actions') return error;
    const text = explained.get(error.field.replace(/^permissions\./, ''));
    return text ? { ...error, ...text } : error;
  });
}

/**
 * The check as recorded, told apart by cause: its errors (explainMissing), and the permissions step's
 * detail with the same messages where it repeats them (checks recorded before it became a summary).
 */
export function explainCheck(
  check: { errors: readonly ProblemFieldError[]; checks: readonly Check[] },
  granted: Record<string, GrantedBundle> | null,
  findings: readonly BundleFinding[],
  principal: 'role' | 'user',
): { errors: ProblemFieldError[]; checks: Check[] } {
  const errors = explainMissing(check.errors, granted, findings, principal);
  const checks = check.checks.map((step) => {
    if (step.name !== 'permissions') return step;
    let detail = step.detail;
    check.errors.forEach((before, i) => {
      const after = errors[i];
      if (after && after.message !== before.message)
        detail = detail.replace(before.message, after.message);
    });
    return { ...step, detail };
  });
  return { errors, checks };
}

/** A message names the first actions; the full lists are in the findings and `permissions.trimmed`. */
function listSome(actions: readonly string[], shown = 10): string {
  return actions.length <= shown
    ? actions.join(', ')
    : `${actions.slice(0, shown).join(', ')} and ${actions.length - shown} more`;
}
