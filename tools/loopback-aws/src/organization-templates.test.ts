/**
 * Onramp's real organization templates (packages/core's renderer) deployed and played here as AWS
 * would: the management stack with its service-managed StackSet, then the StackSet's member stacks
 * across an organization of 3 OUs × 10 accounts, in aws and aws-us-gov.
 */
import { readFileSync } from 'node:fs';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import {
  createOrganizationBlueprint,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  renderOrganizationYaml,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deployStack,
  deployStackSetInstances,
  type LoopbackAws,
  type PartitionId,
  startLoopbackAws,
  syncStackSetInstances,
} from './index.ts';
import { failure, hubStsClient } from './test-support.ts';

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
const MANAGEMENT = '100000000001';
const REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};
const PREFIX = 'onramp-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const TOKEN = 'onrorg_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

/** The hub role the templates trust, as an STS client with its session. */
function hubSts(partition: PartitionId) {
  return hubStsClient(aws, partition, REGION[partition]);
}

describe.each(['aws', 'aws-us-gov'] as const)(
  '%s: the rendered organization templates',
  (partition) => {
    it('deploy in the management account and play the StackSet for 3 OUs × 10 accounts', async () => {
      const org = aws.createOrganization(partition, { managementAccountId: MANAGEMENT });
      const units = ['Prod', 'Dev', 'Shared'].map((name) =>
        aws.addOrganizationalUnit(org.rootId, name),
      );
      const accounts: string[] = [];
      units.forEach((unit, u) => {
        for (let n = 0; n < 10; n++) {
          const accountId = `20000000${u}${String(n).padStart(3, '0')}`;
          aws.addOrganizationAccount(unit, accountId);
          accounts.push(accountId);
        }
      });
      const hub = await hubSts(partition);
      const blueprint = createOrganizationBlueprint({
        catalog,
        selection: { partition, bundles: 'default' },
        hubPrincipal: hub.arn,
        externalIdPrefix: PREFIX,
        memberRoleName: 'OnrampMember',
        managementRoleName: 'OnrampManagement',
        deployment: 'service_managed',
        deploymentRegion: REGION[partition],
        deploymentTargets: units,
        callback: { origin: 'https://onramp.example.test', token: TOKEN },
      });
      const { management } = renderOrganizationYaml(blueprint);

      const stack = deployStack(aws, {
        partition,
        accountId: MANAGEMENT,
        template: management,
        stackName: 'onramp-OnrampManagement',
      });
      // The management stack's own call-back, after its role.
      expect(stack.customResources.map((c) => c.properties)).toEqual([
        expect.objectContaining({
          CallbackUrl: 'https://onramp.example.test/v1/callbacks/organizations/management',
          Token: TOKEN,
          RoleArn: `arn:${partition}:iam::${MANAGEMENT}:role/OnrampManagement`,
          StackId: stack.stackId,
        }),
      ]);
      const [set] = stack.stackSets;
      expect(set).toMatchObject({
        permissionModel: 'SERVICE_MANAGED',
        callAs: 'SELF',
        autoDeployment: { enabled: true, retainStacksOnAccountRemoval: false },
        capabilities: ['CAPABILITY_NAMED_IAM'],
        groups: [
          { deploymentTargets: { organizationalUnitIds: units }, regions: [REGION[partition]] },
        ],
      });

      const members = deployStackSetInstances(aws, stack);
      expect(members.map((m) => m.accountId)).toEqual(accounts);
      expect(aws.state.existingAccount(partition, MANAGEMENT)?.roles.has('OnrampMember')).toBe(
        false,
      );
      for (const member of members) {
        expect(member.customResources).toHaveLength(1);
        expect(member.customResources[0]?.properties).toMatchObject({
          CallbackUrl: 'https://onramp.example.test/v1/callbacks/organizations/member',
          Token: TOKEN,
          RoleArn: `arn:${partition}:iam::${member.accountId}:role/OnrampMember`,
          StackId: member.stackId,
        });
      }

      // The hub assumes a member role with that account's own external ID, and not another's.
      const target = accounts[17] ?? '';
      const roleArn = `arn:${partition}:iam::${target}:role/OnrampMember`;
      const session = await hub.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: 'onramp',
          ExternalId: `${PREFIX}-${target}`,
        }),
      );
      expect(session.AssumedRoleUser?.Arn).toContain(`:${target}:assumed-role/OnrampMember/onramp`);
      const refused = await failure(
        hub.sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: 'onramp',
            ExternalId: `${PREFIX}-${accounts[0]}`,
          }),
        ),
      );
      expect(refused.name).toBe('AccessDenied');

      // An account added to an included OU later gets its stack; a removed one loses it.
      aws.addOrganizationAccount(units[1] ?? '', '299999999999');
      aws.removeAccount(partition, accounts[0] ?? '');
      const changed = syncStackSetInstances(aws, stack);
      expect(changed.deployed.map((m) => m.accountId)).toEqual(['299999999999']);
      expect(changed.deleted.map((d) => [d.accountId, d.customResources[0]?.requestType])).toEqual([
        [accounts[0], 'Delete'],
      ]);
    });
  },
);
