/**
 * What `npm run dev` sets up around Onramp (test tooling, not for production): the loopback AWS with a
 * demo account in all three partitions, the hub identities, a template bucket per partition and a
 * public URL, so quick-create links and the stack's call-back work as in production; and the commands
 * of the dev prompt. The loopback's state is kept in the data directory next to the database, so a
 * restart finds the keys and roles the database refers to (a fresh data directory starts both afresh).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildPolicies,
  buildTrustPolicy,
  concretePolicies,
  DEFAULT_CATALOG_URL,
  getPartition,
  isPartitionId,
  loadCatalog,
  PARTITION_IDS,
  type PartitionId,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { type LoopbackAws, persistLoopback, startLoopbackAws } from '@onramp/loopback-aws';
import { type DatabaseHandle, databaseLocation, loadConfig, openDatabase } from '@onramp/server';
import { bundlePolicy, createHub, HUB_POLICY, hubEnvironment } from '@onramp/server/testing';
import { parse as parseYaml } from 'yaml';

export const DEMO_ACCOUNT = '222233334444';
export const TEMPLATE_BUCKET = 'onramp-dev-templates';
const HUB_ACCOUNT = '111122223333';
const HUB_SECRET = 'hubSecretForLocalDevelopmentOnly00000000';
const hubKeyId = (partition: PartitionId) =>
  `AKIAHUBDEVONLY00000${PARTITION_IDS.indexOf(partition) + 1}`;

export const DEV_HELP = [
  '  role <connection-id | external-id> [role-name]',
  '      create the role of a pending connection with its chosen permissions, as its CloudFormation',
  '      stack would, and play the stack’s call-back (Onramp connects the account by itself)',
  '  role <aws|aws-us-gov|aws-cn> <external-id> [role-name]',
  '      create a role with the default permissions (then paste its ARN into Onramp)',
  '  keys <aws|aws-us-gov|aws-cn>   make another IAM user with the default permissions',
  '  help, quit',
].join('\n');

export interface DevWorldOptions {
  dataDir: string;
  /** The loopback AWS's port (default: any free one). */
  loopbackPort?: number;
  /** The port Onramp listens on; the public URL names it. */
  serverPort: number;
  /** Default: http://localhost:<serverPort>. */
  publicUrl?: string;
  /** The environment Onramp reads DATABASE_URL and the like from (default: process.env). */
  baseEnv?: NodeJS.ProcessEnv;
}

export interface DevWorld {
  aws: LoopbackAws;
  /** The environment to start Onramp with. */
  env: Record<string, string>;
  /** What the terminal shows: the loopback, the demo keys. */
  banner: string[];
  /** True when the loopback came back from the data directory. */
  restored: boolean;
  /** Runs one line of the dev prompt; answers what to print. */
  run(line: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startDevWorld(options: DevWorldOptions): Promise<DevWorld> {
  mkdirSync(options.dataDir, { recursive: true });
  const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
  const aws = await startLoopbackAws({ port: options.loopbackPort ?? 0 });
  const kept = persistLoopback(aws, join(options.dataDir, 'loopback-aws.json'));
  const publicUrl = options.publicUrl ?? `http://localhost:${options.serverPort}`;

  const defaultPolicy = (partition: PartitionId, principal: 'role' | 'user', roleName?: string) =>
    bundlePolicy(catalog, {
      partition,
      bundles: 'default',
      principal,
      accountId: DEMO_ACCOUNT,
      ...(roleName ? { roleName } : {}),
    });

  const env: Record<string, string> = {
    AWS_ENDPOINT_URL: aws.url,
    ONRAMP_DATA_DIR: options.dataDir,
    PORT: String(options.serverPort),
    ONRAMP_PUBLIC_URL: publicUrl,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const banner: string[] = [
    '',
    `  Loopback AWS (test tooling) at ${aws.url}${kept.restored ? ', as the last run left it' : ''}`,
    '',
  ];
  for (const partition of PARTITION_IDS) {
    const state = aws.state.of(partition);
    if (!kept.restored) {
      aws.createAccount(partition, DEMO_ACCOUNT);
      createHub(aws, partition, { accessKeyId: hubKeyId(partition), secretAccessKey: HUB_SECRET });
      aws.createUser(partition, DEMO_ACCOUNT, 'onramp', {
        policies: [defaultPolicy(partition, 'user')],
      });
      aws.createUser(partition, DEMO_ACCOUNT, 'onramp-weak', {
        policies: [
          {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Allow',
                Action: ['iam:SimulatePrincipalPolicy', 'ec2:Describe*'],
                Resource: '*',
              },
            ],
          },
        ],
      });
    }
    // Older snapshots had no template bucket, nor the hub's right to write to it.
    if (!state.buckets.has(TEMPLATE_BUCKET)) {
      aws.createBucket(partition, TEMPLATE_BUCKET, {
        ownerAccountId: HUB_ACCOUNT,
        region: getPartition(partition).defaultRegion,
      });
    }
    const hubArn = `arn:${partition}:iam::${HUB_ACCOUNT}:user/onramp-hub`;
    aws.putInlinePolicy(partition, hubArn, 'onramp-dev-templates', {
      Version: '2012-10-17',
      Statement: [
        ...HUB_POLICY.Statement,
        {
          Effect: 'Allow',
          Action: ['s3:PutObject', 's3:GetObject'],
          Resource: `arn:${partition}:s3:::${TEMPLATE_BUCKET}/*`,
        },
      ],
    });
    Object.assign(
      env,
      hubEnvironment(partition, {
        arn: hubArn,
        accessKeyId: hubKeyId(partition),
        secretAccessKey: HUB_SECRET,
      } as Parameters<typeof hubEnvironment>[1]),
    );
    env[`ONRAMP_TEMPLATE_BUCKET_${partition.toUpperCase().replace(/-/g, '_')}`] = TEMPLATE_BUCKET;
    const keyOf = (userName: string) =>
      [...state.keys.values()].find((k) => k.accountId === DEMO_ACCOUNT && k.userName === userName);
    const good = keyOf('onramp');
    const weak = keyOf('onramp-weak');
    banner.push(
      `  ${partition}: demo account ${DEMO_ACCOUNT}`,
      `    keys with the default permissions:  ${good?.accessKeyId}  ${good?.secretAccessKey}`,
      `    keys lacking most permissions:      ${weak?.accessKeyId}  ${weak?.secretAccessKey}`,
    );
  }
  kept.flush();
  banner.push(
    '',
    `  Public URL ${publicUrl}: quick-create links and the stacks' call-backs work here.`,
    '  Type "help" for commands that create roles and keys in the loopback AWS.',
    '',
  );

  let database: DatabaseHandle | undefined;
  const db = () => {
    database ??= openDatabase(
      databaseLocation(loadConfig({ ...(options.baseEnv ?? process.env), ...env })),
    );
    return database.db;
  };

  /** The connection a `role` command names, by id or by external ID. */
  async function findConnection(idOrExternalId: string) {
    return db()
      .selectFrom('connections')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrExternalId), eb('external_id', '=', idOrExternalId)]))
      .executeTakeFirst();
  }

  /** What the stack does: its managed policies, then the role attaching them. */
  function createStackRole(
    partition: PartitionId,
    roleName: string,
    externalId: string,
    selection: { bundles: string[] | 'default'; regions: string[] },
  ) {
    const hub = env[`ONRAMP_HUB_${partition.toUpperCase().replace(/-/g, '_')}_PRINCIPAL_ARN`];
    const set = buildPolicies(catalog, { partition, ...selection }, { principal: 'role' });
    const documents = concretePolicies(set, { accountId: DEMO_ACCOUNT, roleName });
    const arns = documents.map((document, i) => {
      const name = `${roleName}-${set.policies[i]?.suffix}`;
      const arn = `arn:${partition}:iam::${DEMO_ACCOUNT}:policy/${name}`;
      if (aws.state.findPolicy(partition, arn)) aws.updateManagedPolicy(partition, arn, document);
      else aws.createManagedPolicy(partition, DEMO_ACCOUNT, { name, document });
      return arn;
    });
    return aws.createRole(partition, DEMO_ACCOUNT, {
      roleName,
      trustPolicy: buildTrustPolicy({
        partition,
        hub: unwrap(parseHubPrincipal(hub, partition)),
        externalId,
      }),
      managedPolicyArns: arns,
      tags: { 'managed-by': 'onramp' },
    });
  }

  /**
   * The stack's call-back, as its function sends it: the URL and one-time token come from the
   * template Onramp published for the connection's quick-create link (the newest one).
   */
  async function playCallback(partition: PartitionId, connectionId: string, roleArn: string) {
    const objects = aws.state.of(partition).buckets.get(TEMPLATE_BUCKET)?.objects;
    const latest = [...(objects ?? new Map()).entries()]
      .filter(([key]) => key.startsWith(`connections/${connectionId}/`))
      .sort(([, a], [, b]) => a.lastModified.getTime() - b.lastModified.getTime())
      .at(-1);
    if (!latest) {
      return 'No quick-create template was published for it yet (open the connection in the console first); paste the role ARN instead.';
    }
    const template = parseYaml(latest[1].body.toString('utf8')) as {
      Parameters?: { CallbackToken?: { Default?: string } };
      Resources?: Record<string, { Type?: string; Properties?: { CallbackUrl?: string } }>;
    };
    const url = Object.values(template.Resources ?? {}).find(
      (r) => r.Type === 'Custom::OnrampCallback',
    )?.Properties?.CallbackUrl;
    const token = template.Parameters?.CallbackToken?.Default;
    if (!url || !token) return 'The published template has no call-back; paste the role ARN.';
    const region = getPartition(partition).defaultRegion;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        requestType: 'Create',
        token,
        roleArn,
        stackId: `arn:${partition}:cloudformation:${region}:${DEMO_ACCOUNT}:stack/onramp-dev/${Date.now().toString(36)}`,
      }),
    });
    const answer = (await response.json().catch(() => ({}))) as {
      accountId?: string;
      detail?: string;
      title?: string;
    };
    return response.ok
      ? `The stack's call-back connected it as account ${answer.accountId}.`
      : `The stack's call-back was refused (HTTP ${response.status}): ${answer.detail ?? answer.title ?? ''}`;
  }

  async function run(line: string): Promise<string> {
    const [command, first, ...rest] = line.trim().split(/\s+/);
    if (!command) return '';
    try {
      if (command === 'role' && first && isPartitionId(first) && rest[0]) {
        const roleName = rest[1] ?? `OnrampRole-${Date.now().toString(36)}`;
        const role = aws.createRole(first, DEMO_ACCOUNT, {
          roleName,
          trustPolicy: buildTrustPolicy({
            partition: first,
            hub: unwrap(
              parseHubPrincipal(
                env[`ONRAMP_HUB_${first.toUpperCase().replace(/-/g, '_')}_PRINCIPAL_ARN`],
                first,
              ),
            ),
            externalId: rest[0],
          }),
          inlinePolicies: { onramp: defaultPolicy(first, 'role', roleName) },
        });
        return `  created ${role.arn}: paste it into Onramp`;
      }
      if (command === 'role' && first) {
        const connection = await findConnection(first);
        if (!connection) return `  No connection has the id or external ID ${first}.`;
        if (connection.status !== 'pending')
          return `  Connection ${connection.id} is connected already.`;
        const partition = connection.partition as PartitionId;
        // Another connection's stack may have made a role of this name already: as CloudFormation
        // would refuse it, the demo account gets one named after this connection instead.
        const taken = (name: string) =>
          aws.state.existingAccount(partition, DEMO_ACCOUNT)?.roles.has(name) ?? false;
        if (rest[0] && taken(rest[0]))
          return `  A role ${rest[0]} exists already; choose another name.`;
        const roleName =
          rest[0] ??
          (taken(connection.role_name)
            ? `${connection.role_name}-${connection.id.slice(-6)}`.slice(0, 64)
            : connection.role_name);
        const bundles = JSON.parse(connection.bundles) as string[];
        const regions = JSON.parse(connection.regions) as string[];
        const role = createStackRole(partition, roleName, connection.external_id, {
          bundles,
          regions,
        });
        const scope = regions.length ? `, limited to ${regions.join(', ')}` : '';
        const reported = await playCallback(partition, connection.id, role.arn);
        return `  created ${role.arn} with ${bundles.join(', ') || 'no bundles'}${scope}\n  ${reported}`;
      }
      if (command === 'keys' && first && isPartitionId(first)) {
        const user = aws.createUser(first, DEMO_ACCOUNT, `onramp-${Date.now().toString(36)}`, {
          policies: [defaultPolicy(first, 'user')],
        });
        return `  ${user.accessKeyId}  ${user.secretAccessKey}`;
      }
      return DEV_HELP;
    } catch (error) {
      return `  ${(error as Error).message}`;
    } finally {
      kept.flush();
    }
  }

  return {
    aws,
    env,
    banner,
    restored: kept.restored,
    run,
    stop: async () => {
      kept.stop();
      await database?.close();
      await aws.stop();
    },
  };
}
