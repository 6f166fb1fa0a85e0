import {
  type Bundle,
  type CatalogStatement,
  type PrincipalKind,
  SELF_RESOURCE,
} from '../catalog/catalog.ts';

/**
 * The connected identity's own ARN, with placeholders: Onramp's role, or the IAM user whose keys it
 * holds. The user is named by the IAM policy variable `${aws:username}` (the user's policy is written
 * before Onramp knows its name), which matches a user at path `/`, as Onramp's instructions create it.
 */
export function selfArn(kind: PrincipalKind): string {
  return kind === 'role'
    ? 'arn:{{partition}}:iam::{{account_id}}:role{{role_path}}{{role_name}}'
    : 'arn:{{partition}}:iam::{{account_id}}:user/${aws:username}';
}

/**
 * A bundle's statements as they apply to one kind of principal: those marked for the other kind are
 * left out, and `{{self}}` becomes the identity's own ARN (`self`, or `selfArn(kind)` when absent).
 */
export function statementsFor(
  bundle: Pick<Bundle, 'statements'>,
  kind: PrincipalKind,
  self: string = selfArn(kind),
): CatalogStatement[] {
  return bundle.statements
    .filter((s) => s.principal === undefined || s.principal === kind)
    .map((s) =>
      s.resources.includes(SELF_RESOURCE)
        ? { ...s, resources: s.resources.map((r) => (r === SELF_RESOURCE ? self : r)) }
        : s,
    );
}
