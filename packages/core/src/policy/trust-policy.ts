import { CoreValidationError, type FieldIssue } from '../errors.ts';
import {
  type HubPrincipal,
  parseAccountId,
  parseArn,
  parseExternalId,
  parseOidcIssuer,
  parseWebIdentityAudience,
  parseWebIdentitySubject,
} from '../identifiers.ts';
import type { PartitionId } from '../partitions/partitions.ts';
import type { TrustPolicyDocument } from './policy-document.ts';

export interface TrustPolicyInput {
  partition: PartitionId;
  /** The operator's hub principal in this partition. */
  hub: HubPrincipal;
  externalId: string;
  /**
   * An external ID the role still accepts beside `externalId` while a regenerated one takes over
   * (a grace period): `sts:ExternalId` then lists both, and IAM matches either (several values of
   * one key in one condition operator are ORed).
   */
  previousExternalId?: string | undefined;
  /**
   * Pin the exact principal with aws:PrincipalArn. On by default for a role or user hub: trusting the
   * hub account's root and pinning the ARN in a condition survives the hub role being re-created,
   * where naming the role as Principal would silently turn into its old unique ID and stop matching.
   */
  pinPrincipalArn?: string | false;
}

/**
 * The role's trust policy: only the hub principal may assume it, and only with the external ID Onramp
 * generated for this connection (the confused-deputy defence). sts:TagSession lets Onramp label the
 * sessions it opens with which platform service asked; it is bound by the same condition.
 */
export function buildTrustPolicy(input: TrustPolicyInput): TrustPolicyDocument {
  const externalId = parseExternalId(input.externalId);
  if (!externalId.ok) throw new CoreValidationError([externalId.issue]);
  const previous =
    input.previousExternalId === undefined ? undefined : parseExternalId(input.previousExternalId);
  if (previous && !previous.ok) throw new CoreValidationError([previous.issue]);
  if (input.hub.partition !== input.partition) {
    throw new CoreValidationError([
      {
        field: 'hubPrincipal',
        code: 'wrong_partition',
        message: `The hub principal is in ${input.hub.partition}, but the role is in ${input.partition}.`,
      },
    ]);
  }
  const pin =
    input.pinPrincipalArn === false
      ? undefined
      : (input.pinPrincipalArn ?? (input.hub.kind === 'account' ? undefined : input.hub.arn));
  return trustPolicyShape<string>(
    `arn:${input.partition}:iam::${input.hub.accountId}:root`,
    previous?.ok && previous.value !== externalId.value
      ? [externalId.value, previous.value]
      : externalId.value,
    pin,
  ) as TrustPolicyDocument;
}

/**
 * The trust policy's structure with the principal and external ID given as values of any kind, so the
 * CloudFormation and Terraform renderers can put a parameter reference where the JSON has a literal.
 */
export function trustPolicyShape<T>(principal: T, externalId: T | T[], pinPrincipalArn?: string) {
  // A fresh object each time: a shared one would come out as a YAML alias, which CloudFormation rejects.
  const pin = () =>
    pinPrincipalArn ? { ArnEquals: { 'aws:PrincipalArn': pinPrincipalArn } } : undefined;
  const condition: Record<string, Record<string, T | T[] | string>> = {
    StringEquals: { 'sts:ExternalId': externalId },
    ...(pin() ?? {}),
  };
  return {
    Version: '2012-10-17' as const,
    Statement: [
      {
        Sid: 'OnrampHubAssumeRole',
        Effect: 'Allow' as const,
        Principal: { AWS: principal },
        Action: ['sts:AssumeRole'],
        Condition: condition,
      },
      // Session tags (which platform service asked) need sts:TagSession. AWS documents sts:ExternalId
      // for AssumeRole only, so it is granted in a statement of its own: it cannot open a session by
      // itself, since AssumeRole above still demands the external ID.
      {
        Sid: 'OnrampHubTagSession',
        Effect: 'Allow' as const,
        Principal: { AWS: principal },
        Action: ['sts:TagSession'],
        ...(pinPrincipalArn ? { Condition: pin() } : {}),
      },
    ],
  };
}

/** The aws:PrincipalArn a trust policy pins, if any. */
export function pinnedPrincipal(trust: TrustPolicyDocument | undefined): string | undefined {
  const value = trust?.Statement[0]?.Condition?.ArnEquals?.['aws:PrincipalArn'];
  return typeof value === 'string' ? value : undefined;
}

export interface WebIdentityTrustInput {
  partition: PartitionId;
  /** The account's IAM OIDC provider for Onramp's issuer: arn:<partition>:iam::<account>:oidc-provider/<prefix>. */
  providerArn: string;
  /** The issuer without `https://`, which names the provider's condition keys. */
  conditionPrefix: string;
  audience: string;
  subject: string;
}

/**
 * A keyless role's trust policy: only tokens from Onramp's issuer (through the account's OIDC
 * provider), for AWS STS, about this one connection may assume the role. The subject is what binds
 * the role to one connection of one tenant, as the external ID does for a role trusting the hub;
 * without it, any token Onramp mints for anyone would open the role.
 */
export function buildWebIdentityTrustPolicy(input: WebIdentityTrustInput): TrustPolicyDocument {
  const issues: FieldIssue[] = [];
  const provider = parseArn(input.providerArn, 'providerArn');
  const prefix = input.conditionPrefix;
  if (!parseOidcIssuer(`https://${prefix}`, 'conditionPrefix').ok) {
    issues.push({
      field: 'conditionPrefix',
      code: 'invalid_format',
      message:
        'The condition prefix is the issuer URL without https:// (a host and an optional path).',
    });
  }
  if (
    !provider.ok ||
    provider.value.service !== 'iam' ||
    provider.value.region !== '' ||
    provider.value.resource !== `oidc-provider/${prefix}` ||
    !/^\d{12}$/.test(provider.value.accountId)
  ) {
    issues.push({
      field: 'providerArn',
      code: 'invalid_arn',
      message: `The provider ARN must be arn:${input.partition}:iam::<account ID>:oidc-provider/${prefix}: the provider of the issuer the conditions name.`,
    });
  } else if (provider.value.partition !== input.partition) {
    issues.push({
      field: 'providerArn',
      code: 'wrong_partition',
      message: `The provider is in ${provider.value.partition}, but the role is in ${input.partition}.`,
    });
  }
  for (const result of [
    parseWebIdentityAudience(input.audience, 'audience'),
    parseWebIdentitySubject(input.subject, 'subject'),
  ]) {
    if (!result.ok) issues.push(result.issue);
  }
  if (issues.length > 0) throw new CoreValidationError(issues);
  return webIdentityTrustShape<string>(input.providerArn, input) as TrustPolicyDocument;
}

/**
 * The conditions a keyless role's trust puts on a token: its audience and its subject, each matched
 * exactly. Onramp quotes this block in its hints when a role does not accept its tokens.
 */
export function webIdentityConditions(input: {
  conditionPrefix: string;
  audience: string;
  subject: string;
}): { StringEquals: Record<string, string> } {
  return {
    StringEquals: {
      [`${input.conditionPrefix}:aud`]: input.audience,
      [`${input.conditionPrefix}:sub`]: input.subject,
    },
  };
}

/**
 * The keyless trust's structure with the provider given as a value of any kind, so the CloudFormation
 * and Terraform renderers can put a reference to the provider they create (or the one the account
 * already has) where the JSON has an ARN. No sts:TagSession: Onramp's tokens carry no session tags.
 */
export function webIdentityTrustShape<T>(
  federated: T,
  input: { conditionPrefix: string; audience: string; subject: string },
) {
  return {
    Version: '2012-10-17' as const,
    Statement: [
      {
        Sid: 'OnrampWebIdentity',
        Effect: 'Allow' as const,
        Principal: { Federated: federated },
        Action: ['sts:AssumeRoleWithWebIdentity'],
        Condition: webIdentityConditions(input),
      },
    ],
  };
}

/**
 * The ARN IAM gives the OIDC provider for `issuer` in an account. There is at most one provider per
 * URL in an account, so the ARN is known before the provider exists.
 */
export function oidcProviderArn(partition: PartitionId, accountId: string, issuer: string): string {
  const parsed = parseOidcIssuer(issuer, 'issuer');
  if (!parsed.ok) throw new CoreValidationError([parsed.issue]);
  const account = parseAccountId(accountId);
  if (!account.ok) throw new CoreValidationError([account.issue]);
  return `arn:${partition}:iam::${account.value}:oidc-provider/${parsed.value.conditionPrefix}`;
}

/**
 * A regular expression (unanchored) for the ARN of an account's provider for the issuer whose prefix is
 * given, in any account of the partition: the templates accept no other provider for a keyless role.
 */
export function oidcProviderArnPattern(partition: PartitionId, conditionPrefix: string): string {
  const escaped = conditionPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `arn:${partition}:iam::[0-9]{12}:oidc-provider/${escaped}`;
}
