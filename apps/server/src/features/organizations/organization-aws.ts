import { memberExternalId, type PartitionId } from '@onramp/core';
import type { AwsGateway, TemporaryCredentials } from '../../ports/aws-gateway.ts';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import type { OrganizationRow } from './organization-jobs-repository.ts';

/** How many times a call AWS did not answer (5xx, throttling, timeout) is made before giving up. */
export const AWS_ATTEMPTS = 5;

/** Whether AWS failed to answer (throttled, unreachable), as opposed to refusing. */
export function isTransient(error: unknown): boolean {
  return error instanceof AwsProblem && error.kind === 'upstream';
}

/**
 * Runs `call` until it succeeds or fails for a reason other than AWS not answering, at most
 * AWS_ATTEMPTS times, sleeping 1, 2, 4, 8 s between attempts (Organizations throttles each account's
 * callers; TooManyRequestsException asks for exactly this).
 */
export async function retryTransient<T>(
  call: () => Promise<T>,
  sleep: (ms: number) => Promise<void>,
  attempts = AWS_ATTEMPTS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts) throw error;
      await sleep(1000 * 2 ** (attempt - 1));
    }
  }
}

/**
 * A session of the organization's management role: assumed from the partition's hub with the
 * management account's own external ID (`<prefix>-<account>`), as the management template sets it.
 */
export async function managementSession(
  aws: Pick<AwsGateway, 'assumeRole'>,
  org: Pick<
    OrganizationRow,
    'partition' | 'management_role_arn' | 'management_account_id' | 'external_id_prefix'
  >,
): Promise<TemporaryCredentials> {
  if (!org.management_role_arn || !org.management_account_id)
    throw new AwsProblem(
      'rejected',
      'managementRoleArn',
      'no_management_role',
      'The management stack has not reported its role yet.',
      'Deploy the management template, or paste the management role ARN.',
    );
  const { credentials } = await aws.assumeRole(org.partition as PartitionId, {
    roleArn: org.management_role_arn,
    externalId: memberExternalId(org.external_id_prefix, org.management_account_id),
    sessionName: 'onramp-organization',
  });
  return credentials;
}
