/**
 * The loopback AWS server: one node:http listener that tells STS, IAM and S3 apart by the SigV4
 * credential scope, checks the signature against the secret it issued, and answers in each service's
 * wire protocol. TEST TOOLING — never used in production.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import type { Controls } from './context.ts';
import {
  AwsError,
  entityAlreadyExists,
  expiredToken,
  invalidClientTokenId,
  MESSAGES,
  signatureDoesNotMatch,
} from './errors.ts';
import { authorize } from './evaluate.ts';
import { handleIam } from './iam.ts';
import { addOidcProvider } from './oidc-providers.ts';
import {
  asJsonProtocolError,
  handleOrganizations,
  jsonErrorReply,
  newOrganization,
  newUnit,
  ORGANIZATIONS_SIGNING_REGION,
  ORGANIZATIONS_TARGET_PREFIX,
  type Organization,
  type OrganizationAccountStatus,
  organizationOfAccount,
  tooManyRequests,
} from './organizations.ts';
import {
  IAM_SIGNING_REGION,
  PARTITIONS,
  type PartitionId,
  partitionOfRegion,
} from './partitions.ts';
import { QueryParams, type QueryService, queryErrorReply, type Reply, VERSIONS } from './query.ts';
import { decodeAwsChunked, handleS3, s3ErrorReply, s3Target } from './s3.ts';
import {
  expectedSignature,
  parseAmzDate,
  queryPairs,
  readSigV4,
  type SignedRequestParts,
  type SigV4Auth,
  sha256Hex,
  signaturesEqual,
} from './sigv4.ts';
import {
  type AccessKey,
  LoopbackState,
  normalizePath,
  type PolicyDocument,
  policyJson,
  type Role,
  type Session,
  type User,
} from './state.ts';
import { handleSts } from './sts.ts';
import {
  assumeRoleWithWebIdentity,
  type IssuerKeys,
  idpCommunicationError,
  partitionOfRoleArn,
} from './web-identity.ts';

/**
 * `signin` is the console's federation endpoint (`/federation`), unsigned like AWS's. `issuer` names the
 * loopback STS's own fetches from an OIDC issuer (for faults only: they are not requests it answers).
 */
export type Service = 'sts' | 'iam' | 's3' | 'organizations' | 'signin' | 'issuer';

export interface LoopbackOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Added before every response, errors included (benchmarks use it). */
  latencyMs?: number;
  /**
   * Refuse IAM requests not signed for the partition's IAM region (us-east-1, us-gov-west-1,
   * cn-north-1), as IAM does, and Organizations requests not signed for the partition's
   * Organizations region (us-east-1, us-gov-west-1, cn-northwest-1). Default true.
   */
  strictIamSigningRegion?: boolean;
  /** Largest request body accepted. Default 64 MiB. */
  maxBodyBytes?: number;
  /**
   * Whether IAM's policy simulator is served. False plays an AWS-compatible endpoint without one:
   * SimulatePrincipalPolicy and SimulateCustomPolicy answer HTTP 500 with an HTML page. Default true.
   */
  simulator?: boolean;
}

export interface CallRecord {
  at: Date;
  /** From the credential scope; guessed when the request is not signed. */
  service: Service;
  /** Query `Action`, or the S3 operation (PutObject…); empty when it could not be read. */
  action: string;
  partition: PartitionId | undefined;
  /** The credential scope's region. */
  region: string | undefined;
  accessKeyId: string | undefined;
  /** The verified caller (an assumed-role session's `arn:…:sts::…` ARN); undefined if not verified. */
  callerArn: string | undefined;
  requestId: string;
  /** 0 when the client went away before an answer (a hung request it gave up on). */
  status: number;
  /** The error code answered, if any. */
  errorCode: string | undefined;
  /** When the answer was sent, or when the client closed the connection without one. */
  endedAt: Date;
  /** The client closed the connection before the answer was sent (a timeout, an abort). */
  clientClosed: boolean;
}

export interface FaultFilter {
  /**
   * `AssumeRole` or `sts:AssumeRole`; any action when omitted. With service `issuer`:
   * `openid-configuration` or `jwks` (the discovery document or the key set).
   */
  action?: string;
  /** Any service but `issuer` when omitted: issuer fetches are hit only by faults that name it. */
  service?: Service;
  /**
   * Only requests signed for this partition (an unsigned AssumeRoleWithWebIdentity and its issuer
   * fetches: its role ARN's partition); any partition when omitted.
   */
  partition?: PartitionId;
}

/**
 * What an injected fault does to a matching request, as real endpoints misbehave:
 * - `error`: a 5xx with the service's own XML error body (InternalFailure, ServiceUnavailable…);
 * - `html`: a 5xx with an HTML page, as a load balancer or an endpoint lacking the operation answers;
 * - `timeout`: no answer until the client gives up (or, with `hangMs`, a late normal answer);
 * - `throttle`: `Throttling` 400 (S3: `SlowDown` 503).
 * For an issuer fetch (service `issuer`), each makes the issuer misbehave as a web server does: `error`
 * answers the status, `html` answers an HTML page (200 unless `status`), `timeout` does not answer
 * within the loopback's issuer timeout, `throttle` answers 429, and `unreachable` refuses the
 * connection. STS then answers IDPCommunicationError, as AWS does.
 */
export type FaultKind = 'error' | 'html' | 'timeout' | 'throttle' | 'unreachable';

export interface FaultSpec extends FaultFilter {
  kind: FaultKind;
  /** How many requests it hits; default every matching request until `clearFaults()`. */
  times?: number;
  /** `error` and `html`: 500 (default), 502, 503 or 504; 200 only for an issuer's `html`. */
  status?: 200 | 500 | 502 | 503 | 504;
  /** `timeout`: answer normally after this long instead of never. */
  hangMs?: number;
}

/** One fetch the loopback STS made from an OIDC issuer. */
export interface IssuerFetch {
  at: Date;
  /** What the token's issuer named (`https://…`). */
  url: string;
  /** Where the fetch went (after `routeIssuer`). */
  fetched: string;
  what: 'openid-configuration' | 'jwks';
  /** 0 when there was no answer (unreachable, timed out). */
  status: number;
  /** Why it did not give usable JSON; undefined when it did. */
  error: string | undefined;
}

export interface OidcProviderInfo {
  partition: PartitionId;
  accountId: string;
  arn: string;
  /** Without `https://`, as IAM keeps it and as trust policy condition keys are prefixed. */
  url: string;
  clientIds: string[];
}

export interface Keys {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface AccessKeyInfo extends Keys {
  partition: PartitionId;
  accountId: string;
  /** The user's ARN, or the account root's. */
  arn: string;
  /** Ready for an SDK client's `credentials` option. */
  credentials: Keys;
}

export interface UserInfo extends AccessKeyInfo {
  userName: string;
  userId: string;
}

export interface RoleInfo {
  partition: PartitionId;
  accountId: string;
  roleName: string;
  roleId: string;
  path: string;
  arn: string;
}

export interface PolicyInfo {
  partition: PartitionId;
  arn: string;
  name: string;
  path: string;
  policyId: string;
}

export interface CreateUserOptions {
  path?: string;
  /** Inline policies: a list (named inline-1, inline-2…) or by name. */
  policies?: PolicyDocument[] | Record<string, PolicyDocument>;
  managedPolicyArns?: string[];
  tags?: Record<string, string>;
  /** Register these keys instead of generating new ones. */
  accessKey?: Keys;
}

export interface CreateRoleOptions {
  roleName: string;
  path?: string;
  trustPolicy: PolicyDocument;
  inlinePolicies?: PolicyDocument[] | Record<string, PolicyDocument>;
  managedPolicyArns?: string[];
  /** Seconds, 3600 (default) to 43200. */
  maxSessionDuration?: number;
  description?: string;
  tags?: Record<string, string>;
}

export interface CreatePolicyOptions {
  name: string;
  path?: string;
  document: PolicyDocument;
  description?: string;
}

export interface CreateBucketOptions {
  /**
   * The owning account. When set, requests are authorized like AWS does (the caller's identity
   * policies, the bucket policy, SCPs); when omitted, any signed caller of the partition may use it.
   */
  ownerAccountId?: string;
  /** When set, requests signed for another region are refused (AuthorizationHeaderMalformed). */
  region?: string;
  policy?: PolicyDocument;
}

/** What `createOrganization` made. */
export interface OrganizationInfo {
  partition: PartitionId;
  /** `o-` and 10 lowercase letters or digits. */
  id: string;
  /** `r-` and 4 lowercase letters or digits. */
  rootId: string;
  managementAccountId: string;
  arn: string;
}

export interface OrganizationAccountOptions {
  /** Default `account-<id>`. */
  name?: string;
  /** Default `aws+<id>@example.test`. */
  email?: string;
  /** Default CREATED. */
  joinedMethod?: 'INVITED' | 'CREATED';
}

/** A request rate above which an Organizations (or other) endpoint answers throttling. */
export interface RateLimit {
  /** Requests allowed per second, on average. */
  perSecond: number;
  /** Requests allowed at once before the rate applies (default `perSecond`). */
  burst?: number;
}

interface Bucket {
  tokens: number;
  capacity: number;
  perSecond: number;
  at: number;
}

interface Fault {
  kind: FaultKind;
  status: number;
  remaining: number;
  filter: FaultFilter;
  hangMs: number | undefined;
}

const SIMULATOR_ACTIONS = new Set(['SimulatePrincipalPolicy', 'SimulateCustomPolicy']);

/** What an AWS-compatible endpoint or a load balancer in front of one answers for a 5xx. */
function htmlPage(status: number): Reply {
  const title = `${status} ${STATUS_TEXT[status] ?? 'Error'}`;
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: `<!DOCTYPE html>\n<html><head><title>${title}</title></head><body><h1>${title}</h1><p>The server could not complete the request.</p></body></html>\n`,
  };
}

const STATUS_TEXT: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SKEW_MS = 15 * 60 * 1000;

function amz(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

export class LoopbackAws {
  /** `http://127.0.0.1:<port>`: the `endpoint` for SDK clients of every service. */
  readonly url: string;
  /** Milliseconds added before every response; may be changed at any time. */
  latencyMs: number;
  /** Whether Simulate* are served (see `LoopbackOptions.simulator`); may be changed at any time. */
  simulator: boolean;
  readonly state = new LoopbackState();
  private readonly controls: Controls = {
    propagationDelays: new Map(),
    deniedSimulators: new Set(),
  };
  private readonly faults: Fault[] = [];
  private readonly signinTokens = new Map<string, { partition: PartitionId; arn: string }>();
  private readonly log: CallRecord[] = [];
  private open = 0;
  private readonly strictIam: boolean;
  private readonly maxBody: number;
  /** https origin → the http base its fetches go to. */
  private readonly issuerRoutes = new Map<string, string>();
  /** Issuer (the token's iss) → its key set, as AWS caches it. */
  private readonly jwksCache = new Map<string, JWK[]>();
  private readonly issuerLog: IssuerFetch[] = [];
  private clockOffsetMs = 0;
  /** Latency added per service, on top of `latencyMs`. */
  private readonly serviceLatency = new Map<Service, number>();
  private readonly rateLimits = new Map<Service, Bucket>();
  /** Signs Organizations' NextTokens (a token from another loopback, or edited, is refused). */
  private readonly tokenKey = randomBytes(32);
  /**
   * How long the loopback STS waits for an issuer's answer before IDPCommunicationError. AWS documents
   * no figure; a few seconds is what its STS is observed to give. May be changed at any time.
   */
  issuerTimeoutMs = 5000;

  private constructor(
    private readonly server: Server,
    options: LoopbackOptions,
  ) {
    const address = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${address.port}`;
    this.latencyMs = options.latencyMs ?? 0;
    this.simulator = options.simulator ?? true;
    this.strictIam = options.strictIamSigningRegion ?? true;
    this.maxBody = options.maxBodyBytes ?? 64 * 1024 * 1024;
  }

  /** @internal use startLoopbackAws */
  static async start(options: LoopbackOptions = {}): Promise<LoopbackAws> {
    let instance: LoopbackAws | undefined;
    const server = createServer((req, res) => {
      if (!instance) {
        res.statusCode = 503;
        res.end();
        return;
      }
      instance.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.end(String(error));
        } else res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    instance = new LoopbackAws(server, options);
    return instance;
  }

  /** Closes the listener and every open connection. */
  async stop(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  // ─── calls ────────────────────────────────────────────────────────────────────────────────────

  /** Every request answered, oldest first (faulted and refused ones included). */
  get calls(): readonly CallRecord[] {
    return this.log;
  }

  clearCalls(): void {
    this.log.length = 0;
  }

  // ─── state ────────────────────────────────────────────────────────────────────────────────────

  /** Creates the account (idempotent). Other creators create their account on first use too. */
  createAccount(partition: PartitionId, accountId: string): { accountId: string; rootArn: string } {
    this.state.account(partition, accountId);
    return { accountId, rootArn: `arn:${partition}:iam::${accountId}:root` };
  }

  /** An IAM user with one long-term access key (AKIA…). */
  createUser(
    partition: PartitionId,
    accountId: string,
    userName: string,
    options: CreateUserOptions = {},
  ): UserInfo {
    const account = this.state.account(partition, accountId);
    if (account.users.has(userName)) throw new TypeError(`user ${userName} already exists`);
    const base = this.state.newEntity('user', partition, accountId, userName, {
      path: options.path,
      inlinePolicies: options.policies,
      managedPolicyArns: options.managedPolicyArns,
      tags: options.tags,
    });
    const user: User = { ...base, kind: 'user' };
    account.users.set(userName, user);
    const key = this.state.addAccessKey(partition, accountId, userName, options.accessKey);
    return { ...this.keyInfo(key), userName, userId: user.id };
  }

  /** Another access key for an existing user (AWS allows two). */
  createAccessKey(
    partition: PartitionId,
    accountId: string,
    userName: string,
    given?: Keys,
  ): AccessKeyInfo {
    const account = this.state.account(partition, accountId);
    if (!account.users.has(userName)) throw new TypeError(`no user ${userName} in ${accountId}`);
    const existing = [...this.state.of(partition).keys.values()].filter(
      (k) => k.accountId === accountId && k.userName === userName,
    );
    if (existing.length >= 2) throw new TypeError(`user ${userName} already has two access keys`);
    return this.keyInfo(this.state.addAccessKey(partition, accountId, userName, given));
  }

  /** Long-term keys of the account's root user. */
  createRootKeys(partition: PartitionId, accountId: string, given?: Keys): AccessKeyInfo {
    this.state.account(partition, accountId);
    return this.keyInfo(this.state.addAccessKey(partition, accountId, undefined, given));
  }

  createRole(partition: PartitionId, accountId: string, options: CreateRoleOptions): RoleInfo {
    const account = this.state.account(partition, accountId);
    // As IAM: role names are unique in an account regardless of case.
    const wanted = options.roleName.toLowerCase();
    if ([...account.roles.keys()].some((name) => name.toLowerCase() === wanted)) {
      throw entityAlreadyExists(`Role with name ${options.roleName} already exists.`);
    }
    const maxSessionDuration = options.maxSessionDuration ?? 3600;
    if (
      !Number.isInteger(maxSessionDuration) ||
      maxSessionDuration < 3600 ||
      maxSessionDuration > 43200
    ) {
      throw new TypeError('maxSessionDuration must be 3600 to 43200 seconds');
    }
    const base = this.state.newEntity('role', partition, accountId, options.roleName, {
      path: options.path,
      inlinePolicies: options.inlinePolicies,
      managedPolicyArns: options.managedPolicyArns,
      tags: options.tags,
    });
    const role: Role = {
      ...base,
      kind: 'role',
      trustPolicy: policyJson(options.trustPolicy, `role ${options.roleName} trust policy`),
      maxSessionDuration,
      description: options.description,
    };
    account.roles.set(role.name, role);
    return {
      partition,
      accountId,
      roleName: role.name,
      roleId: role.id,
      path: role.path,
      arn: role.arn,
    };
  }

  /**
   * An IAM OIDC identity provider (as CreateOpenIDConnectProvider): `url` must be https, one provider
   * per URL in an account.
   */
  createOidcProvider(
    partition: PartitionId,
    accountId: string,
    options: { url: string; clientIds: string[]; thumbprints?: string[] },
  ): OidcProviderInfo {
    const provider = addOidcProvider(this.state, partition, accountId, options);
    return {
      partition,
      accountId,
      arn: provider.arn,
      url: provider.url,
      clientIds: [...provider.clientIds],
    };
  }

  /** Removes an OIDC provider (by its ARN): tokens of its issuer are refused from now on. */
  deleteOidcProvider(partition: PartitionId, providerArn: string): void {
    for (const account of this.state.of(partition).accounts.values()) {
      for (const [url, provider] of account.oidcProviders) {
        if (provider.arn === providerArn) {
          account.oidcProviders.delete(url);
          return;
        }
      }
    }
    throw new TypeError(`no OIDC provider ${providerArn} in ${partition}`);
  }

  /**
   * The loopback STS fetches `httpsOrigin` (`https://onramp.example.test`) from `httpBase`
   * (`http://127.0.0.1:PORT`) instead: the path and query are kept. Other https URLs are fetched for
   * real; plain http issuers are refused, as AWS refuses them.
   */
  routeIssuer(httpsOrigin: string, httpBase: string): void {
    const origin = new URL(httpsOrigin);
    if (origin.protocol !== 'https:' || origin.origin !== httpsOrigin.replace(/\/$/, '')) {
      throw new TypeError(`routeIssuer: ${httpsOrigin} must be an https origin (no path)`);
    }
    this.issuerRoutes.set(origin.origin, httpBase.replace(/\/$/, ''));
    this.jwksCache.clear();
  }

  /** Forgets cached issuer key sets (the next token fetches them again). */
  clearIssuerCache(): void {
    this.jwksCache.clear();
  }

  /** Every fetch from an OIDC issuer, oldest first. */
  get issuerFetches(): readonly IssuerFetch[] {
    return this.issuerLog;
  }

  /**
   * Shifts the clock the loopback STS checks web identity tokens' `exp`, `nbf` and `iat` against, so a
   * freshly minted token can look expired (ExpiredTokenException) without waiting. SigV4 and session
   * expiry keep the real clock.
   */
  setClockOffset(ms: number): void {
    this.clockOffsetMs = ms;
  }

  /** A customer-managed policy of the account. */
  createManagedPolicy(
    partition: PartitionId,
    accountId: string,
    options: CreatePolicyOptions,
  ): PolicyInfo {
    const account = this.state.account(partition, accountId);
    const policy = this.state.newPolicy(
      partition,
      accountId,
      options.name,
      options.path,
      options.document,
      options.description,
    );
    // As IAM: a customer-managed policy's name is unique in the account (whatever its path or case).
    const wanted = options.name.toLowerCase();
    if ([...account.policies.values()].some((p) => p.name.toLowerCase() === wanted))
      throw entityAlreadyExists(
        `A policy called ${options.name} already exists. Duplicate names are not allowed.`,
      );
    account.policies.set(policy.arn, policy);
    return this.policyInfo(policy);
  }

  /** Another AWS-managed policy (`arn:<partition>:iam::aws:policy/…`) in the partition. */
  createAwsManagedPolicy(partition: PartitionId, options: CreatePolicyOptions): PolicyInfo {
    const policies = this.state.of(partition).awsPolicies;
    const policy = this.state.newPolicy(
      partition,
      'aws',
      options.name,
      options.path,
      options.document,
      options.description,
    );
    if (policies.has(policy.arn)) throw new TypeError(`policy ${policy.arn} already exists`);
    policies.set(policy.arn, policy);
    return this.policyInfo(policy);
  }

  /** Adds a new default version to a managed policy; returns its version ID (`v2`…). */
  updateManagedPolicy(partition: PartitionId, policyArn: string, document: PolicyDocument): string {
    const policy = this.state.findPolicy(partition, policyArn);
    if (!policy) throw new TypeError(`no policy ${policyArn} in ${partition}`);
    const id = `v${policy.versions.length + 1}`;
    const now = new Date();
    policy.versions.push({ id, document: policyJson(document, policyArn), createdAt: now });
    policy.defaultVersionId = id;
    policy.updatedAt = now;
    return id;
  }

  /** Attaches a managed policy to a user or role (by its ARN). */
  attachPolicy(partition: PartitionId, principalArn: string, policyArn: string): void {
    const entity = this.entity(partition, principalArn);
    if (!this.state.attachable(partition, entity.accountId, policyArn)) {
      throw new TypeError(`policy ${policyArn} is not attachable in ${entity.accountId}`);
    }
    if (!entity.attached.includes(policyArn)) entity.attached.push(policyArn);
  }

  /** Adds or replaces an inline policy of a user or role (by its ARN). */
  putInlinePolicy(
    partition: PartitionId,
    principalArn: string,
    policyName: string,
    document: PolicyDocument,
  ): void {
    this.entity(partition, principalArn).inline.set(policyName, policyJson(document, policyName));
  }

  /** Replaces a role's trust policy. */
  updateTrustPolicy(partition: PartitionId, roleArn: string, document: PolicyDocument): void {
    const entity = this.entity(partition, roleArn);
    if (entity.kind !== 'role') throw new TypeError(`${roleArn} is not a role`);
    entity.trustPolicy = policyJson(document, `${roleArn} trust policy`);
  }

  /** Sessions of a deleted role keep their credentials but lose every permission, as in AWS. */
  deleteRole(partition: PartitionId, accountId: string, roleName: string): void {
    const account = this.state.account(partition, accountId);
    if (!account.roles.delete(roleName)) throw new TypeError(`no role ${roleName} in ${accountId}`);
  }

  deleteUser(partition: PartitionId, accountId: string, userName: string): void {
    const account = this.state.account(partition, accountId);
    if (!account.users.delete(userName)) throw new TypeError(`no user ${userName} in ${accountId}`);
    const keys = this.state.of(partition).keys;
    for (const [id, key] of keys) {
      if (key.accountId === accountId && key.userName === userName) keys.delete(id);
    }
  }

  /** The key is unknown from now on (InvalidClientTokenId). Works for session keys (ASIA…) too. */
  deleteAccessKey(partition: PartitionId, accessKeyId: string): void {
    const state = this.state.of(partition);
    if (!state.keys.delete(accessKeyId) && !state.sessions.delete(accessKeyId)) {
      throw new TypeError(`no access key ${accessKeyId} in ${partition}`);
    }
  }

  /**
   * The account's service control policies, applied to every request of its principals and to
   * SimulatePrincipalPolicy. They sit beside FullAWSAccess, as AWS Organizations attaches it by
   * default; `replaceFullAwsAccess` makes them the only SCPs (an allow-list). `undefined` removes them.
   */
  setOrganizationScp(
    partition: PartitionId,
    accountId: string,
    document: PolicyDocument | PolicyDocument[] | undefined,
    options: { replaceFullAwsAccess?: boolean } = {},
  ): void {
    const account = this.state.account(partition, accountId);
    if (document === undefined) {
      account.scps = undefined;
      return;
    }
    const documents = Array.isArray(document) ? document : [document];
    account.scps = documents.map((d, i) => policyJson(d, `SCP ${i + 1}`));
    account.scpReplacesFullAccess = options.replaceFullAwsAccess ?? false;
  }

  createBucket(partition: PartitionId, name: string, options: CreateBucketOptions = {}): void {
    const buckets = this.state.of(partition).buckets;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw new TypeError(`bucket name "${name}" is not valid`);
    }
    if (buckets.has(name)) throw new TypeError(`bucket ${name} already exists in ${partition}`);
    if (options.ownerAccountId !== undefined) this.state.account(partition, options.ownerAccountId);
    buckets.set(name, {
      partition,
      name,
      ownerAccountId: options.ownerAccountId,
      region: options.region,
      policy:
        options.policy === undefined
          ? undefined
          : policyJson(options.policy, `bucket ${name} policy`),
      objects: new Map(),
    });
  }

  /** Replaces a bucket's policy (undefined removes it), e.g. to make it publicly readable. */
  putBucketPolicy(partition: PartitionId, name: string, policy: PolicyDocument | undefined): void {
    const bucket = this.state.of(partition).buckets.get(name);
    if (!bucket) throw new TypeError(`no bucket ${name} in ${partition}`);
    bucket.policy = policy === undefined ? undefined : policyJson(policy, `bucket ${name} policy`);
  }

  /** What was uploaded, for assertions. */
  getObject(
    partition: PartitionId,
    bucket: string,
    key: string,
  ):
    | { body: Buffer; contentType: string; metadata: Record<string, string>; etag: string }
    | undefined {
    const object = this.state.of(partition).buckets.get(bucket)?.objects.get(key);
    if (!object) return undefined;
    return {
      body: object.body,
      contentType: object.contentType,
      metadata: { ...object.metadata },
      etag: object.etag,
    };
  }

  // ─── organizations ────────────────────────────────────────────────────────────────────────────

  /**
   * Creates an organization (all features) whose management account is `managementAccountId` (the
   * account is created for IAM and STS too). It has one root; the management account sits in it.
   */
  createOrganization(
    partition: PartitionId,
    options: { managementAccountId: string; name?: string; email?: string },
  ): OrganizationInfo {
    const org = newOrganization(this.state, partition, options.managementAccountId, options);
    return this.organizationInfo(org);
  }

  /** An OU under a root or OU (IDs like AWS's: `ou-<root suffix>-<8 characters>`); returns its ID. */
  addOrganizationalUnit(parentId: string, name: string): string {
    return newUnit(this.organizationWith(parentId), parentId, name).id;
  }

  /**
   * An account joins the organization under `parentId` (a root or OU), ACTIVE; the account exists
   * for IAM and STS from now on (as `createAccount`). An account is in one organization at most.
   */
  addOrganizationAccount(
    parentId: string,
    accountId: string,
    options: OrganizationAccountOptions = {},
  ): void {
    const org = this.organizationWith(parentId);
    if (organizationOfAccount(this.state, org.partition, accountId)) {
      throw new TypeError(`account ${accountId} is already in an organization`);
    }
    this.state.account(org.partition, accountId);
    org.accounts.set(accountId, {
      id: accountId,
      name: options.name ?? `account-${accountId}`,
      email: options.email ?? `aws+${accountId}@example.test`,
      status: 'ACTIVE',
      state: 'ACTIVE',
      joinedMethod: options.joinedMethod ?? 'CREATED',
      joinedAt: new Date(),
      parentId,
      seq: org.nextSeq++,
    });
  }

  /** MoveAccount: the account goes to another root or OU of its organization. */
  moveAccount(accountId: string, parentId: string): void {
    const org = this.organizationWith(parentId);
    const account = org.accounts.get(accountId);
    if (!account) throw new TypeError(`account ${accountId} is not in ${org.id}`);
    account.parentId = parentId;
  }

  /**
   * The account leaves its organization (RemoveAccountFromOrganization / LeaveOrganization): it is
   * not listed any more and keeps existing for IAM and STS. The management account cannot leave.
   */
  removeAccount(partition: PartitionId, accountId: string): void {
    const org = organizationOfAccount(this.state, partition, accountId);
    if (!org) throw new TypeError(`account ${accountId} is in no organization of ${partition}`);
    if (org.managementAccountId === accountId) {
      throw new TypeError('the management account cannot leave its organization');
    }
    org.accounts.delete(accountId);
  }

  /**
   * CloseAccount: the account stays listed with Status/State PENDING_CLOSURE (default, as AWS shows
   * it right after the request) or SUSPENDED (after closure).
   */
  closeAccount(
    partition: PartitionId,
    accountId: string,
    status: Exclude<OrganizationAccountStatus, 'ACTIVE'> = 'PENDING_CLOSURE',
  ): void {
    const org = organizationOfAccount(this.state, partition, accountId);
    const account = org?.accounts.get(accountId);
    if (!org || !account)
      throw new TypeError(`account ${accountId} is in no organization of ${partition}`);
    account.status = status;
    account.state = status;
  }

  /** The organization (its tree as the loopback holds it), for assertions. */
  organization(organizationId: string): Organization | undefined {
    for (const partition of PARTITIONS) {
      const org = this.state.of(partition).organizations.get(organizationId);
      if (org) return org;
    }
    return undefined;
  }

  /** The organization an account is in, in a partition. */
  organizationOf(partition: PartitionId, accountId: string): OrganizationInfo | undefined {
    const org = organizationOfAccount(this.state, partition, accountId);
    return org ? this.organizationInfo(org) : undefined;
  }

  private organizationInfo(org: Organization): OrganizationInfo {
    return {
      partition: org.partition,
      id: org.id,
      rootId: org.rootId,
      managementAccountId: org.managementAccountId,
      arn: `arn:${org.partition}:organizations::${org.managementAccountId}:organization/${org.id}`,
    };
  }

  private organizationWith(parentId: string): Organization {
    for (const partition of PARTITIONS) {
      for (const org of this.state.of(partition).organizations.values()) {
        if (org.rootId === parentId || org.units.has(parentId)) return org;
      }
    }
    throw new TypeError(`no root or OU ${parentId} in any organization`);
  }

  // ─── faults ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Injects a fault into matching requests (after their signature is verified, so the call log
   * names the caller): see `FaultKind`. Filters by action, service and partition.
   */
  injectFault(spec: FaultSpec): void {
    const { kind, times, status, hangMs, ...filter } = spec;
    if (times !== undefined && (!Number.isInteger(times) || times < 1))
      throw new TypeError('times must be a positive integer');
    if (kind === 'unreachable' && filter.service !== 'issuer')
      throw new TypeError('unreachable faults are for issuer fetches (service: issuer)');
    const issuerPage = filter.service === 'issuer' && kind === 'html';
    if (status === 200 && !issuerPage)
      throw new TypeError('status 200 is for an issuer html fault');
    this.faults.push({
      kind,
      status: kind === 'throttle' ? 400 : (status ?? (issuerPage ? 200 : 500)),
      remaining: times ?? Number.POSITIVE_INFINITY,
      filter,
      hangMs,
    });
  }

  /**
   * The next `n` matching requests (after their signature is verified) are answered with throttling:
   * `Throttling` 400 for STS and IAM, `SlowDown` 503 for S3. The SDK retries both.
   */
  throttleNext(n: number, filter: FaultFilter = {}): void {
    this.injectFault({ kind: 'throttle', times: n, ...filter });
  }

  /**
   * The next `n` matching requests fail as a server error: 500 `InternalFailure` (S3: `InternalError`)
   * or 503 `ServiceUnavailable`; with `html`, an HTML page of that status instead of AWS's XML.
   */
  failNext(
    n: number,
    options: FaultFilter & { status?: 500 | 502 | 503 | 504; html?: boolean } = {},
  ): void {
    const { html, ...rest } = options;
    this.injectFault({ kind: html ? 'html' : 'error', times: n, ...rest });
  }

  /** The next `n` matching requests get no answer until the client gives up (or `hangMs` passed). */
  hangNext(n: number, options: FaultFilter & { hangMs?: number } = {}): void {
    this.injectFault({ kind: 'timeout', times: n, ...options });
  }

  /**
   * Milliseconds added to every response of one service (on top of `latencyMs`), e.g.
   * `setLatency('organizations', 50)` for a benchmark; 0 removes it.
   */
  setLatency(service: Service, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('latency must be 0 or more ms');
    if (ms === 0) this.serviceLatency.delete(service);
    else this.serviceLatency.set(service, ms);
  }

  /**
   * Requests to the service above this rate are throttled (Organizations: TooManyRequestsException;
   * STS and IAM: Throttling; S3: SlowDown), as AWS's per-account request quotas do. A token bucket:
   * `burst` at once, then `perSecond`. `undefined` removes the limit.
   */
  setRateLimit(service: Service, limit: RateLimit | undefined): void {
    if (limit === undefined) {
      this.rateLimits.delete(service);
      return;
    }
    if (!(limit.perSecond > 0)) throw new TypeError('perSecond must be more than 0');
    const capacity = limit.burst ?? Math.max(1, limit.perSecond);
    this.rateLimits.set(service, {
      tokens: capacity,
      capacity,
      perSecond: limit.perSecond,
      at: Date.now(),
    });
  }

  /** Whether the service's rate limit lets one more request in now (takes a token if so). */
  private withinRate(service: Service): boolean {
    const bucket = this.rateLimits.get(service);
    if (!bucket) return true;
    const now = Date.now();
    bucket.tokens = Math.min(
      bucket.capacity,
      bucket.tokens + ((now - bucket.at) / 1000) * bucket.perSecond,
    );
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Faults not used yet (a failed test may leave some behind). */
  get pendingFaults(): number {
    return this.faults.reduce((sum, f) => sum + f.remaining, 0);
  }

  /** Requests received and not yet answered (a hung request counts until its client gives up). */
  get inFlight(): number {
    return this.open;
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * AssumeRole on the role answers AccessDenied until `ms` have passed since the role was created,
   * as a new role does while IAM propagates it.
   */
  propagationDelay(roleArn: string, ms: number): void {
    this.controls.propagationDelays.set(roleArn, ms);
  }

  /** A new access key is unknown (InvalidClientTokenId) until `ms` after it was created. */
  keyPropagationDelay(partition: PartitionId, accessKeyId: string, ms: number): void {
    const key = this.state.of(partition).keys.get(accessKeyId);
    if (!key) throw new TypeError(`no access key ${accessKeyId} in ${partition}`);
    key.knownFrom = key.createdAt.getTime() + ms;
  }

  /**
   * SimulatePrincipalPolicy called by this principal (a user or role ARN, or a session's ARN) answers
   * AccessDenied whatever its policies say.
   */
  denySimulate(principalArn: string): void {
    this.controls.deniedSimulators.add(principalArn);
  }

  /** The session credentials (ASIA…) expire now: their next use answers ExpiredToken. */
  expireCredentials(partition: PartitionId, accessKeyId: string): void {
    const session = this.state.of(partition).sessions.get(accessKeyId);
    if (!session) throw new TypeError(`no session ${accessKeyId} in ${partition}`);
    session.expiresAt = Date.now() - 1000;
  }

  /**
   * The role session a sign-in token of the federation endpoint stands for (what the console would
   * sign in as), or undefined for a token it never issued.
   */
  signinSessionOf(token: string): { partition: PartitionId; arn: string } | undefined {
    return this.signinTokens.get(token);
  }

  // ─── internals ────────────────────────────────────────────────────────────────────────────────

  /**
   * `GET /federation?Action=getSigninToken&Session={"sessionId","sessionKey","sessionToken"}`, as the
   * partition's sign-in host answers it: a token for a live role session, 400 for anything else (AWS
   * refuses GetSessionToken sessions and long-term keys here too). Unsigned, like AWS's.
   */
  private federation(rawUrl: string, record: CallRecord): Reply {
    record.service = 'signin';
    const params = new URLSearchParams(rawUrl.slice(rawUrl.indexOf('?') + 1));
    record.action = params.get('Action') ?? '';
    const refuse = (message: string): Reply => {
      record.errorCode = 'BadRequest';
      return { status: 400, headers: { 'content-type': 'text/plain' }, body: message };
    };
    if (record.action !== 'getSigninToken') return refuse(`Unsupported Action: ${record.action}`);
    let given: { sessionId?: unknown; sessionKey?: unknown; sessionToken?: unknown };
    try {
      given = JSON.parse(params.get('Session') ?? '') as typeof given;
    } catch {
      return refuse('Session is not JSON.');
    }
    for (const partition of PARTITIONS) {
      const session =
        typeof given.sessionId === 'string'
          ? this.state.of(partition).sessions.get(given.sessionId)
          : undefined;
      if (!session) continue;
      record.partition = partition;
      record.accessKeyId = session.accessKeyId;
      if (
        session.secretAccessKey !== given.sessionKey ||
        session.sessionToken !== given.sessionToken ||
        Date.now() >= session.expiresAt ||
        session.source.kind !== 'assumed-role'
      ) {
        return refuse('The session is not valid for federation.');
      }
      const caller = this.state.callerOf(partition, session);
      record.callerArn = caller.arn;
      const token = randomBytes(32).toString('base64url');
      this.signinTokens.set(token, { partition, arn: caller.arn });
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ SigninToken: token }),
      };
    }
    return refuse('The session is not valid for federation.');
  }

  private keyInfo(key: AccessKey): AccessKeyInfo {
    const user = key.userName
      ? this.state.existingAccount(key.partition, key.accountId)?.users.get(key.userName)
      : undefined;
    const keys = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
    return {
      ...keys,
      partition: key.partition,
      accountId: key.accountId,
      arn: user?.arn ?? `arn:${key.partition}:iam::${key.accountId}:root`,
      credentials: { ...keys },
    };
  }

  private policyInfo(policy: {
    partition: PartitionId;
    arn: string;
    name: string;
    path: string;
    id: string;
  }): PolicyInfo {
    return {
      partition: policy.partition,
      arn: policy.arn,
      name: policy.name,
      path: policy.path,
      policyId: policy.id,
    };
  }

  private entity(partition: PartitionId, arn: string): User | Role {
    const match = /^arn:([^:]+):iam::(\d{12}):(user|role)(\/(?:.*\/)?)([^/]+)$/.exec(arn);
    if (!match || match[1] !== partition)
      throw new TypeError(`${arn} is not a user or role of ${partition}`);
    const [, , accountId = '', kind, path = '/', name = ''] = match;
    const account = this.state.existingAccount(partition, accountId);
    const entity = kind === 'user' ? account?.users.get(name) : account?.roles.get(name);
    if (!entity || entity.path !== normalizePath(path)) throw new TypeError(`no ${kind} ${arn}`);
    return entity;
  }

  private takeFault(service: Service, action: string, partition: PartitionId): Fault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        ((f.filter.service === undefined && service !== 'issuer') ||
          f.filter.service === service) &&
        (f.filter.partition === undefined || f.filter.partition === partition) &&
        (f.filter.action === undefined ||
          f.filter.action === action ||
          f.filter.action === `${service}:${action}`),
    );
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining === 0) this.faults.splice(this.faults.indexOf(fault), 1);
    return fault;
  }

  private async readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > this.maxBody)
        throw new AwsError(
          'EntityTooLarge',
          'Your proposed upload exceeds the maximum allowed size',
          400,
        );
      chunks.push(buffer);
    }
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: CallRecord = {
      at: new Date(),
      service: 'sts',
      action: '',
      partition: undefined,
      region: undefined,
      accessKeyId: undefined,
      callerArn: undefined,
      requestId: randomUUID(),
      status: 0,
      errorCode: undefined,
      endedAt: new Date(),
      clientClosed: false,
    };
    this.open++;
    let ended = false;
    const end = (clientClosed: boolean) => {
      if (ended) return;
      ended = true;
      this.open--;
      record.endedAt = new Date();
      record.clientClosed = clientClosed;
      this.log.push(record);
    };
    // A client that gives up (a timeout, an abort) closes the connection before the answer.
    res.once('close', () => end(!res.writableFinished));
    let reply: Reply;
    const rawUrl = req.url ?? '/';
    try {
      const body = await this.readBody(req);
      reply =
        req.method === 'GET' && rawUrl.split('?')[0] === '/federation'
          ? this.federation(rawUrl, record)
          : await this.process(req, body, record);
    } catch (error) {
      const failure =
        error instanceof AwsError
          ? error
          : new AwsError('InternalFailure', `loopback AWS failed: ${String(error)}`, 500);
      record.errorCode = failure.code;
      reply = this.render(record.service, failure, record.requestId, req.method === 'HEAD');
    }
    const latency = this.latencyMs + (this.serviceLatency.get(record.service) ?? 0);
    if (latency > 0) await sleep(latency);
    if (ended) return;
    record.status = reply.status;
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(reply.status, {
      'content-length': String(body.length),
      date: new Date().toUTCString(),
      ...reply.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    end(false);
  }

  private render(service: Service, error: AwsError, requestId: string, head: boolean): Reply {
    if (service === 'signin')
      return {
        status: error.status,
        headers: { 'content-type': 'text/plain' },
        body: error.message,
      };
    if (service === 'organizations') return jsonErrorReply(asJsonProtocolError(error), requestId);
    return service === 's3'
      ? s3ErrorReply(error, requestId, head)
      : queryErrorReply(service === 'issuer' ? 'sts' : service, error, requestId);
  }

  private async process(req: IncomingMessage, body: Buffer, record: CallRecord): Promise<Reply> {
    const method = (req.method ?? 'GET').toUpperCase();
    const rawUrl = req.url ?? '/';
    const parts: SignedRequestParts = { method, rawUrl, headers: req.headers };
    const read = readSigV4(parts);
    const rawQuery = rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '';
    const isForm = (header(req, 'content-type') ?? '').startsWith(
      'application/x-www-form-urlencoded',
    );
    const query = QueryParams.parse(rawQuery, isForm ? body.toString('utf8') : '');

    // Which service: the credential scope says; an unsigned request is guessed from its shape.
    const amzTarget = header(req, 'x-amz-target') ?? '';
    let service: Service;
    if (read.ok) {
      const scoped = read.auth.service;
      if (scoped !== 'sts' && scoped !== 'iam' && scoped !== 's3' && scoped !== 'organizations') {
        record.service = 'sts';
        throw new AwsError('InvalidAction', `The loopback AWS does not serve ${scoped}.`, 400);
      }
      service = scoped;
    } else if (amzTarget.startsWith(ORGANIZATIONS_TARGET_PREFIX)) {
      service = 'organizations';
    } else {
      const version = query.get('Version');
      service = version === VERSIONS.iam ? 'iam' : query.get('Action') ? 'sts' : 's3';
    }
    record.service = service;
    const target = service === 's3' ? s3Target(method, rawUrl, header(req, 'host')) : undefined;
    record.action = target
      ? target.operation
      : service === 'organizations'
        ? amzTarget.startsWith(ORGANIZATIONS_TARGET_PREFIX)
          ? amzTarget.slice(ORGANIZATIONS_TARGET_PREFIX.length)
          : ''
        : (query.get('Action') ?? '');

    if (!read.ok && read.reason === 'missing' && record.action === 'AssumeRoleWithWebIdentity') {
      return this.webIdentity(query, record);
    }
    if (
      !read.ok &&
      read.reason === 'missing' &&
      target &&
      (method === 'GET' || method === 'HEAD')
    ) {
      return this.anonymousS3(req, target, rawQuery, record);
    }
    if (!read.ok) {
      if (service === 's3') {
        throw read.reason === 'missing'
          ? new AwsError('AccessDenied', 'Access Denied', 403)
          : new AwsError('AuthorizationHeaderMalformed', read.message, 400);
      }
      throw read.reason === 'missing'
        ? new AwsError('MissingAuthenticationToken', read.message, 403)
        : new AwsError('IncompleteSignature', read.message, 400);
    }
    const auth = read.auth;
    record.region = auth.region;
    record.accessKeyId = auth.accessKeyId;

    const partition = partitionOfRegion(auth.region);
    if (!partition) {
      throw service === 's3'
        ? new AwsError(
            'AuthorizationHeaderMalformed',
            `The authorization header is malformed; the region '${auth.region}' is wrong`,
            400,
          )
        : signatureDoesNotMatch(
            `Credential should be scoped to a valid region. Unknown region '${auth.region}'.`,
          );
    }
    record.partition = partition;
    if (service === 'iam' && this.strictIam && auth.region !== IAM_SIGNING_REGION[partition]) {
      throw signatureDoesNotMatch(
        `Credential should be scoped to a valid region, not '${auth.region}'. IAM signs in '${IAM_SIGNING_REGION[partition]}' in ${partition}.`,
      );
    }
    if (
      service === 'organizations' &&
      this.strictIam &&
      auth.region !== ORGANIZATIONS_SIGNING_REGION[partition]
    ) {
      // What Organizations' endpoint answers a request signed for another region of the partition.
      throw signatureDoesNotMatch(
        `Credential should be scoped to a valid region, not '${auth.region}'. Organizations signs in '${ORGANIZATIONS_SIGNING_REGION[partition]}' in ${partition}.`,
      );
    }

    const credential = this.credentialFor(service, partition, auth);
    let payloadHash = sha256Hex(body);
    let s3Body = body;
    let trailers: Record<string, string> = {};
    if (service === 's3') {
      ({ payloadHash, s3Body, trailers } = this.s3Payload(req, auth, body));
    }
    this.checkTime(service, auth);
    const expected = expectedSignature(
      parts,
      auth,
      credential.secretAccessKey,
      payloadHash,
      service !== 's3',
    );
    if (!signaturesEqual(expected.signature, auth.signature)) {
      if (service === 's3') {
        throw new AwsError(
          'SignatureDoesNotMatch',
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
          403,
          {
            AWSAccessKeyId: auth.accessKeyId,
            StringToSign: expected.stringToSign,
            CanonicalRequest: expected.canonicalRequest,
          },
        );
      }
      throw signatureDoesNotMatch(
        `${MESSAGES.signatureDoesNotMatch}\n\nThe Canonical String for this request should have been\n'${expected.canonicalRequest}'\n\nThe String-to-Sign should have been\n'${expected.stringToSign}'\n`,
      );
    }

    const caller = this.state.callerOf(partition, credential);
    record.callerArn = caller.arn;
    const session = 'sessionToken' in credential ? credential : undefined;
    if (service === 'iam' && session?.source.kind === 'session-token' && !session.mfa) {
      // IAM refuses GetSessionToken credentials that carry no MFA.
      throw invalidClientTokenId();
    }

    const faulted = await this.applyFault(service, partition, record);
    if (faulted) return faulted;
    if (service === 'iam' && !this.simulator && SIMULATOR_ACTIONS.has(record.action)) {
      // What an AWS-compatible endpoint without IAM's policy simulator answers.
      record.errorCode = 'HTML 500';
      return htmlPage(500);
    }

    if (service === 'organizations') {
      if (!amzTarget.startsWith(ORGANIZATIONS_TARGET_PREFIX)) {
        throw new AwsError(
          'UnknownOperationException',
          `X-Amz-Target must be ${ORGANIZATIONS_TARGET_PREFIX}<Action>`,
          400,
        );
      }
      return handleOrganizations({
        state: this.state,
        caller,
        partition,
        requestId: record.requestId,
        action: record.action,
        body,
        tokenKey: this.tokenKey,
        authorize: (action, resource) =>
          authorize(this.state, caller, auth.region, action, resource),
      });
    }
    if (service === 's3') {
      return handleS3({
        state: this.state,
        caller,
        partition,
        region: auth.region,
        requestId: record.requestId,
        target: target ?? { operation: 'Unsupported', bucket: '', key: '' },
        headers: req.headers,
        body: s3Body,
        trailers,
        query: new Map(queryPairs(rawQuery)),
      });
    }
    const action = query.get('Action');
    if (!action) throw new AwsError('MissingAction', 'Missing Action', 400);
    const version = query.get('Version');
    if (version !== VERSIONS[service as QueryService]) {
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
        400,
      );
    }
    const context = {
      state: this.state,
      controls: this.controls,
      caller,
      partition,
      region: auth.region,
      requestId: record.requestId,
      action,
      params: query,
    };
    if (service === 'sts' && action === 'AssumeRoleWithWebIdentity') {
      // A signed request is answered as an unsigned one: the token, not the signer, is the caller.
      return this.answerWebIdentity(query, record);
    }
    return service === 'sts' ? handleSts(context) : handleIam(context);
  }

  /**
   * An unsigned GET or HEAD of an object, as a browser or AWS's own OIDC fetcher sends it: served when
   * the bucket policy grants everyone (`"Principal": "*"`), AccessDenied otherwise. With no signing
   * region to say the partition, the bucket name does (a name is looked up in each partition).
   */
  private async anonymousS3(
    req: IncomingMessage,
    target: NonNullable<ReturnType<typeof s3Target>>,
    rawQuery: string,
    record: CallRecord,
  ): Promise<Reply> {
    const partition = PARTITIONS.find((p) => this.state.of(p).buckets.has(target.bucket));
    if (!partition) {
      throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404, {
        BucketName: target.bucket,
      });
    }
    record.partition = partition;
    const bucket = this.state.of(partition).buckets.get(target.bucket);
    const region = bucket?.region ?? IAM_SIGNING_REGION[partition];
    record.region = region;
    const faulted = await this.applyFault('s3', partition, record);
    if (faulted) return faulted;
    return handleS3({
      state: this.state,
      caller: undefined,
      partition,
      region,
      requestId: record.requestId,
      target,
      headers: req.headers,
      body: Buffer.alloc(0),
      trailers: {},
      query: new Map(queryPairs(rawQuery)),
    });
  }

  /** AssumeRoleWithWebIdentity sent unsigned, as the SDKs send it: its role ARN names the partition. */
  private async webIdentity(query: QueryParams, record: CallRecord): Promise<Reply> {
    const version = query.get('Version');
    if (version !== VERSIONS.sts) {
      throw new AwsError(
        'InvalidAction',
        `Could not find operation AssumeRoleWithWebIdentity for version ${version ?? 'NO_VERSION_SPECIFIED'}`,
        400,
      );
    }
    const partition = partitionOfRoleArn(query.get('RoleArn'));
    record.partition = partition;
    if (partition) {
      const faulted = await this.applyFault('sts', partition, record);
      if (faulted) return faulted;
    }
    return this.answerWebIdentity(query, record);
  }

  /** An injected fault for the request, if any: a reply to send, a thrown error, or a delay. */
  private async applyFault(
    service: Service,
    partition: PartitionId,
    record: CallRecord,
  ): Promise<Reply | undefined> {
    const fault =
      this.takeFault(service, record.action, partition) ??
      (this.withinRate(service) ? undefined : this.rateFault);
    if (fault?.kind === 'timeout') {
      record.errorCode = 'Timeout';
      // Never answers (the client gives up and closes), or answers normally once hangMs passed.
      if (fault.hangMs === undefined) await new Promise<never>(() => {});
      await sleep(fault.hangMs ?? 0);
      record.errorCode = undefined;
    } else if (fault?.kind === 'html') {
      record.errorCode = `HTML ${fault.status}`;
      return htmlPage(fault.status);
    } else if (fault) throw this.faultError(service, fault);
    return undefined;
  }

  private readonly rateFault: Fault = {
    kind: 'throttle',
    status: 400,
    remaining: Number.POSITIVE_INFINITY,
    filter: {},
    hangMs: undefined,
  };

  private async answerWebIdentity(query: QueryParams, record: CallRecord): Promise<Reply> {
    const { reply, sessionArn } = await assumeRoleWithWebIdentity({
      state: this.state,
      controls: this.controls,
      requestId: record.requestId,
      params: query,
      now: Date.now() + this.clockOffsetMs,
      issuer: this.issuerKeys(),
    });
    // The session the token was exchanged for stands as the caller in the call log.
    record.callerArn = sessionArn;
    return reply;
  }

  private issuerKeys(): IssuerKeys {
    return {
      keys: async (issuer, partition, fresh) => {
        const cached = this.jwksCache.get(issuer);
        if (cached && !fresh) return cached;
        const base = issuer.replace(/\/$/, '');
        const configuration = await this.fetchIssuer(
          `${base}/.well-known/openid-configuration`,
          'openid-configuration',
          partition,
        );
        const jwksUri = (configuration as { jwks_uri?: unknown }).jwks_uri;
        if (typeof jwksUri !== 'string') throw idpCommunicationError();
        const jwks = (await this.fetchIssuer(jwksUri, 'jwks', partition)) as { keys?: unknown };
        if (!Array.isArray(jwks.keys)) throw idpCommunicationError();
        const keys = jwks.keys.filter((k): k is JWK => typeof k === 'object' && k !== null);
        this.jwksCache.set(issuer, keys);
        return keys;
      },
    };
  }

  /** GETs JSON from an issuer as AWS does: https only, a timeout, a 200 with a JSON body. */
  private async fetchIssuer(
    url: string,
    what: IssuerFetch['what'],
    partition: PartitionId,
  ): Promise<unknown> {
    const entry: IssuerFetch = {
      at: new Date(),
      url,
      fetched: url,
      what,
      status: 0,
      error: undefined,
    };
    this.issuerLog.push(entry);
    const fail = (reason: string): never => {
      entry.error = reason;
      throw idpCommunicationError();
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return fail('not a URL');
    }
    if (target.protocol !== 'https:') return fail('not https');
    const routed = this.issuerRoutes.get(target.origin);
    if (routed) entry.fetched = `${routed}${target.pathname}${target.search}`;
    const fault = this.takeFault('issuer', what, partition);
    if (fault?.kind === 'unreachable') return fail('connection refused (injected)');
    if (fault?.kind === 'throttle') {
      entry.status = 429;
      return fail('429 (injected)');
    }
    if (fault?.kind === 'error') {
      entry.status = fault.status;
      return fail(`${fault.status} (injected)`);
    }
    if (fault?.kind === 'html') {
      entry.status = fault.status;
      return fail(`HTML page with ${fault.status} (injected)`);
    }
    if (fault?.kind === 'timeout') {
      const wait = fault.hangMs ?? Number.POSITIVE_INFINITY;
      if (wait >= this.issuerTimeoutMs) {
        await sleep(this.issuerTimeoutMs);
        return fail(`no answer within ${this.issuerTimeoutMs} ms (injected)`);
      }
      await sleep(wait);
    }
    let response: Response;
    try {
      response = await fetch(entry.fetched, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.issuerTimeoutMs),
      });
    } catch (error) {
      return fail(
        error instanceof Error && error.name === 'TimeoutError'
          ? `no answer within ${this.issuerTimeoutMs} ms`
          : `unreachable: ${String(error)}`,
      );
    }
    entry.status = response.status;
    const text = await response.text().catch(() => '');
    if (response.status !== 200) return fail(`HTTP ${response.status}`);
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null) return fail('not a JSON object');
      return parsed;
    } catch {
      return fail('not JSON');
    }
  }

  private credentialFor(
    service: Service,
    partition: PartitionId,
    auth: SigV4Auth,
  ): AccessKey | Session {
    const state = this.state.of(partition);
    const s3 = service === 's3';
    const unknown = () =>
      s3
        ? new AwsError(
            'InvalidAccessKeyId',
            'The AWS Access Key Id you provided does not exist in our records.',
            403,
            { AWSAccessKeyId: auth.accessKeyId },
          )
        : invalidClientTokenId();
    const badToken = () =>
      s3
        ? new AwsError('InvalidToken', 'The provided token is malformed or otherwise invalid.', 400)
        : invalidClientTokenId();
    const key = state.keys.get(auth.accessKeyId);
    if (key) {
      if (Date.now() < key.knownFrom) throw unknown();
      if (auth.securityToken !== undefined) throw badToken();
      return key;
    }
    const session = state.sessions.get(auth.accessKeyId);
    if (!session) throw unknown();
    if (auth.securityToken === undefined || auth.securityToken !== session.sessionToken) {
      throw badToken();
    }
    if (Date.now() >= session.expiresAt) {
      throw s3
        ? new AwsError('ExpiredToken', 'The provided token has expired.', 400)
        : expiredToken();
    }
    return session;
  }

  private s3Payload(req: IncomingMessage, auth: SigV4Auth, body: Buffer) {
    const declared = header(req, 'x-amz-content-sha256');
    if (declared === undefined && !auth.presigned) {
      throw new AwsError(
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
        400,
      );
    }
    const payloadHash = declared ?? 'UNSIGNED-PAYLOAD';
    let s3Body = body;
    let trailers: Record<string, string> = {};
    if (/^[0-9a-f]{64}$/.test(payloadHash)) {
      if (payloadHash !== sha256Hex(body)) {
        throw new AwsError(
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
          400,
        );
      }
    } else if (payloadHash === 'STREAMING-UNSIGNED-PAYLOAD-TRAILER') {
      ({ data: s3Body, trailers } = decodeAwsChunked(body));
    } else if (payloadHash !== 'UNSIGNED-PAYLOAD') {
      throw new AwsError(
        'NotImplemented',
        `The loopback AWS does not accept x-amz-content-sha256: ${payloadHash}`,
        501,
      );
    }
    return { payloadHash, s3Body, trailers };
  }

  private checkTime(service: Service, auth: SigV4Auth) {
    const now = Date.now();
    const at = parseAmzDate(auth.amzDate);
    if (auth.scopeDate !== auth.amzDate.slice(0, 8)) {
      throw signatureDoesNotMatch(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.scopeDate}' != '${auth.amzDate.slice(0, 8)}', from '${auth.amzDate}'.`,
      );
    }
    if (auth.presigned) {
      const expires = auth.expiresSeconds ?? 0;
      if (expires < 1 || expires > 604800) {
        throw new AwsError(
          'AuthorizationQueryParametersError',
          'X-Amz-Expires must be between 1 and 604800 seconds',
          400,
        );
      }
      if (now > at + expires * 1000) {
        throw new AwsError('AccessDenied', 'Request has expired', 403, {
          'X-Amz-Expires': String(expires),
          Expires: new Date(at + expires * 1000).toISOString(),
          ServerTime: new Date(now).toISOString(),
        });
      }
      return;
    }
    if (Math.abs(now - at) > SKEW_MS) {
      if (service === 's3') {
        throw new AwsError(
          'RequestTimeTooSkewed',
          'The difference between the request time and the current time is too large.',
          403,
          { RequestTime: auth.amzDate, ServerTime: new Date(now).toISOString() },
        );
      }
      throw signatureDoesNotMatch(
        at < now
          ? `Signature expired: ${auth.amzDate} is now earlier than ${amz(now - SKEW_MS)} (${amz(now)} - 15 min.)`
          : `Signature not yet current: ${auth.amzDate} is still later than ${amz(now + SKEW_MS)} (${amz(now)} + 15 min.)`,
      );
    }
  }

  private faultError(service: Service, fault: Fault): AwsError {
    if (service === 'organizations') {
      if (fault.kind === 'throttle') return tooManyRequests();
      return fault.status === 503
        ? new AwsError('ServiceUnavailable', 'Service is unavailable. Please try again later.', 503)
        : new AwsError(
            'ServiceException',
            "AWS Organizations can't complete your request because of an internal service error. Try again later.",
            fault.status,
          );
    }
    if (fault.kind === 'throttle') {
      return service === 's3'
        ? new AwsError('SlowDown', 'Please reduce your request rate.', 503)
        : new AwsError('Throttling', 'Rate exceeded', 400);
    }
    if (fault.status === 503) {
      return new AwsError(
        'ServiceUnavailable',
        'Service is unavailable. Please try again later.',
        503,
      );
    }
    return service === 's3'
      ? new AwsError(
          'InternalError',
          'We encountered an internal error. Please try again.',
          fault.status,
        )
      : new AwsError(
          'InternalFailure',
          'The request processing has failed because of an unknown error, exception or failure.',
          fault.status,
        );
  }
}

/** Starts a loopback AWS on 127.0.0.1. Call `stop()` when done. */
export function startLoopbackAws(options: LoopbackOptions = {}): Promise<LoopbackAws> {
  return LoopbackAws.start(options);
}
