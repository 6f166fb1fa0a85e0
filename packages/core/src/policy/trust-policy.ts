import { CoreValidationError } from '../errors.ts';
import { type HubPrincipal, parseExternalId } from '../identifiers.ts';
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
