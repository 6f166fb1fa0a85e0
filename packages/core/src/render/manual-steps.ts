import { fillPlaceholders } from '../policy/placeholders.ts';
import type { PolicySet } from '../policy/policy-builder.ts';
import type { PolicyDocument } from '../policy/policy-document.ts';
import type { RoleBlueprint, WebIdentityBlueprint } from './role-blueprint.ts';

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

/** Stands for the account's ID in a document to paste, when the account is not known yet. */
export const ACCOUNT_ID_PLACEHOLDER = '<your account ID>';

/**
 * The role flow done by hand in the AWS console, step by step, with the exact values to paste: what
 * Palette and Spot's "Connect manually" describe, with nothing left to guess. Account-specific ARNs use
 * `*` for the account: IAM identity policies only ever reach the account they are attached in. A
 * keyless role's trust names the account's identity provider, so it needs the account ID: given as
 * `accountId`, or shown as <your account ID> for the person to replace.
 */
export function renderRoleSteps(
  blueprint: RoleBlueprint,
  options: { accountId?: string } = {},
): ManualStep[] {
  const { partition, policySet, platform, webIdentity: web } = blueprint;
  const iam = `https://${partition.consoleHost}/iam/home`;
  const documents = concretePolicies(policySet, {
    roleName: blueprint.roleName,
    rolePath: blueprint.rolePath,
  });
  const policyName = (i: number) => `${blueprint.roleName}-${policySet.policies[i]?.suffix}`;
  const steps: ManualStep[] = [];
  if (web) {
    steps.push({
      title: 'Add the identity provider',
      detail:
        `Sign in to the ${partition.displayName} account you are connecting. In IAM, open Identity providers. ` +
        `If ${web.conditionPrefix} is listed already, check that its audiences include ${web.audience} (add ` +
        'it if not) and go to the next step: an account can have only one provider per URL. Otherwise choose ' +
        'Add provider, choose OpenID Connect, enter the provider URL and the audience, and choose Add provider.',
      values: [
        { label: 'Provider URL', value: web.issuer, format: 'text' },
        { label: 'Audience', value: web.audience, format: 'text' },
      ],
      link: `${iam}#/identity_providers/create`,
    });
  }
  steps.push(
    ...documents.map((document, i) => ({
      title:
        documents.length > 1
          ? `Create permissions policy ${i + 1} of ${documents.length}`
          : 'Create the permissions policy',
      detail:
        `${web ? 'In IAM' : `Sign in to the ${partition.displayName} account you are connecting. In IAM`}, open ` +
        'Policies, choose Create policy, switch to the JSON editor, replace its content with this document, ' +
        'and choose Next. Name the policy as shown and choose Create policy.',
      values: [
        { label: 'Policy name', value: policyName(i), format: 'text' as const },
        {
          label: 'Policy document',
          value: JSON.stringify(document, null, 2),
          format: 'json' as const,
        },
      ],
      link: `${iam}#/policies/create`,
    })),
  );
  steps.push(
    web ? keylessTrustStep(blueprint, web, iam, options.accountId) : hubTrustStep(blueprint, iam),
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
  );
  // The console creates a role with sessions of one hour; anything longer is set afterwards.
  if (blueprint.maxSessionDuration !== 3600) {
    const hours = blueprint.maxSessionDuration / 3600;
    steps.push({
      title: 'Set the maximum session duration',
      detail:
        'Open the role you created, choose Edit in its Summary, set the maximum session duration as shown, ' +
        'and choose Save changes.',
      values: [
        {
          label: 'Maximum session duration',
          value: Number.isInteger(hours)
            ? `${hours} hours`
            : `${blueprint.maxSessionDuration} seconds (choose Custom duration)`,
          format: 'text',
        },
      ],
    });
  }
  steps.push({
    title: `Give the role ARN to ${platform}`,
    detail: `Open the role, copy its ARN from the Summary, paste it into ${platform} and choose Validate.`,
    values: [
      {
        label: 'The ARN looks like',
        value: `arn:${partition.id}:iam::${ACCOUNT_ID_PLACEHOLDER}:role${blueprint.rolePath}${blueprint.roleName}`,
        format: 'text',
      },
    ],
  });
  return steps;
}

function hubTrustStep(blueprint: RoleBlueprint, iam: string): ManualStep {
  const trustValues: StepValue[] = blueprint.trustPolicy
    ? [
        {
          label: 'Trust policy',
          value: JSON.stringify(blueprint.trustPolicy, null, 2),
          format: 'json',
        },
      ]
    : [];
  return {
    title: 'Create the role and its trust policy',
    detail:
      'In IAM, open Roles and choose Create role. For the trusted entity type choose Custom trust policy ' +
      `and replace the editor's content with this document: it lets only ${blueprint.platform} assume the role, and ` +
      'only with this external ID. Choose Next.',
    values: [
      ...(blueprint.hub
        ? [{ label: 'Trusted account ID', value: blueprint.hub.accountId, format: 'text' as const }]
        : []),
      { label: 'External ID', value: blueprint.externalId ?? '', format: 'text' },
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
  };
}

function keylessTrustStep(
  blueprint: RoleBlueprint,
  web: WebIdentityBlueprint,
  iam: string,
  accountId: string | undefined,
): ManualStep {
  const trust = fillPlaceholders(blueprint.trustPolicy, {
    partition: blueprint.partition.id,
    account_id: accountId ?? ACCOUNT_ID_PLACEHOLDER,
    role_name: blueprint.roleName,
    role_path: blueprint.rolePath,
  });
  return {
    title: 'Create the role and its trust policy',
    detail:
      'In IAM, open Roles and choose Create role. For the trusted entity type choose Custom trust policy ' +
      "and replace the editor's content with this document" +
      (accountId
        ? ''
        : `, putting your 12-digit account ID where it says ${ACCOUNT_ID_PLACEHOLDER}`) +
      `: it lets only tokens that ${blueprint.platform} issues for this connection assume the ` +
      'role, and needs no key or external ID. Choose Next.',
    values: [
      { label: 'Identity provider', value: web.conditionPrefix, format: 'text' },
      { label: 'Audience', value: web.audience, format: 'text' },
      { label: 'Subject', value: web.subject, format: 'text' },
      { label: 'Trust policy', value: JSON.stringify(trust, null, 2), format: 'json' },
    ],
    link: `${iam}#/roles/create`,
  };
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
