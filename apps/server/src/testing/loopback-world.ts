/**
 * What tests, benchmarks and `npm run dev` set up in the loopback AWS (test tooling): the operator's
 * hub identity in a partition, and the roles and users a customer creates from Onramp's templates.
 * One place, so they all create the same identities the product would.
 */
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
