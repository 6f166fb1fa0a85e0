/** IAM policy documents as Onramp writes them: Allow statements only, each with a stable Sid. */
export type ConditionValue = string | boolean | number | Array<string | boolean | number>;
export type PolicyConditions = Record<string, Record<string, ConditionValue>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: PolicyConditions;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

export interface TrustStatement {
  Sid: string;
  Effect: 'Allow';
  /** `AWS` for a role trusting a hub principal; `Federated` (an OIDC provider ARN) for a keyless role. */
  Principal: { AWS?: string; Federated?: string };
  Action: string[];
  Condition?: PolicyConditions;
}

export interface TrustPolicyDocument {
  Version: '2012-10-17';
  Statement: TrustStatement[];
}

/** IAM's limit for a customer managed policy; whitespace is not counted. */
export const MANAGED_POLICY_SIZE_LIMIT = 6144;
/** Default quota of managed policies attached to one role (it can be raised to 20 by a quota request). */
export const MANAGED_POLICIES_PER_ROLE = 10;

/** Size as IAM counts it: the document's characters, whitespace excluded. */
export function policySize(document: unknown): number {
  return JSON.stringify(document).replace(/\s/g, '').length;
}

/** Applies fn to every string in a JSON value (keys untouched). */
export function mapStrings<T>(value: T, fn: (s: string) => string): T {
  if (typeof value === 'string') return fn(value) as T;
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, fn)])) as T;
  }
  return value;
}
