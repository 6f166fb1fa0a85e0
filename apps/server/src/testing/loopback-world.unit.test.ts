import {
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOrganizationTree } from './loopback-world.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

describe('createOrganizationTree', () => {
  it.each([
    ['aws', 'us-east-1'],
    ['aws-us-gov', 'us-gov-west-1'],
  ] as const)(
    '%s: 30 accounts across 3 OUs, as Organizations lists them',
    async (partition, region) => {
      const tree = createOrganizationTree(aws, partition, {
        managementAccountId: '123456789012',
        units: [
          { name: 'Prod', accounts: 10 },
          { name: 'Dev', accounts: 10 },
          { name: 'Web', accounts: 10, parent: 'Prod' },
        ],
      });
      expect(tree.accountIds).toHaveLength(30);
      expect(new Set(tree.accountIds).size).toBe(30);
      expect(tree.accountIds).not.toContain('123456789012');
      const admin = aws.createRootKeys(partition, '123456789012');
      const client = new OrganizationsClient({
        region,
        endpoint: aws.url,
        credentials: admin.credentials,
        maxAttempts: 1,
      });
      const listed: string[] = [];
      for await (const page of paginateListAccounts({ client }, {})) {
        listed.push(...(page.Accounts ?? []).map((a) => a.Id ?? ''));
      }
      expect(listed.sort()).toEqual(['123456789012', ...tree.accountIds].sort());
      const [prod, dev, web] = tree.units;
      const top = await client.send(
        new ListOrganizationalUnitsForParentCommand({ ParentId: tree.rootId }),
      );
      expect(top.OrganizationalUnits?.map((u) => u.Id)).toEqual([prod?.id, dev?.id]);
      const nested = await client.send(
        new ListOrganizationalUnitsForParentCommand({ ParentId: prod?.id }),
      );
      expect(nested.OrganizationalUnits?.map((u) => u.Name)).toEqual(['Web']);
      const inWeb = await client.send(new ListAccountsForParentCommand({ ParentId: web?.id }));
      expect(inWeb.Accounts?.map((a) => a.Id)).toEqual(web?.accountIds);
      expect(inWeb.Accounts?.[0]?.Name).toBe('Web-1');
      // Each account exists for IAM and STS too.
      expect(aws.state.existingAccount(partition, tree.accountIds[0] ?? '')).toBeDefined();
    },
  );

  it('refuses a parent that is not listed before', () => {
    expect(() =>
      createOrganizationTree(aws, 'aws', {
        managementAccountId: '123456789012',
        units: [{ name: 'Child', accounts: 1, parent: 'Later' }],
      }),
    ).toThrow(/no unit Later/);
  });
});
