import { randomBytes } from 'node:crypto';
import type { PartitionId } from '@onramp/core';
import {
  type AccessKeys,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
} from '../adapters/aws/aws-gateway.ts';

/**
 * A fake of Onramp's own AwsGateway port, for tests of the services and routes above it. It models just
 * enough of AWS: IAM users with keys, roles with or without an external-ID condition. (The SDK adapter
 * itself is tested against a loopback server speaking AWS's wire protocol, never against this.)
 */
export function createFakeAws() {
  const users = new Map<
    string,
    { secret: string; partition: PartitionId; identity: CallerIdentity }
  >();
  const roles = new Map<string, { partition: PartitionId; externalId: string | null }>();
  const calls: { op: string; partition: PartitionId; target: string }[] = [];
  const key = (prefix: string) => `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`;

  const gateway: AwsGateway = {
    async identifyKeys(partition: PartitionId, keys: AccessKeys) {
      calls.push({ op: 'identifyKeys', partition, target: keys.accessKeyId });
      const user = users.get(keys.accessKeyId);
      if (!user || user.partition !== partition) {
        throw new AwsProblem(
          'rejected',
          'accessKeyId',
          'InvalidClientTokenId',
          'AWS does not know this access key ID in this partition.',
          'Check the key ID, and that the key is active.',
          'InvalidClientTokenId',
        );
      }
      if (user.secret !== keys.secretAccessKey) {
        throw new AwsProblem(
          'rejected',
          'secretAccessKey',
          'SignatureDoesNotMatch',
          'The secret access key does not match the access key ID.',
          'Copy the secret again; it is shown only when the key is created.',
          'SignatureDoesNotMatch',
        );
      }
      return user.identity;
    },
    async assumeRole(partition, input) {
      calls.push({
        op: input.externalId ? 'assumeRole' : 'assumeRoleWithoutExternalId',
        partition,
        target: input.roleArn,
      });
      const role = roles.get(input.roleArn);
      const allowed =
        role &&
        role.partition === partition &&
        (role.externalId === null || role.externalId === input.externalId);
      if (!allowed) {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'AccessDenied',
          'AWS refused to let Onramp assume this role.',
          'Check the trusted principal, the external ID and the role name.',
          'AccessDenied',
        );
      }
      const [, , , , accountId = '', resource = ''] = input.roleArn.split(':');
      const roleName = resource.split('/').at(-1);
      return {
        credentials: {
          accessKeyId: key('ASIA'),
          secretAccessKey: randomBytes(30).toString('base64'),
          sessionToken: randomBytes(60).toString('base64'),
          expiration: new Date(Date.now() + 3600_000),
        },
        identity: {
          accountId,
          arn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${input.sessionName}`,
          userId: `AROA${randomBytes(8).toString('hex').toUpperCase()}:${input.sessionName}`,
        },
      };
    },
  };

  return {
    gateway,
    calls,
    /** An IAM user with a long-term key; returns the key pair. */
    addUser(partition: PartitionId, accountId: string, userName = 'onramp'): AccessKeys {
      const accessKeyId = key('AKIA');
      const secretAccessKey = randomBytes(30).toString('base64').slice(0, 40);
      users.set(accessKeyId, {
        secret: secretAccessKey,
        partition,
        identity: {
          accountId,
          arn: `arn:${partition}:iam::${accountId}:user/${userName}`,
          userId: `AIDA${randomBytes(8).toString('hex').toUpperCase()}`,
        },
      });
      return { accessKeyId, secretAccessKey };
    },
    /** Root-user keys: AWS accepts them, Onramp must not. */
    addRootKeys(partition: PartitionId, accountId: string): AccessKeys {
      const accessKeyId = key('AKIA');
      const secretAccessKey = randomBytes(30).toString('base64').slice(0, 40);
      users.set(accessKeyId, {
        secret: secretAccessKey,
        partition,
        identity: { accountId, arn: `arn:${partition}:iam::${accountId}:root`, userId: accountId },
      });
      return { accessKeyId, secretAccessKey };
    },
    revokeKey(accessKeyId: string) {
      users.delete(accessKeyId);
    },
    /** A role that trusts the hub; externalId null means the trust policy has no external-ID condition. */
    addRole(roleArn: string, externalId: string | null) {
      const partition = roleArn.split(':')[1] as PartitionId;
      roles.set(roleArn, { partition, externalId });
    },
    deleteRole(roleArn: string) {
      roles.delete(roleArn);
    },
  };
}

export type FakeAws = ReturnType<typeof createFakeAws>;
