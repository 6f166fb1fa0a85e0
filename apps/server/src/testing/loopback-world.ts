/**
 * What tests, benchmarks and `npm run dev` set up in the loopback AWS (test tooling): the operator's
 * hub identity in a partition, and the roles and users a customer creates from Onramp's templates.
 * One place, so they all create the same identities the product would.
 */
import { randomInt } from 'node:crypto';
import {
  buildStatements,
  buildTrustPolicy,
  type Catalog,
  fillPlaceholders,
  type PartitionId,
  type PolicyDocument,
  parseHubPrincipal,
  unwrap,
  validationBundle,
} from '@onramp/core';
import type { Keys, LoopbackAws, UserInfo } from '@onramp/loopback-aws';
import type { HubConfig } from '../config.ts';

export const HUB_ACCOUNT = '111122223333';

/** What the hub identity needs: assume customers' roles, tag their sessions, evaluate policies. */
export const HUB_POLICY = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:TagSession', 'iam:SimulateCustomPolicy'],
      Resource: '*',
    },
  ],
};

/** Creates the hub user of a partition (in the hub account) and says how Onramp is configured for it. */
export function createHub(
  aws: LoopbackAws,
  partition: PartitionId,
  accessKey?: Keys,
): { user: UserInfo; config: HubConfig } {
  aws.createAccount(partition, HUB_ACCOUNT);
  const user = aws.createUser(partition, HUB_ACCOUNT, 'onramp-hub', {
    policies: [HUB_POLICY],
    ...(accessKey ? { accessKey } : {}),
  });
  return {
    user,
    config: {
      principalArn: user.arn,
      credentials: {
        source: 'keys',
        accessKeyId: user.accessKeyId,
        secretAccessKey: user.secretAccessKey,
      },
    },
  };
}

/** The environment variables that give a server process this hub, as an operator would set them. */
export function hubEnvironment(partition: PartitionId, hub: UserInfo): Record<string, string> {
  const prefix = `ONRAMP_HUB_${partition.toUpperCase().replace(/-/g, '_')}_`;
  return {
    [`${prefix}PRINCIPAL_ARN`]: hub.arn,
    [`${prefix}ACCESS_KEY_ID`]: hub.accessKeyId,
    [`${prefix}SECRET_ACCESS_KEY`]: hub.secretAccessKey,
  };
}

/**
 * The permission policy Onramp's template gives a principal for some bundles, filled for an account
 * (built from the bundles directly, so tests may use bundles a partition's defaults leave out).
 */
export function bundlePolicy(
  catalog: Catalog,
  options: {
    partition: PartitionId;
    bundles: readonly string[] | 'default';
    principal: 'role' | 'user';
    accountId: string;
    roleName?: string;
  },
): PolicyDocument {
  const chosen =
    options.bundles === 'default'
      ? catalog.defaultBundles(options.partition)
      : options.bundles.map((id) => catalog.bundles.get(id)).filter((b) => b !== undefined);
  return fillPlaceholders(
    {
      Version: '2012-10-17',
      Statement: buildStatements(
        [...chosen, validationBundle(options.principal)],
        [],
        options.principal,
      ),
    },
    {
      partition: options.partition,
      account_id: options.accountId,
      role_path: '/',
      role_name: options.roleName ?? 'OnrampRole',
    },
  );
}

/** The role a connection's stack creates: Onramp's trust policy for the hub and external ID, and the bundles' policy. */
export function createConnectedRole(
  aws: LoopbackAws,
  catalog: Catalog,
  options: {
    partition: PartitionId;
    accountId: string;
    roleName: string;
    hubArn: string;
    externalId: string;
    bundles: readonly string[] | 'default';
  },
) {
  const trust = buildTrustPolicy({
    partition: options.partition,
    hub: unwrap(parseHubPrincipal(options.hubArn, options.partition)),
    externalId: options.externalId,
  });
  return aws.createRole(options.partition, options.accountId, {
    roleName: options.roleName,
    trustPolicy: trust,
    inlinePolicies: [bundlePolicy(catalog, { ...options, principal: 'role' })],
  });
}

/** One OU of `createOrganizationTree`: its name, how many accounts it holds, and its parent. */
export interface OrganizationTreeUnit {
  name: string;
  accounts: number;
  /** The name of an OU listed before it; under the root when omitted. */
  parent?: string;
}

export interface OrganizationTree {
  partition: PartitionId;
  organizationId: string;
  rootId: string;
  managementAccountId: string;
  /** In the order given, each with its accounts in the order they joined. */
  units: { name: string; id: string; accountIds: string[] }[];
  /** Every member account but the management account, unit by unit. */
  accountIds: string[];
}

/**
 * An AWS organization in the loopback, quickly (30 accounts across 3 OUs in one call): the
 * management account in the root, and per unit an OU with `accounts` ACTIVE accounts named
 * `<unit>-<n>`. Account IDs are fresh 12-digit IDs no account of the partition uses yet; each exists
 * for IAM and STS as well.
 */
export function createOrganizationTree(
  aws: LoopbackAws,
  partition: PartitionId,
  options: { managementAccountId: string; units: readonly OrganizationTreeUnit[] },
): OrganizationTree {
  const org = aws.createOrganization(partition, {
    managementAccountId: options.managementAccountId,
  });
  const taken = aws.state.of(partition).accounts;
  const freshAccountId = () => {
    for (;;) {
      const candidate = String(100_000_000_000 + randomInt(0, 899_999_999_999));
      if (!taken.has(candidate)) return candidate;
    }
  };
  const units: OrganizationTree['units'] = [];
  for (const unit of options.units) {
    const parentId =
      unit.parent === undefined ? org.rootId : units.find((u) => u.name === unit.parent)?.id;
    if (!parentId)
      throw new TypeError(`createOrganizationTree: no unit ${unit.parent} before ${unit.name}`);
    const id = aws.addOrganizationalUnit(parentId, unit.name);
    const accountIds: string[] = [];
    for (let n = 1; n <= unit.accounts; n++) {
      const accountId = freshAccountId();
      aws.addOrganizationAccount(id, accountId, { name: `${unit.name}-${n}` });
      accountIds.push(accountId);
    }
    units.push({ name: unit.name, id, accountIds });
  }
  return {
    partition,
    organizationId: org.id,
    rootId: org.rootId,
    managementAccountId: options.managementAccountId,
    units,
    accountIds: units.flatMap((u) => u.accountIds),
  };
}
