import type {
  Organization,
  OrganizationMember,
  OrganizationSetup,
  OrganizationTree,
  PartitionOffer,
} from '@onramp/sdk';
import { OFFERS } from './test-support.tsx';

/** Test data of the organization pages: what the API answers, in the contracts' shapes. */

const NO_COUNTS = { discovered: 0, enrolling: 0, connected: 0, failed: 0, excluded: 0, left: 0 };
const NO_HEALTH = { valid: 0, degraded: 0, invalid: 0, unverified: 0 };

/** aws offers every deployment; aws-cn (with a hub here) everything but service-managed StackSets. */
export const ORG_OFFERS: PartitionOffer[] = [
  {
    ...(OFFERS[0] as PartitionOffer),
    organizations: {
      offered: true,
      deployments: ['service_managed', 'self_managed', 'per_account'],
      reason: null,
    },
  },
  {
    ...(OFFERS[1] as PartitionOffer),
    methods: ['role', 'access_keys'],
    reason: null,
    trustedPrincipal: { arn: 'arn:aws-cn:iam::111122223333:user/hub', accountId: '111122223333' },
    regions: [{ id: 'cn-north-1', description: 'China (Beijing)' }],
    organizations: {
      offered: true,
      deployments: ['self_managed', 'per_account'],
      reason:
        'Service-managed StackSets are not available in AWS China: use a self-managed StackSet or a stack per account.',
    },
  },
];

export function organization(overrides: Partial<Organization> = {}): Organization {
  return {
    id: 'org_1',
    name: 'Acme',
    description: '',
    partition: 'aws',
    status: 'pending',
    awsOrganizationId: null,
    managementAccountId: null,
    managementRoleArn: null,
    managementRoleName: 'OnrampOrganizationRole-abc',
    memberRoleName: 'OnrampMemberRole-abc',
    externalIdPrefix: 'onramp-xyz',
    deployment: 'service_managed',
    deploymentRegion: 'us-east-1',
    bundles: ['nodes-ec2'],
    regions: [],
    rules: {
      include: { organizationalUnits: [], accounts: [] },
      exclude: { organizationalUnits: [], accounts: [] },
    },
    rootId: null,
    counts: { ...NO_COUNTS },
    health: { ...NO_HEALTH },
    outdated: 0,
    lastDiscovery: null,
    enrollmentToken: { issuedAt: '2026-12-01T10:00:00.000Z', previousValidUntil: null },
    createdAt: '2026-12-01T10:00:00.000Z',
    updatedAt: '2026-12-01T10:00:00.000Z',
    ...overrides,
  };
}

export const SETUP: OrganizationSetup = {
  deployment: 'service_managed',
  managementTemplate: 'AWSTemplateFormatVersion: "2010-09-09"\n',
  memberTemplate: 'AWSTemplateFormatVersion: "2010-09-09"\n# member\n',
  terraform: 'variable "deployment_targets" { default = "<DeploymentTargets>" }\n',
  commands: [
    'aws cloudformation deploy --template-file onramp-organization.yaml --parameter-overrides DeploymentTargets=<r-… or ou-… IDs, separated by commas>',
  ],
  quickCreateUrl: 'https://console.aws.amazon.com/cloudformation/home#/stacks/quickcreate?x=1',
  steps: [{ title: 'Deploy the management stack', detail: 'In the management account.' }],
  deploymentTargets: [],
  missing: [
    {
      // As the server names it: the StackSet's targets, the root until discovery knows it.
      field: 'DeploymentTargets',
      code: 'root_unknown',
      message: 'Your organization’s root ID',
      hint: 'Fill in the DeploymentTargets parameter with the root ID (r-…), shown by `aws organizations list-roots`.',
    },
  ],
};

function counts(partial: Partial<typeof NO_COUNTS>) {
  return { ...NO_COUNTS, ...partial };
}
function health(partial: Partial<typeof NO_HEALTH>) {
  return { ...NO_HEALTH, ...partial };
}

/** Root → Production (→ Payments), Sandbox: the subtree counts add up as the API computes them. */
export const TREE: OrganizationTree = {
  discoveredAt: '2026-12-03T12:00:00.000Z',
  units: [
    {
      id: 'r-ab12',
      name: 'Root',
      parentId: null,
      counts: counts({ connected: 5, failed: 1, excluded: 2 }),
      health: health({ valid: 4, degraded: 1 }),
    },
    {
      id: 'ou-ab12-prod0001',
      name: 'Production',
      parentId: 'r-ab12',
      counts: counts({ connected: 4, failed: 1 }),
      health: health({ valid: 3, degraded: 1 }),
    },
    {
      id: 'ou-ab12-pay00001',
      name: 'Payments',
      parentId: 'ou-ab12-prod0001',
      counts: counts({ connected: 2 }),
      health: health({ valid: 2 }),
    },
    {
      id: 'ou-ab12-sand0001',
      name: 'Sandbox',
      parentId: 'r-ab12',
      counts: counts({ excluded: 2 }),
      health: health({}),
    },
  ],
};

export function member(overrides: Partial<OrganizationMember> = {}): OrganizationMember {
  return {
    awsAccountId: '111111111111',
    name: 'prod-api',
    email: 'prod-api@acme.example',
    awsStatus: 'ACTIVE',
    parentId: 'ou-ab12-prod0001',
    path: [
      { id: 'r-ab12', name: 'Root' },
      { id: 'ou-ab12-prod0001', name: 'Production' },
    ],
    state: 'connected',
    reason: null,
    roleArn: 'arn:aws:iam::111111111111:role/OnrampMemberRole-abc',
    accountId: 'acct_1',
    health: 'valid',
    management: false,
    discoveredAt: '2026-12-03T12:00:00.000Z',
    stateChangedAt: '2026-12-03T12:00:00.000Z',
    updatedAt: '2026-12-03T12:00:00.000Z',
    ...overrides,
  };
}
