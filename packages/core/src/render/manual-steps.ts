import { fillPlaceholders } from '../policy/placeholders.ts';
import type { PolicySet } from '../policy/policy-builder.ts';
import type { PolicyDocument } from '../policy/policy-document.ts';
import type { RoleBlueprint } from './role-blueprint.ts';

export interface StepValue {
  label: string;
  value: string;
  /** `json` values are documents to paste whole; `text` values go in a single field. */
  format: 'text' | 'json';
}

export interface ManualStep {
  title: string;
  detail: string;
  values: StepValue[];
  /** Where in the AWS console the step happens. */
  link?: string;
}

/**
 * The role flow done by hand in the AWS console, step by step, with the exact values to paste: what
 * Palette and Spot's "Connect manually" describe, with nothing left to guess. Account-specific ARNs use
 * `*` for the account: IAM identity policies only ever reach the account they are attached in.
 */
export function renderRoleSteps(blueprint: RoleBlueprint): ManualStep[] {
  const { partition, policySet, platform } = blueprint;
  const iam = `https://${partition.consoleHost}/iam/home`;
  const documents = concretePolicies(policySet, {
    roleName: blueprint.roleName,
    rolePath: blueprint.rolePath,
  });
  const policyName = (i: number) => `${blueprint.roleName}-${policySet.policies[i]?.suffix}`;
  const steps: ManualStep[] = documents.map((document, i) => ({
    title:
      documents.length > 1
        ? `Create permissions policy ${i + 1} of ${documents.length}`
        : 'Create the permissions policy',
    detail:
      `Sign in to the ${partition.displayName} account you are connecting. In IAM, open Policies, choose ` +
      'Create policy, switch to the JSON editor, replace its content with this document, and choose Next. ' +
      'Name the policy as shown and choose Create policy.',
    values: [
      { label: 'Policy name', value: policyName(i), format: 'text' },
      { label: 'Policy document', value: JSON.stringify(document, null, 2), format: 'json' },
    ],
    link: `${iam}#/policies/create`,
  }));
  const trustValues: StepValue[] = blueprint.trustPolicy
    ? [
        {
          label: 'Trust policy',
          value: JSON.stringify(blueprint.trustPolicy, null, 2),
          format: 'json',
        },
      ]
    : [];
  steps.push(
    {
      title: 'Create the role and its trust policy',
      detail:
        'In IAM, open Roles and choose Create role. For the trusted entity type choose Custom trust policy ' +
        `and replace the editor's content with this document: it lets only ${platform} assume the role, and ` +
        'only with this external ID. Choose Next.',
      values: [
        ...(blueprint.hub
          ? [
              {
                label: 'Trusted account ID',
                value: blueprint.hub.accountId,
                format: 'text' as const,
              },
            ]
          : []),
        { label: 'External ID', value: blueprint.externalId, format: 'text' },
        ...(blueprint.previousExternalId
          ? [
              {
                label: 'Previous external ID (accepted until its grace period ends)',
                value: blueprint.previousExternalId,
                format: 'text' as const,
              },
            ]
          : []),
        ...trustValues,
      ],
      link: `${iam}#/roles/create`,
    },
    {
      title: 'Attach the permissions',
      detail: `Search for and select ${documents.length > 1 ? 'each policy' : 'the policy'} you created, then choose Next.`,
      values: documents.map((_, i) => ({
        label: `Policy ${i + 1}`,
        value: policyName(i),
        format: 'text' as const,
      })),
    },
    {
      title: 'Name the role',
      detail: 'Enter the role name and choose Create role.',
      values: [{ label: 'Role name', value: blueprint.roleName, format: 'text' }],
    },
    {
      title: `Give the role ARN to ${platform}`,
      detail: `Open the role, copy its ARN from the Summary, paste it into ${platform} and choose Validate.`,
      values: [
        {
          label: 'The ARN looks like',
          value: `arn:${partition.id}:iam::<your account ID>:role${blueprint.rolePath}${blueprint.roleName}`,
          format: 'text',
        },
      ],
    },
  );
  return steps;
}

/** The policy documents with every placeholder filled, as a person pastes them. */
export function concretePolicies(
  policySet: PolicySet,
  values: { accountId?: string; roleName?: string; rolePath?: string } = {},
): PolicyDocument[] {
  return policySet.policies.map((p) =>
    fillPlaceholders(p.document, {
      partition: policySet.partition,
      account_id: values.accountId ?? '*',
      role_name: values.roleName ?? '*',
      role_path: values.rolePath ?? policySet.rolePath,
    }),
  );
}

/** Steps as plain text, for a terminal or a README. */
export function formatSteps(steps: ManualStep[]): string {
  return steps
    .map((step, i) => {
      const lines = [`${i + 1}. ${step.title}`, `   ${step.detail}`];
      if (step.link) lines.push(`   ${step.link}`);
      for (const v of step.values) {
        if (v.format === 'json')
          lines.push(`   ${v.label}:`, ...v.value.split('\n').map((l) => `     ${l}`));
        else lines.push(`   ${v.label}: ${v.value}`);
      }
      return lines.join('\n');
    })
    .join('\n\n');
}
