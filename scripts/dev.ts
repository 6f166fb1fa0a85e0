/**
 * `npm run dev`: Onramp against the loopback AWS (test tooling), with demo accounts seeded in all three
 * partitions, so a newcomer can try every flow without an AWS account. Not for production: the
 * loopback AWS is a test double, and the hub keys below are throwaway.
 *
 * Once running, type at the prompt:
 *   role <partition> <external-id> [role-name]   create the role a connection asks for (what the
 *                                                CloudFormation stack or the manual steps would do)
 *   keys <partition>                             make another IAM user with the default permissions
 *   help, quit
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  buildTrustPolicy,
  DEFAULT_CATALOG_URL,
  loadCatalog,
  PARTITION_IDS,
  type PartitionId,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { startLoopbackAws } from '@onramp/loopback-aws';
import {
  bundlePolicy,
  createHub,
  hubEnvironment,
} from '../apps/server/src/testing/loopback-world.ts';

const DEMO_ACCOUNT = '222233334444';
const HUB_KEYS = {
  accessKeyId: 'AKIAHUBDEVONLY000001',
  secretAccessKey: 'hubSecretForLocalDevelopmentOnly00000000',
};

const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
  actions: createIamDataActionIndex(),
});
const aws = await startLoopbackAws({ port: Number(process.env.LOOPBACK_AWS_PORT ?? 4566) });

/** The policy a principal gets for a partition's default bundles, as the template would create it. */
const defaultPolicy = (
  partition: PartitionId,
  principal: 'role' | 'user',
  roleName = 'OnrampRole',
) =>
  bundlePolicy(catalog, {
    partition,
    bundles: 'default',
    principal,
    accountId: DEMO_ACCOUNT,
    roleName,
  });

const lines: string[] = ['', `  Loopback AWS (test tooling) at ${aws.url}`, ''];
const env: Record<string, string> = {
  AWS_ENDPOINT_URL: aws.url,
  ONRAMP_DATA_DIR: process.env.ONRAMP_DATA_DIR ?? './data/dev',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};
for (const partition of PARTITION_IDS) {
  aws.createAccount(partition, DEMO_ACCOUNT);
  const { user: hub } = createHub(aws, partition, {
    ...HUB_KEYS,
    accessKeyId: HUB_KEYS.accessKeyId.replace(
      '000001',
      `00000${PARTITION_IDS.indexOf(partition) + 1}`,
    ),
  });
  Object.assign(env, hubEnvironment(partition, hub));
  const good = aws.createUser(partition, DEMO_ACCOUNT, 'onramp', {
    policies: [defaultPolicy(partition, 'user')],
  });
  const weak = aws.createUser(partition, DEMO_ACCOUNT, 'onramp-weak', {
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
  lines.push(
    `  ${partition}: demo account ${DEMO_ACCOUNT}`,
    `    keys with the default permissions:  ${good.accessKeyId}  ${good.secretAccessKey}`,
    `    keys lacking most permissions:      ${weak.accessKeyId}  ${weak.secretAccessKey}`,
  );
}
lines.push('', '  Type "help" for commands that create roles and keys in the loopback AWS.', '');

const server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
  env: { ...process.env, ...env },
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.stdout.write(`${lines.join('\n')}\n`);

const prompt = createInterface({ input: process.stdin, output: process.stdout });
prompt.on('line', (line) => {
  const [command, partitionArg, ...rest] = line.trim().split(/\s+/);
  const partition = partitionArg as PartitionId;
  try {
    if (command === 'role' && PARTITION_IDS.includes(partition) && rest[0]) {
      const roleName = rest[1] ?? `OnrampRole-${Date.now().toString(36)}`;
      const trust = buildTrustPolicy({
        partition,
        hub: unwrap(
          parseHubPrincipal(
            env[`ONRAMP_HUB_${partition.toUpperCase().replace(/-/g, '_')}_PRINCIPAL_ARN`],
            partition,
          ),
        ),
        externalId: rest[0],
      });
      const role = aws.createRole(partition, DEMO_ACCOUNT, {
        roleName,
        trustPolicy: trust,
        inlinePolicies: { onramp: defaultPolicy(partition, 'role', roleName) },
      });
      process.stdout.write(`  created ${role.arn}: paste it into Onramp\n`);
    } else if (command === 'keys' && PARTITION_IDS.includes(partition)) {
      const user = aws.createUser(partition, DEMO_ACCOUNT, `onramp-${Date.now().toString(36)}`, {
        policies: [defaultPolicy(partition, 'user')],
      });
      process.stdout.write(`  ${user.accessKeyId}  ${user.secretAccessKey}\n`);
    } else if (command === 'quit') {
      prompt.close();
    } else if (command) {
      process.stdout.write(
        '  role <aws|aws-us-gov|aws-cn> <external-id> [role-name]\n  keys <aws|aws-us-gov|aws-cn>\n  quit\n',
      );
    }
  } catch (error) {
    process.stdout.write(`  ${(error as Error).message}\n`);
  }
});
const stop = async () => {
  server.kill('SIGTERM');
  await aws.stop();
  process.exit(0);
};
prompt.on('close', () => void stop());
process.once('SIGINT', () => void stop());
server.once('exit', (code) => {
  void aws.stop().then(() => process.exit(code ?? 0));
});
