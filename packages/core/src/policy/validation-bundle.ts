import type { Bundle, PrincipalKind } from '../catalog/catalog.ts';
import { VALIDATION_BUNDLE_ID } from '../catalog/catalog.ts';
import { PARTITION_IDS } from '../partitions/partitions.ts';
import { selfArn } from './principal-statements.ts';

/**
 * What Onramp itself needs in every connected account, and nothing more: simulate the principal's own
 * policies (iam:SimulatePrincipalPolicy) and, where simulation is refused, read those policies to
 * evaluate them elsewhere. Every principal-bound action is scoped to the principal's own ARN, so the role
 * (or user) can inspect itself and no other identity. Reading a managed policy's document cannot be
 * scoped to "the policies attached to me", so it is limited to policies of this account and AWS's own.
 */
export function validationBundle(kind: PrincipalKind): Bundle {
  const self = selfArn(kind);
  const selfActions =
    kind === 'role'
      ? ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListAttachedRolePolicies', 'iam:ListRolePolicies']
      : [
          'iam:GetUser',
          'iam:GetUserPolicy',
          'iam:ListAttachedUserPolicies',
          'iam:ListUserPolicies',
        ];
  return {
    id: VALIDATION_BUNDLE_ID,
    productId: 'onramp',
    name: 'Validation',
    description:
      'Lets the platform check that this account still grants what you chose: it simulates and reads the ' +
      `${kind}'s own policies, nothing else.`,
    isDefault: true,
    partitions: PARTITION_IDS,
    statements: [
      { actions: ['iam:SimulatePrincipalPolicy', ...selfActions], resources: [self] },
      {
        actions: ['iam:GetPolicy', 'iam:GetPolicyVersion'],
        resources: [
          'arn:{{partition}}:iam::{{account_id}}:policy/*',
          'arn:{{partition}}:iam::aws:policy/*',
        ],
      },
    ],
  };
}
