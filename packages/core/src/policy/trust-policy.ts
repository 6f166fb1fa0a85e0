import { CoreValidationError } from '../errors.ts';
import { type HubPrincipal, parseExternalId } from '../identifiers.ts';
import type { PartitionId } from '../partitions/partitions.ts';
import type { PolicyConditions, TrustPolicyDocument } from './policy-document.ts';

export interface TrustPolicyInput {
  partition: PartitionId;
  /** The operator's hub principal in this partition. */
  hub: HubPrincipal;
  externalId: string;
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
  const condition: PolicyConditions = { StringEquals: { 'sts:ExternalId': externalId.value } };
  if (pin) condition.ArnEquals = { 'aws:PrincipalArn': pin };
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'OnrampHubAssumeRole',
        Effect: 'Allow',
        Principal: { AWS: `arn:${input.partition}:iam::${input.hub.accountId}:root` },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
        Condition: condition,
      },
    ],
  };
}
