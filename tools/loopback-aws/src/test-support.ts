/** Helpers for this package's own tests: real SDK clients pointed at a loopback AWS. */
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { LoopbackAws } from './loopback.ts';
import type { PartitionId } from './partitions.ts';

export interface ClientCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface ClientOptions {
  maxAttempts?: number;
  systemClockOffset?: number;
}

export function stsClient(
  loopback: LoopbackAws,
  region: string,
  credentials: ClientCredentials,
  options: ClientOptions = {},
): STSClient {
  return new STSClient({ region, endpoint: loopback.url, credentials, maxAttempts: 1, ...options });
}

export function iamClient(
  loopback: LoopbackAws,
  region: string,
  credentials: ClientCredentials,
  options: ClientOptions = {},
): IAMClient {
  return new IAMClient({ region, endpoint: loopback.url, credentials, maxAttempts: 1, ...options });
}

export function s3Client(
  loopback: LoopbackAws,
  region: string,
  credentials: ClientCredentials,
  options: ClientOptions = {},
): S3Client {
  return new S3Client({
    region,
    endpoint: loopback.url,
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
    ...options,
  });
}

/** The error an SDK call rejects with (fails the test if it resolves). */
export async function failure(promise: Promise<unknown>): Promise<{
  name: string;
  message: string;
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $fault?: string;
  Code?: string;
}> {
  try {
    await promise;
  } catch (error) {
    return error as Awaited<ReturnType<typeof failure>>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export const HUB_ACCOUNT = '111122223333';
export const CUSTOMER_ACCOUNT = '444455556666';

/**
 * The hub role Onramp's templates trust (arn:<partition>:iam::111122223333:role/onramp-hub), made in
 * the loopback, and an STS client signed in as it: what Onramp assumes customer roles from.
 */
export async function hubStsClient(
  loopback: LoopbackAws,
  partition: PartitionId,
  region: string,
): Promise<{ arn: string; sts: STSClient }> {
  const user = loopback.createUser(partition, HUB_ACCOUNT, 'hub-user', { policies: [ALLOW_ALL] });
  const hub = loopback.createRole(partition, HUB_ACCOUNT, {
    roleName: 'onramp-hub',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${HUB_ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    },
    inlinePolicies: [ALLOW_ALL],
  });
  const out = await stsClient(loopback, region, user.credentials).send(
    new AssumeRoleCommand({ RoleArn: hub.arn, RoleSessionName: 'hub' }),
  );
  return {
    arn: hub.arn,
    sts: stsClient(loopback, region, {
      accessKeyId: out.Credentials?.AccessKeyId ?? '',
      secretAccessKey: out.Credentials?.SecretAccessKey ?? '',
      sessionToken: out.Credentials?.SessionToken,
    }),
  };
}
