import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  STSServiceException,
} from '@aws-sdk/client-sts';
import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { getPartition, type PartitionId } from '@onramp/core';
import type { HubConfig } from '../../config.ts';
import {
  type AccessKeys,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
} from './aws-gateway.ts';

/**
 * The AwsGateway over the AWS SDK for JavaScript v3. One STS client set per partition, always signing
 * for a region of that partition and using its regional endpoint, so a GovCloud or China account never
 * reaches a commercial endpoint. The SDK's standard AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_STS variables
 * are honoured (that is how tests and local development point it at a loopback AWS).
 */
export function createSdkAwsGateway(options: {
  hubs: Partial<Record<PartitionId, HubConfig>>;
  timeoutMs?: number;
}): AwsGateway {
  const hubCredentials = new Map<PartitionId, AwsCredentialIdentityProvider>();
  const hubClients = new Map<PartitionId, STSClient>();
  const clientConfig = (partition: PartitionId) => ({
    region: getPartition(partition).defaultRegion,
    maxAttempts: 3,
    requestHandler: { requestTimeout: options.timeoutMs ?? 10_000, connectionTimeout: 5_000 },
  });

  function hubClient(partition: PartitionId): STSClient {
    let client = hubClients.get(partition);
    if (!client) {
      const hub = options.hubs[partition];
      if (!hub) {
        throw new AwsProblem(
          'rejected',
          'partition',
          'no_hub_identity',
          `Onramp has no hub identity in ${getPartition(partition).displayName}, so it cannot assume roles there.`,
          'Connect with access keys, or ask the operator to configure a hub identity for this partition.',
        );
      }
      const credentials = hubCredentials.get(partition) ?? credentialsFor(hub);
      hubCredentials.set(partition, credentials);
      client = new STSClient({ ...clientConfig(partition), credentials });
      hubClients.set(partition, client);
    }
    return client;
  }

  return {
    async identifyKeys(partition, keys: AccessKeys): Promise<CallerIdentity> {
      const client = new STSClient({
        ...clientConfig(partition),
        credentials: { accessKeyId: keys.accessKeyId, secretAccessKey: keys.secretAccessKey },
      });
      try {
        const out = await client.send(new GetCallerIdentityCommand({}));
        return { accountId: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
      } catch (error) {
        throw translate(error, 'keys');
      } finally {
        client.destroy();
      }
    },
    async assumeRole(partition, input) {
      const client = hubClient(partition);
      try {
        const out = await client.send(
          new AssumeRoleCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            ...(input.externalId ? { ExternalId: input.externalId } : {}),
            ...(input.durationSeconds ? { DurationSeconds: input.durationSeconds } : {}),
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
          throw new AwsProblem(
            'upstream',
            'roleArn',
            'incomplete_response',
            'AWS answered AssumeRole without credentials.',
          );
        }
        const [, , , , accountId = ''] = input.roleArn.split(':');
        return {
          credentials: {
            accessKeyId: c.AccessKeyId,
            secretAccessKey: c.SecretAccessKey,
            sessionToken: c.SessionToken,
            expiration: c.Expiration,
          },
          identity: {
            accountId,
            arn: out.AssumedRoleUser?.Arn ?? '',
            userId: out.AssumedRoleUser?.AssumedRoleId ?? '',
          },
        };
      } catch (error) {
        throw translate(error, 'role');
      }
    },
  };
}

function credentialsFor(hub: HubConfig): AwsCredentialIdentityProvider {
  const source = hub.credentials;
  if (source.source === 'keys') {
    return async () => ({
      accessKeyId: source.accessKeyId,
      secretAccessKey: source.secretAccessKey,
    });
  }
  if (source.source === 'profile') return fromIni({ profile: source.profile });
  return fromNodeProviderChain();
}

/** AWS errors a person can cause become field problems; the rest are upstream trouble, never "invalid". */
function translate(error: unknown, what: 'keys' | 'role'): AwsProblem {
  if (error instanceof AwsProblem) return error;
  const name =
    error instanceof STSServiceException
      ? error.name
      : ((error as { name?: string }).name ?? 'Error');
  const requestId = (error as { $metadata?: { requestId?: string } }).$metadata?.requestId;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const rejected = (field: string, code: string, message: string, hint?: string) =>
    new AwsProblem('rejected', field, code, message, hint, name, requestId);
  switch (name) {
    case 'InvalidClientTokenId':
      return rejected(
        'accessKeyId',
        'InvalidClientTokenId',
        'AWS does not recognise this access key ID in this partition.',
        'Check the key is active in IAM, and that the partition is the account’s.',
      );
    case 'SignatureDoesNotMatch':
      return rejected(
        'secretAccessKey',
        'SignatureDoesNotMatch',
        'The secret access key does not match the access key ID.',
        'Copy the secret again from the file AWS offered when the key was created.',
      );
    case 'ExpiredToken':
      return rejected(
        what === 'keys' ? 'accessKeyId' : 'roleArn',
        'ExpiredToken',
        'AWS says these credentials have expired.',
        'Use a long-term access key (AKIA…).',
      );
    case 'AccessDenied':
      return what === 'role'
        ? rejected(
            'roleArn',
            'AccessDenied',
            'AWS refused to let Onramp assume this role.',
            'Check that the role trusts the principal Onramp shows, requires exactly this external ID, has exactly this name, and has no MFA condition.',
          )
        : rejected('accessKeyId', 'AccessDenied', 'AWS refused this request for these keys.');
    case 'RegionDisabledException':
      return rejected(
        'partition',
        'RegionDisabledException',
        'STS is not activated in this account’s region.',
        'Activate the region for STS in IAM › Account settings.',
      );
    case 'MalformedPolicyDocument':
    case 'ValidationError':
      return rejected(
        what === 'role' ? 'roleArn' : 'accessKeyId',
        name,
        'AWS refused the request as malformed.',
      );
    default:
      return new AwsProblem(
        'upstream',
        what === 'role' ? 'roleArn' : 'accessKeyId',
        'upstream_unavailable',
        `AWS could not answer (${name}${status ? `, HTTP ${status}` : ''}); try again shortly.`,
        undefined,
        name,
        requestId,
      );
  }
}
