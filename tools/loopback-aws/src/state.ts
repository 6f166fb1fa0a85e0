/**
 * What the loopback AWS knows: accounts, users, roles, policies, keys, sessions and buckets, kept
 * separately per partition (a key, a role or a bucket of one partition does not exist in another).
 */
import { AWS_MANAGED_POLICIES } from './aws-managed.ts';
import * as ids from './ids.ts';
import type { PartitionId } from './partitions.ts';
import { PARTITIONS } from './partitions.ts';

/** An IAM policy document: a JSON object, or its text. */
export type PolicyDocument = object | string;

/** A parsed policy document. */
export type PolicyJson = Record<string, unknown>;

export interface Tag {
  key: string;
  value: string;
}

export interface NamedPolicy {
  /** Unique within one evaluation; reported as SourcePolicyId. */
  name: string;
  /** SimulatePrincipalPolicy's SourcePolicyType. */
  sourceType: 'user' | 'role' | 'aws-managed' | 'user-managed' | 'none';
  policy: PolicyJson;
}

interface EntityBase {
  partition: PartitionId;
  accountId: string;
  name: string;
  path: string;
  id: string;
  arn: string;
  createdAt: Date;
  inline: Map<string, PolicyJson>;
  attached: string[];
  tags: Tag[];
}

export interface User extends EntityBase {
  kind: 'user';
}

export interface Role extends EntityBase {
  kind: 'role';
  trustPolicy: PolicyJson;
  maxSessionDuration: number;
  description: string | undefined;
}

export interface PolicyVersion {
  id: string;
  document: PolicyJson;
  createdAt: Date;
}

export interface ManagedPolicy {
  partition: PartitionId;
  /** The owning account, or `aws` for an AWS-managed policy. */
  owner: string;
  name: string;
  path: string;
  id: string;
  arn: string;
  description: string | undefined;
  versions: PolicyVersion[];
  defaultVersionId: string;
  createdAt: Date;
  updatedAt: Date;
}

/** An IAM OpenID Connect identity provider: the issuer a role's trust policy may name as Federated. */
export interface OidcProvider {
  partition: PartitionId;
  accountId: string;
  /** The issuer URL without `https://` (`host/path`), as IAM keeps it and as condition keys use it. */
  url: string;
  arn: string;
  clientIds: string[];
  thumbprints: string[];
  createdAt: Date;
  tags: Tag[];
}

export interface Account {
  partition: PartitionId;
  id: string;
  createdAt: Date;
  users: Map<string, User>;
  roles: Map<string, Role>;
  /** By URL without scheme: IAM allows one provider per URL in an account. */
  oidcProviders: Map<string, OidcProvider>;
  /** Customer-managed policies, by ARN. */
  policies: Map<string, ManagedPolicy>;
  /** Service control policies attached to the account (besides FullAWSAccess, unless replaced). */
  scps: PolicyJson[] | undefined;
  scpReplacesFullAccess: boolean;
}

export interface AccessKey {
  partition: PartitionId;
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  /** Undefined for the account's root user. */
  userName: string | undefined;
  createdAt: Date;
  /** Epoch ms before which AWS does not know the key yet (eventual consistency). */
  knownFrom: number;
}

export interface AssumedRoleSource {
  kind: 'assumed-role';
  roleName: string;
  roleId: string;
  roleArn: string;
  sessionName: string;
  sessionPolicy: PolicyJson | undefined;
  tags: Tag[];
  transitiveTagKeys: string[];
  sourceIdentity: string | undefined;
  /** Assumed by an assumed-role session (role chaining). */
  chained: boolean;
  /** Set when the session came from AssumeRoleWithWebIdentity: the provider's ARN and the token's sub. */
  webIdentity?: { providerArn: string; subject: string } | undefined;
}

export interface SessionTokenSource {
  kind: 'session-token';
  /** Undefined when the root user asked. */
  userName: string | undefined;
}

export interface Session {
  partition: PartitionId;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  accountId: string;
  issuedAt: number;
  expiresAt: number;
  mfa: boolean;
  source: AssumedRoleSource | SessionTokenSource;
}

export interface StoredObject {
  body: Buffer;
  etag: string;
  contentType: string;
  lastModified: Date;
  metadata: Record<string, string>;
  /** Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires as sent. */
  headers: Record<string, string>;
  /** x-amz-checksum-* values the uploader sent, by algorithm (crc32, sha256…). */
  checksums: Record<string, string>;
}

export interface Bucket {
  partition: PartitionId;
  name: string;
  ownerAccountId: string | undefined;
  region: string | undefined;
  policy: PolicyJson | undefined;
  objects: Map<string, StoredObject>;
}

/** Organizations' `Status` (to be retired by AWS in favour of `State`, both are answered). */
export type OrganizationAccountStatus = 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE';

export interface OrganizationAccount {
  id: string;
  name: string;
  email: string;
  status: OrganizationAccountStatus;
  /** `PENDING_CLOSURE` or `SUSPENDED` once closed, `ACTIVE` otherwise. */
  state: 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE' | 'CLOSED';
  joinedMethod: 'INVITED' | 'CREATED';
  joinedAt: Date;
  /** The root or OU it is in. */
  parentId: string;
  /** Listing order (the order accounts joined), stable across moves. */
  seq: number;
}

export interface OrganizationUnit {
  id: string;
  name: string;
  parentId: string;
  seq: number;
}

export interface Organization {
  partition: PartitionId;
  id: string;
  managementAccountId: string;
  rootId: string;
  units: Map<string, OrganizationUnit>;
  /** Members, the management account included. */
  accounts: Map<string, OrganizationAccount>;
  nextSeq: number;
  createdAt: Date;
}

export interface PartitionState {
  accounts: Map<string, Account>;
  keys: Map<string, AccessKey>;
  sessions: Map<string, Session>;
  awsPolicies: Map<string, ManagedPolicy>;
  buckets: Map<string, Bucket>;
  /** AWS Organizations: each organization with its tree, by its `o-…` ID. */
  organizations: Map<string, Organization>;
}

/** The identity behind a verified request. */
export interface Caller {
  partition: PartitionId;
  accountId: string;
  accessKeyId: string;
  kind: 'root' | 'user' | 'assumed-role';
  /** What GetCallerIdentity answers (a session's `arn:…:sts::…:assumed-role/…` for roles). */
  arn: string;
  userId: string;
  /** aws:PrincipalArn: the user, role or root ARN. */
  principalArn: string;
  user: User | undefined;
  /** The role of an assumed-role session, if it still exists (and is the same role). */
  role: Role | undefined;
  session: Session | undefined;
}

export const DEFAULT_EPOCH = new Date('2026-01-01T00:00:00Z');

/** Parses and checks the shape of a policy document given by a test. */
export function policyJson(document: PolicyDocument, what: string): PolicyJson {
  const value: unknown = typeof document === 'string' ? JSON.parse(document) : document;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what}: a policy document must be a JSON object`);
  }
  return structuredClone(value) as PolicyJson;
}

export function normalizePath(path: string | undefined): string {
  if (path === undefined || path === '') return '/';
  if (!/^\/(?:[\u0021-\u007e]*\/)?$/.test(path)) {
    throw new TypeError(`path "${path}" must begin and end with "/"`);
  }
  return path;
}

function assertAccountId(accountId: string) {
  if (!/^\d{12}$/.test(accountId))
    throw new TypeError(`account ID "${accountId}" is not 12 digits`);
}

function assertName(name: string, what: string) {
  if (!/^[\w+=,.@-]{1,64}$/.test(name))
    throw new TypeError(`${what} "${name}" is not a valid IAM name`);
}

export class LoopbackState {
  readonly partitions: Record<PartitionId, PartitionState>;

  constructor() {
    const empty = (partition: PartitionId): PartitionState => {
      const awsPolicies = new Map<string, ManagedPolicy>();
      for (const seed of AWS_MANAGED_POLICIES) {
        const policy = this.newPolicy(
          partition,
          'aws',
          seed.name,
          seed.path,
          seed.document,
          seed.description,
        );
        policy.id = ids.stableId('ANPA', `${partition}/${seed.name}`);
        awsPolicies.set(policy.arn, policy);
      }
      return {
        accounts: new Map(),
        keys: new Map(),
        sessions: new Map(),
        awsPolicies,
        buckets: new Map(),
        organizations: new Map(),
      };
    };
    this.partitions = {
      aws: empty('aws'),
      'aws-us-gov': empty('aws-us-gov'),
      'aws-cn': empty('aws-cn'),
    };
  }

  of(partition: PartitionId): PartitionState {
    if (!PARTITIONS.includes(partition)) throw new TypeError(`unknown partition "${partition}"`);
    return this.partitions[partition];
  }

  /** The account, created on first use. */
  account(partition: PartitionId, accountId: string): Account {
    assertAccountId(accountId);
    const accounts = this.of(partition).accounts;
    let account = accounts.get(accountId);
    if (!account) {
      account = {
        partition,
        id: accountId,
        createdAt: new Date(),
        users: new Map(),
        roles: new Map(),
        oidcProviders: new Map(),
        policies: new Map(),
        scps: undefined,
        scpReplacesFullAccess: false,
      };
      accounts.set(accountId, account);
    }
    return account;
  }

  existingAccount(partition: PartitionId, accountId: string): Account | undefined {
    return this.of(partition).accounts.get(accountId);
  }

  newPolicy(
    partition: PartitionId,
    owner: string,
    name: string,
    path: string | undefined,
    document: PolicyDocument,
    description?: string,
  ): ManagedPolicy {
    const normalizedPath = normalizePath(path);
    const created = owner === 'aws' ? DEFAULT_EPOCH : new Date();
    return {
      partition,
      owner,
      name,
      path: normalizedPath,
      id: ids.uniqueId('ANPA'),
      arn: `arn:${partition}:iam::${owner}:policy${normalizedPath}${name}`,
      description,
      versions: [
        { id: 'v1', document: policyJson(document, `policy ${name}`), createdAt: created },
      ],
      defaultVersionId: 'v1',
      createdAt: created,
      updatedAt: created,
    };
  }

  /** A managed policy by ARN: the partition's AWS-managed ones, or a customer-managed one. */
  findPolicy(partition: PartitionId, arn: string): ManagedPolicy | undefined {
    const state = this.of(partition);
    const aws = state.awsPolicies.get(arn);
    if (aws) return aws;
    const owner = arn.split(':')[4] ?? '';
    return state.accounts.get(owner)?.policies.get(arn);
  }

  defaultDocument(policy: ManagedPolicy): PolicyJson {
    const version = policy.versions.find((v) => v.id === policy.defaultVersionId);
    return version?.document ?? {};
  }

  /** The policy must exist and be attachable from this account. */
  attachable(partition: PartitionId, accountId: string, arn: string): ManagedPolicy | undefined {
    const policy = this.findPolicy(partition, arn);
    if (!policy) return undefined;
    return policy.owner === 'aws' || policy.owner === accountId ? policy : undefined;
  }

  newEntity<K extends 'user' | 'role'>(
    kind: K,
    partition: PartitionId,
    accountId: string,
    name: string,
    options: {
      path?: string | undefined;
      inlinePolicies?: PolicyDocument[] | Record<string, PolicyDocument> | undefined;
      managedPolicyArns?: string[] | undefined;
      tags?: Record<string, string> | undefined;
    },
  ): EntityBase {
    assertName(name, kind === 'user' ? 'user name' : 'role name');
    const path = normalizePath(options.path);
    const inline = new Map<string, PolicyJson>();
    const given = options.inlinePolicies ?? [];
    const entries = Array.isArray(given)
      ? given.map((doc, i) => [`inline-${i + 1}`, doc] as const)
      : Object.entries(given);
    for (const [policyName, doc] of entries) {
      inline.set(policyName, policyJson(doc, `${kind} ${name} inline policy ${policyName}`));
    }
    const attached: string[] = [];
    for (const arn of options.managedPolicyArns ?? []) {
      if (!this.attachable(partition, accountId, arn)) {
        throw new TypeError(
          `${kind} ${name}: managed policy ${arn} does not exist in ${partition}/${accountId} (create it first)`,
        );
      }
      if (!attached.includes(arn)) attached.push(arn);
    }
    return {
      partition,
      accountId,
      name,
      path,
      id: ids.uniqueId(kind === 'user' ? 'AIDA' : 'AROA'),
      arn: `arn:${partition}:iam::${accountId}:${kind}${path}${name}`,
      createdAt: new Date(),
      inline,
      attached,
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
    };
  }

  /** Identity policies of a user or role: inline, then attached managed (their default version). */
  identityPolicies(entity: User | Role): NamedPolicy[] {
    const policies: NamedPolicy[] = [];
    for (const [name, policy] of entity.inline) {
      policies.push({ name, sourceType: entity.kind, policy });
    }
    for (const arn of entity.attached) {
      const managed = this.findPolicy(entity.partition, arn);
      if (!managed) continue;
      policies.push({
        name: managed.name,
        sourceType: managed.owner === 'aws' ? 'aws-managed' : 'user-managed',
        policy: this.defaultDocument(managed),
      });
    }
    return policies;
  }

  /** How many users and roles of the account attach the policy. */
  attachmentCount(partition: PartitionId, accountId: string, arn: string): number {
    const account = this.existingAccount(partition, accountId);
    if (!account) return 0;
    let count = 0;
    for (const user of account.users.values()) if (user.attached.includes(arn)) count++;
    for (const role of account.roles.values()) if (role.attached.includes(arn)) count++;
    return count;
  }

  addAccessKey(
    partition: PartitionId,
    accountId: string,
    userName: string | undefined,
    given?: { accessKeyId: string; secretAccessKey: string },
  ): AccessKey {
    const keys = this.of(partition).keys;
    const key: AccessKey = {
      partition,
      accessKeyId: given?.accessKeyId ?? ids.accessKeyId('AKIA'),
      secretAccessKey: given?.secretAccessKey ?? ids.secretAccessKey(),
      accountId,
      userName,
      createdAt: new Date(),
      knownFrom: 0,
    };
    if (!/^AKIA[A-Z0-9]{12,124}$/.test(key.accessKeyId)) {
      throw new TypeError(`access key ID "${key.accessKeyId}" must look like AKIA…`);
    }
    if (keys.has(key.accessKeyId)) {
      throw new TypeError(`access key ${key.accessKeyId} already exists in ${partition}`);
    }
    keys.set(key.accessKeyId, key);
    return key;
  }

  /** A fresh set of temporary credentials. */
  addSession(
    partition: PartitionId,
    accountId: string,
    durationSeconds: number,
    mfa: boolean,
    source: AssumedRoleSource | SessionTokenSource,
  ): Session {
    const now = Date.now();
    const session: Session = {
      partition,
      accessKeyId: ids.accessKeyId('ASIA'),
      secretAccessKey: ids.secretAccessKey(),
      sessionToken: ids.sessionToken(),
      accountId,
      issuedAt: now,
      expiresAt: now + durationSeconds * 1000,
      mfa,
      source,
    };
    this.of(partition).sessions.set(session.accessKeyId, session);
    return session;
  }

  /** The caller a long-term key or session stands for. */
  callerOf(partition: PartitionId, credential: AccessKey | Session): Caller {
    const account = this.account(partition, credential.accountId);
    const root = `arn:${partition}:iam::${account.id}:root`;
    const base = { partition, accountId: account.id, accessKeyId: credential.accessKeyId };
    const session = 'sessionToken' in credential ? credential : undefined;
    if (session?.source.kind === 'assumed-role') {
      const source = session.source;
      const current = account.roles.get(source.roleName);
      return {
        ...base,
        kind: 'assumed-role',
        arn: `arn:${partition}:sts::${account.id}:assumed-role/${source.roleName}/${source.sessionName}`,
        userId: `${source.roleId}:${source.sessionName}`,
        principalArn: source.roleArn,
        user: undefined,
        role: current && current.id === source.roleId ? current : undefined,
        session,
      };
    }
    const userName = session
      ? (session.source as SessionTokenSource).userName
      : (credential as AccessKey).userName;
    if (userName === undefined) {
      return {
        ...base,
        kind: 'root',
        arn: root,
        userId: account.id,
        principalArn: root,
        user: undefined,
        role: undefined,
        session,
      };
    }
    const user = account.users.get(userName);
    return {
      ...base,
      kind: 'user',
      arn: user?.arn ?? `arn:${partition}:iam::${account.id}:user/${userName}`,
      userId: user?.id ?? '',
      principalArn: user?.arn ?? `arn:${partition}:iam::${account.id}:user/${userName}`,
      user,
      role: undefined,
      session,
    };
  }
}
