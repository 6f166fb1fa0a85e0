import { ACCOUNT_ID_PLACEHOLDER, getPartition, type PartitionId } from '@onramp/core';
import {
  type AwsCallOptions,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
  type TemporaryCredentials,
} from '../../ports/aws-gateway.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import type { WebIdentityTrust } from './aws-refusals.ts';

/** What assuming a keyless role needs: the gateway and Onramp's issuer (absent: none configured). */
export interface KeylessDeps {
  aws: Pick<AwsGateway, 'assumeRoleWithWebIdentity'>;
  webIdentity?: WebIdentityIssuer | undefined;
}

/** The account a keyless session is for: whose connection's subject its tokens carry. */
export interface KeylessTarget {
  partition: PartitionId;
  roleArn: string;
  tenantId: string;
  connectionId: string;
}

/**
 * What a keyless role of this connection must trust, or null when no issuer is configured. The
 * provider ARN is named with the role's account when it is known (a role ARN), else with core's
 * stand-in, as the manual steps name it.
 */
export function webIdentityTrustOf(
  issuer: Pick<WebIdentityIssuer, 'issuer' | 'audienceFor' | 'subjectFor'> | undefined,
  target: { partition: PartitionId; tenantId: string; connectionId: string; accountId?: string },
): WebIdentityTrust | null {
  if (!issuer?.issuer) return null;
  const conditionPrefix = issuer.issuer.replace(/^https:\/\//, '');
  const partition = getPartition(target.partition).id;
  return {
    issuer: issuer.issuer,
    audience: issuer.audienceFor(target.partition),
    subject: issuer.subjectFor(target.tenantId, target.connectionId),
    conditionPrefix,
    providerArn: `arn:${partition}:iam::${target.accountId ?? ACCOUNT_ID_PLACEHOLDER}:oidc-provider/${conditionPrefix}`,
  };
}

/** Why keyless roles cannot be used now, as an AwsProblem: Onramp's configuration, not the tenant's. */
export function issuerMissing(issuer: WebIdentityIssuer | undefined): AwsProblem {
  return new AwsProblem(
    'upstream',
    'method',
    'oidc_issuer_unavailable',
    `The platform has no OpenID Connect issuer configured, so it cannot assume keyless roles: ${issuer?.unavailableReason ?? 'the server was started without one.'}`,
  );
}

/**
 * AssumeRoleWithWebIdentity with a token minted for this one call. The subject and audience are the
 * connection's and the partition's unless a probe overrides them (the confused-deputy checks).
 *
 * A token AWS calls expired although it was minted a moment ago is tried once more with a fresh one
 * (a slow first call can outlive a short token); a second refusal is clock skew, reported as it is.
 */
export async function assumeKeylessRole(
  deps: KeylessDeps,
  target: KeylessTarget,
  input: {
    sessionName: string;
    durationSeconds?: number;
    policy?: string;
    subject?: string;
    audience?: string;
  },
  call?: AwsCallOptions,
): Promise<{ credentials: TemporaryCredentials; identity: CallerIdentity }> {
  const issuer = deps.webIdentity;
  if (!issuer?.issuer) throw issuerMissing(issuer);
  const subject = input.subject ?? issuer.subjectFor(target.tenantId, target.connectionId);
  const audience = input.audience ?? issuer.audienceFor(target.partition);
  const attempt = async () =>
    deps.aws.assumeRoleWithWebIdentity(
      target.partition,
      {
        roleArn: target.roleArn,
        webIdentityToken: await issuer.mint({ subject, audience }),
        sessionName: input.sessionName,
        ...(input.durationSeconds ? { durationSeconds: input.durationSeconds } : {}),
        ...(input.policy ? { policy: input.policy } : {}),
      },
      call,
    );
  try {
    return await attempt();
  } catch (error) {
    if (!(error instanceof AwsProblem) || error.code !== 'identity_token_expired') throw error;
    return attempt();
  }
}

/**
 * An audience Onramp really mints, but not this partition's: the probe that a keyless role pins its
 * audience. A token for another partition's STS must never open this role.
 */
export function otherAudience(issuer: WebIdentityIssuer, partition: PartitionId): string {
  const own = issuer.audienceFor(partition);
  const others = (['aws', 'aws-us-gov', 'aws-cn'] as const)
    .map((p) => issuer.audienceFor(p))
    .filter((a) => a !== own);
  return others[0] ?? `${own}.onramp-probe`;
}
