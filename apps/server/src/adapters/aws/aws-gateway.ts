import type { PartitionId } from '@onramp/core';

/**
 * Everything Onramp asks of AWS, as one port. The server's services depend on this interface only;
 * the AWS SDK implementation lives beside it, and tests of the services use a fake.
 */
export interface CallerIdentity {
  accountId: string;
  arn: string;
  userId: string;
}

export interface TemporaryCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export interface AccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AwsGateway {
  /** GetCallerIdentity with long-term keys. */
  identifyKeys(partition: PartitionId, keys: AccessKeys): Promise<CallerIdentity>;
  /** AssumeRole from the partition's hub identity; externalId undefined means "without one". */
  assumeRole(
    partition: PartitionId,
    input: { roleArn: string; externalId?: string; sessionName: string; durationSeconds?: number },
  ): Promise<{ credentials: TemporaryCredentials; identity: CallerIdentity }>;
}

/**
 * A problem AWS reported, translated into Onramp's terms: which field it belongs to, and what to do.
 * `kind: 'upstream'` means AWS could not answer (throttled, unreachable): never the user's fault.
 */
export class AwsProblem extends Error {
  constructor(
    readonly kind: 'rejected' | 'upstream',
    readonly field: string,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly awsCode?: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'AwsProblem';
  }
}
