/**
 * The organization templates' other shapes deployed here as AWS would (organization-templates.test.ts
 * plays the service-managed StackSet): aws-cn's management stack without a StackSet and the member
 * template as a stack in each account (self-managed StackSet instances or per-account stacks deploy
 * the same template), and the templates without a hub principal or a call-back, filled in by
 * parameters. Rendered by packages/core, as JSON and as YAML.
 */
import { readFileSync } from 'node:fs';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  createOrganizationBlueprint,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  type OrganizationBlueprintInput,
  renderOrganizationText,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deployStack,
  deployStackSetInstances,
  type LoopbackAws,
  type PartitionId,
  startLoopbackAws,
} from './index.ts';
import { failure, hubStsClient } from './test-support.ts';

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
const MANAGEMENT = '100000000001';
const MEMBERS = ['200000000001', '200000000002', '200000000003'];
const PREFIX = 'onramp-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC';
const TOKEN = 'onrorg_DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD';
const REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

/** The hub role the templates trust, and an STS client with its session. */
async function hubSession(partition: PartitionId) {
  const { arn, sts } = await hubStsClient(aws, partition, REGION[partition]);
  const assume = (accountId: string, roleName: string, externalId: string) =>
    sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:${partition}:iam::${accountId}:role/${roleName}`,
        RoleSessionName: 'onramp',
        ExternalId: externalId,
      }),
    );
  return { arn, assume };
}

const inputFor = (
  partition: PartitionId,
  extra: Partial<OrganizationBlueprintInput>,
): OrganizationBlueprintInput => ({
  catalog,
  selection: { partition, bundles: 'default' },
  externalIdPrefix: PREFIX,
  memberRoleName: 'OnrampMember',
  managementRoleName: 'OnrampManagement',
  deployment: 'self_managed',
  deploymentRegion: REGION[partition],
  deploymentTargets: undefined,
  callback: { origin: 'https://onramp.example.test', token: TOKEN },
  memberAccounts: MEMBERS,
  ...extra,
});

describe('aws-cn: self-managed and per-account', () => {
  it.each(['self_managed', 'per_account'] as const)(
    '%s: the management stack (no StackSet) and the member template in each account, each role with its own external ID',
    async (deployment) => {
      const partition = 'aws-cn';
      aws.createOrganization(partition, { managementAccountId: MANAGEMENT });
      const hub = await hubSession(partition);
      const blueprint = createOrganizationBlueprint(
        inputFor(partition, { deployment, hubPrincipal: hub.arn }),
      );
      const { management, member } = renderOrganizationText(blueprint, 'json');

      const stack = deployStack(aws, {
        partition,
        accountId: MANAGEMENT,
        template: management,
        stackName: 'onramp-OnrampManagement',
      });
      expect(stack.stackSets).toEqual([]);
      expect(stack.customResources.map((c) => c.properties)).toEqual([
        expect.objectContaining({
          CallbackUrl: 'https://onramp.example.test/v1/callbacks/organizations/management',
          Token: TOKEN,
          RoleArn: `arn:aws-cn:iam::${MANAGEMENT}:role/OnrampManagement`,
        }),
      ]);
      await hub.assume(MANAGEMENT, 'OnrampManagement', `${PREFIX}-${MANAGEMENT}`);

      // A self-managed StackSet's instance and a per-account stack deploy the member template as
      // it is, with its defaults (the commands pass no parameter).
      for (const accountId of MEMBERS) {
        const stackOf = deployStack(aws, {
          partition,
          accountId,
          template: member,
          region: REGION[partition],
          stackName: 'onramp-OnrampManagement-member',
        });
        expect(stackOf.customResources[0]?.properties).toMatchObject({
          CallbackUrl: 'https://onramp.example.test/v1/callbacks/organizations/member',
          Token: TOKEN,
          RoleArn: `arn:aws-cn:iam::${accountId}:role/OnrampMember`,
        });
      }
      const session = await hub.assume(MEMBERS[1] ?? '', 'OnrampMember', `${PREFIX}-${MEMBERS[1]}`);
      expect(session.AssumedRoleUser?.Arn).toContain(`:${MEMBERS[1]}:assumed-role/OnrampMember/`);
      const refused = await failure(
        hub.assume(MEMBERS[1] ?? '', 'OnrampMember', `${PREFIX}-${MEMBERS[0]}`),
      );
      expect(refused.name).toBe('AccessDenied');
    },
  );
});

describe('without a hub principal or a call-back', () => {
  it('deploys with TrustedPrincipalArn and DeploymentTargets given as parameters, and the StackSet passes the principal on', async () => {
    const partition = 'aws';
    const org = aws.createOrganization(partition, { managementAccountId: MANAGEMENT });
    const unit = aws.addOrganizationalUnit(org.rootId, 'Prod');
    for (const id of MEMBERS) aws.addOrganizationAccount(unit, id);
    const hub = await hubSession(partition);
    const blueprint = createOrganizationBlueprint(
      inputFor(partition, { deployment: 'service_managed', callback: undefined }),
    );
    const { management } = renderOrganizationText(blueprint, 'yaml');
    const stack = deployStack(aws, {
      partition,
      accountId: MANAGEMENT,
      template: management,
      parameters: { TrustedPrincipalArn: hub.arn, DeploymentTargets: unit },
      stackName: 'onramp-org',
    });
    expect(stack.customResources).toEqual([]);
    expect(stack.stackSets[0]?.groups[0]?.deploymentTargets.organizationalUnitIds).toEqual([unit]);
    const members = deployStackSetInstances(aws, stack);
    expect(members.map((m) => m.accountId)).toEqual(MEMBERS);
    expect(members.every((m) => m.customResources.length === 0)).toBe(true);
    const session = await hub.assume(MEMBERS[2] ?? '', 'OnrampMember', `${PREFIX}-${MEMBERS[2]}`);
    expect(session.AssumedRoleUser?.Arn).toContain(`:${MEMBERS[2]}:assumed-role/OnrampMember/`);
  });
});
