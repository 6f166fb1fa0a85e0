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

/** Credentials to act as a connected account: its long-term keys, or a session of its role. */
export type AccountCredentials = AccessKeys | TemporaryCredentials;

export interface SimulationQuery {
  actions: string[];
  /** Default `*`. */
  resourceArns?: string[];
  /** e.g. aws:RequestedRegion, so region-restricted statements are evaluated in an allowed region. */
  context?: { key: string; values: string[]; type: 'string' | 'stringList' }[];
}

export interface SimulationResult {
  action: string;
  resource: string;
  decision: 'allowed' | 'implicitDeny' | 'explicitDeny';
  /** False when an organization SCP denies it (the account's own policies may well allow it). */
  allowedByOrganizations: boolean;
}

export interface IamPolicySummary {
  arn: string;
  name: string;
  path: string;
  description: string;
  /** True for AWS managed policies (arn:<partition>:iam::aws:policy/…). */
  awsManaged: boolean;
  attachmentCount: number;
}

/**
 * How one call may be cut short: the caller's signal (a request that was answered or whose client went
 * away, a check whose outcome is already decided). An aborted call rejects with an `upstream` AwsProblem
 * of code `cancelled`, and its HTTP request to AWS is closed at once.
 */
/** One of a principal's policies: an inline one by its name, a managed one by its ARN; the JSON. */
export interface PrincipalPolicy {
  name: string;
  document: string;
}

/** An organization as DescribeOrganization reports it. */
export interface OrganizationInfo {
  id: string;
  arn: string;
  managementAccountId: string;
  /** ALL or CONSOLIDATED_BILLING. */
  featureSet: string;
}

/** A member account as Organizations reports it (ListAccounts, ListAccountsForParent, DescribeAccount). */
export interface OrganizationAccountInfo {
  id: string;
  arn: string;
  name: string;
  email: string;
  /** ACTIVE, SUSPENDED, PENDING_CLOSURE (AWS may add more). */
  status: string;
  joinedAt: string | null;
}

/** A root or an organizational unit. */
export interface OrganizationUnitInfo {
  id: string;
  name: string;
}

/** One page of a paged Organizations list; `nextToken` null on the last page. */
export interface OrganizationsPage<T> {
  items: T[];
  nextToken: string | null;
}

/**
 * AWS Organizations, read with a session of an organization's management role (never the hub's own
 * credentials). One call per method and page, so the caller paces them under AWS's rate limits.
 */
export interface OrganizationsReader {
  describeOrganization(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    call?: AwsCallOptions,
  ): Promise<OrganizationInfo>;
  listRoots(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    nextToken: string | null,
    call?: AwsCallOptions,
  ): Promise<OrganizationsPage<OrganizationUnitInfo>>;
  listOrganizationalUnitsForParent(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    parentId: string,
    nextToken: string | null,
    call?: AwsCallOptions,
  ): Promise<OrganizationsPage<OrganizationUnitInfo>>;
  listAccountsForParent(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    parentId: string,
    nextToken: string | null,
    call?: AwsCallOptions,
  ): Promise<OrganizationsPage<OrganizationAccountInfo>>;
  listAccounts(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    nextToken: string | null,
    call?: AwsCallOptions,
  ): Promise<OrganizationsPage<OrganizationAccountInfo>>;
  /** The parent of an account or unit (AWS returns exactly one). */
  listParents(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    childId: string,
    call?: AwsCallOptions,
  ): Promise<{ id: string; type: 'ROOT' | 'ORGANIZATIONAL_UNIT' }>;
  describeAccount(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    accountId: string,
    call?: AwsCallOptions,
  ): Promise<OrganizationAccountInfo>;
  describeOrganizationalUnit(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    unitId: string,
    call?: AwsCallOptions,
  ): Promise<OrganizationUnitInfo>;
}

export interface AwsCallOptions {
  signal?: AbortSignal | undefined;
}

export interface AwsGateway extends OrganizationsReader {
  /** GetCallerIdentity with long-term keys. */
  identifyKeys(
    partition: PartitionId,
    keys: AccessKeys,
    call?: AwsCallOptions,
  ): Promise<CallerIdentity>;
  /** AssumeRole from the partition's hub identity; externalId undefined means "without one". */
  assumeRole(
    partition: PartitionId,
    input: {
      roleArn: string;
      externalId?: string;
      sessionName: string;
      durationSeconds?: number;
      /** A session policy narrowing the session (JSON, at most 2,048 characters packed). */
      policy?: string;
      tags?: { key: string; value: string }[];
    },
    call?: AwsCallOptions,
  ): Promise<{ credentials: TemporaryCredentials; identity: CallerIdentity }>;
  /**
   * AssumeRoleWithWebIdentity with a token of Onramp's own OpenID Connect issuer: a keyless role
   * (`oidc_role`). Sent unsigned, as AWS documents it: no hub identity and no AWS credentials of
   * Onramp's are involved, so it works where the operator has none. The session is not role-chained
   * (up to the role's MaxSessionDuration, 12 h at most).
   */
  assumeRoleWithWebIdentity(
    partition: PartitionId,
    input: {
      roleArn: string;
      webIdentityToken: string;
      sessionName: string;
      durationSeconds?: number;
      /** A session policy narrowing the session (JSON, at most 2,048 characters packed). */
      policy?: string;
    },
    call?: AwsCallOptions,
  ): Promise<{ credentials: TemporaryCredentials; identity: CallerIdentity }>;
  /** GetSessionToken for an IAM user's long-term keys. */
  getSessionToken(
    partition: PartitionId,
    keys: AccessKeys,
    durationSeconds?: number,
    call?: AwsCallOptions,
  ): Promise<TemporaryCredentials>;
  /** iam:SimulatePrincipalPolicy on the principal, called with the principal's own credentials. */
  simulatePrincipalPolicy(
    partition: PartitionId,
    credentials: AccountCredentials,
    principalArn: string,
    query: SimulationQuery,
    call?: AwsCallOptions,
  ): Promise<SimulationResult[]>;
  /**
   * The principal's inline and attached managed policy documents, read with its own credentials:
   * each named (an inline policy by its name, a managed one by its ARN).
   */
  readPrincipalPolicies(
    partition: PartitionId,
    credentials: AccountCredentials,
    principalArn: string,
    call?: AwsCallOptions,
  ): Promise<PrincipalPolicy[]>;
  /** iam:SimulateCustomPolicy, called by the hub identity, over documents read from the account. */
  simulateCustomPolicy(
    partition: PartitionId,
    documents: string[],
    query: SimulationQuery,
    call?: AwsCallOptions,
  ): Promise<SimulationResult[]>;
  /** ListPolicies in the account, with what is attached to the principal. */
  listPolicies(
    partition: PartitionId,
    credentials: AccountCredentials,
    query: { scope: 'aws' | 'local'; marker?: string; maxItems: number },
  ): Promise<{ policies: IamPolicySummary[]; marker: string | null }>;
  listAttachedPolicyArns(
    partition: PartitionId,
    credentials: AccountCredentials,
    principalArn: string,
  ): Promise<string[]>;
  attachPolicy(
    partition: PartitionId,
    credentials: AccountCredentials,
    principalArn: string,
    policyArn: string,
  ): Promise<void>;
  /**
   * The partition's federation endpoint (`https://<signinHost>/federation?Action=getSigninToken`): a
   * sign-in token for a role session, which AWS accepts in a console login URL for 15 minutes.
   * `sessionDurationSeconds` (900–43200) sets how long the console session lasts; AWS takes it only
   * for a session that is not role-chained (a keyless role's), and otherwise uses its own default.
   */
  getSigninToken(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    options?: { sessionDurationSeconds?: number },
  ): Promise<string>;
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
