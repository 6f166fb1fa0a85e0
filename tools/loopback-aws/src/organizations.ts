/**
 * AWS Organizations for the loopback AWS: the organization tree a test configures (root, OUs,
 * accounts), and the read calls over Organizations' JSON protocol (`X-Amz-Target:
 * AWSOrganizationsV20161128.<Action>`, `application/x-amz-json-1.1`). TEST TOOLING.
 *
 * What AWS does and this keeps: IDs in AWS's formats (`o-` + 10, `r-` + 4, `ou-<root suffix>-<8>`),
 * ARNs under the management account (`arn:<p>:organizations::<mgmt>:account/o-…/<id>`), paging with
 * an opaque NextToken (at most 20 per page), management-account-only reads (DescribeOrganization
 * from any member), the caller's IAM policies evaluated for `organizations:<Action>`, and the
 * service's error codes (all HTTP 400 but ServiceException).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AwsError } from './errors.ts';
import type { PartitionId } from './partitions.ts';
import type { Reply } from './query.ts';
import type {
  Caller,
  LoopbackState,
  Organization,
  OrganizationAccount,
  OrganizationUnit,
} from './state.ts';

export type {
  Organization,
  OrganizationAccount,
  OrganizationAccountStatus,
  OrganizationUnit,
} from './state.ts';

export const ORGANIZATIONS_TARGET_PREFIX = 'AWSOrganizationsV20161128.';

/**
 * The region Organizations signs in, per partition: the SDK's endpoint ruleset sends every region
 * of a partition to one endpoint (organizations.us-east-1.amazonaws.com,
 * organizations.us-gov-west-1.amazonaws.com, organizations.cn-northwest-1.amazonaws.com.cn) and
 * signs for that region (the partition's implicit global region).
 */
export const ORGANIZATIONS_SIGNING_REGION: Readonly<Record<PartitionId, string>> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-northwest-1',
};

export const ORGANIZATIONS_ENDPOINT: Readonly<Record<PartitionId, string>> = {
  aws: 'https://organizations.us-east-1.amazonaws.com',
  'aws-us-gov': 'https://organizations.us-gov-west-1.amazonaws.com',
  'aws-cn': 'https://organizations.cn-northwest-1.amazonaws.com.cn',
};

export const ORGANIZATIONS_ACTIONS = [
  'DescribeOrganization',
  'ListAccounts',
  'ListRoots',
  'ListOrganizationalUnitsForParent',
  'ListParents',
  'ListAccountsForParent',
  'DescribeAccount',
  'DescribeOrganizationalUnit',
] as const;

export type OrganizationsAction = (typeof ORGANIZATIONS_ACTIONS)[number];

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

function randomLower(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += LOWER_ALNUM[byte % LOWER_ALNUM.length];
  return out;
}

export const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;
export const ROOT_ID = /^r-[0-9a-z]{4,32}$/;
export const OU_ID = /^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/;
const ACCOUNT_ID = /^\d{12}$/;

// ─── the tree (test API) ──────────────────────────────────────────────────────────────────────────

export function organizationArn(org: Organization): string {
  return `arn:${org.partition}:organizations::${org.managementAccountId}:organization/${org.id}`;
}

export function accountArn(org: Organization, accountId: string): string {
  return `arn:${org.partition}:organizations::${org.managementAccountId}:account/${org.id}/${accountId}`;
}

export function rootArn(org: Organization): string {
  return `arn:${org.partition}:organizations::${org.managementAccountId}:root/${org.id}/${org.rootId}`;
}

export function unitArn(org: Organization, unitId: string): string {
  return `arn:${org.partition}:organizations::${org.managementAccountId}:ou/${org.id}/${unitId}`;
}

/** The organization the account is a member of (management account included), if any. */
export function organizationOfAccount(
  state: LoopbackState,
  partition: PartitionId,
  accountId: string,
): Organization | undefined {
  for (const org of state.of(partition).organizations.values()) {
    if (org.accounts.has(accountId)) return org;
  }
  return undefined;
}

/** The organization that has this root or OU, if any. */
export function organizationOfParent(
  state: LoopbackState,
  partition: PartitionId,
  parentId: string,
): Organization | undefined {
  for (const org of state.of(partition).organizations.values()) {
    if (org.rootId === parentId || org.units.has(parentId)) return org;
  }
  return undefined;
}

/** Finds an organization by id in any partition. */
export function findOrganization(
  state: LoopbackState,
  organizationId: string,
): Organization | undefined {
  for (const partition of ['aws', 'aws-us-gov', 'aws-cn'] as const) {
    const org = state.of(partition).organizations.get(organizationId);
    if (org) return org;
  }
  return undefined;
}

function defaultEmail(accountId: string) {
  return `aws+${accountId}@example.test`;
}

export function newOrganization(
  state: LoopbackState,
  partition: PartitionId,
  managementAccountId: string,
  options: { name?: string; email?: string } = {},
): Organization {
  state.account(partition, managementAccountId);
  if (organizationOfAccount(state, partition, managementAccountId)) {
    throw new TypeError(`account ${managementAccountId} is already in an organization`);
  }
  const org: Organization = {
    partition,
    id: `o-${randomLower(10)}`,
    managementAccountId,
    rootId: `r-${randomLower(4)}`,
    units: new Map(),
    accounts: new Map(),
    nextSeq: 1,
    createdAt: new Date(),
  };
  org.accounts.set(managementAccountId, {
    id: managementAccountId,
    name: options.name ?? 'management',
    email: options.email ?? defaultEmail(managementAccountId),
    status: 'ACTIVE',
    state: 'ACTIVE',
    joinedMethod: 'CREATED',
    joinedAt: org.createdAt,
    parentId: org.rootId,
    seq: org.nextSeq++,
  });
  state.of(partition).organizations.set(org.id, org);
  return org;
}

export function newUnit(org: Organization, parentId: string, name: string): OrganizationUnit {
  if (parentId !== org.rootId && !org.units.has(parentId)) {
    throw new TypeError(`no root or OU ${parentId} in ${org.id}`);
  }
  if (name.length < 1 || name.length > 128)
    throw new TypeError('an OU name is 1 to 128 characters');
  const siblings = [...org.units.values()].filter((u) => u.parentId === parentId);
  if (siblings.some((u) => u.name === name)) {
    // As CreateOrganizationalUnit: DuplicateOrganizationalUnitException.
    throw new TypeError(`an OU named ${name} already exists under ${parentId}`);
  }
  let id: string;
  do id = `ou-${org.rootId.slice(2)}-${randomLower(8)}`;
  while (org.units.has(id));
  const unit = { id, name, parentId, seq: org.nextSeq++ };
  org.units.set(id, unit);
  return unit;
}

// ─── the wire ─────────────────────────────────────────────────────────────────────────────────────

export interface OrganizationsContext {
  state: LoopbackState;
  caller: Caller;
  partition: PartitionId;
  requestId: string;
  action: string;
  body: Buffer;
  /** Signs NextTokens so a forged or edited one is refused, as AWS refuses them. */
  tokenKey: Buffer;
  /** Evaluates the caller's IAM policies (throws AccessDenied). */
  authorize: (action: string, resource: string) => Promise<unknown>;
}

const orgError = (code: string, message: string, extra: Record<string, string> = {}) =>
  new AwsError(code, message, 400, extra);

export const invalidInput = (reason: string, message: string) =>
  orgError('InvalidInputException', message, { Reason: reason });

export const tooManyRequests = () =>
  orgError(
    'TooManyRequestsException',
    'You have sent too many requests in too short a period of time. The quota helps protect against denial-of-service attacks. Try again later.',
    { Type: 'TooManyRequests' },
  );

/** The JSON 1.1 answer AWS's JSON services give for an error. */
export function jsonErrorReply(error: AwsError, requestId: string): Reply {
  const body: Record<string, string> = { __type: error.code, Message: error.message };
  for (const [key, value] of Object.entries(error.details)) body[key] = value;
  return {
    status: error.status,
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amzn-requestid': requestId,
      'x-amzn-errortype': error.code,
    },
    body: JSON.stringify(body),
  };
}

/**
 * The codes a JSON-protocol service answers for authentication failures (where a Query service says
 * InvalidClientTokenId, SignatureDoesNotMatch…).
 */
export function asJsonProtocolError(error: AwsError): AwsError {
  const renamed: Record<string, [string, number]> = {
    InvalidClientTokenId: ['UnrecognizedClientException', 400],
    SignatureDoesNotMatch: ['InvalidSignatureException', 400],
    ExpiredToken: ['ExpiredTokenException', 400],
    MissingAuthenticationToken: ['MissingAuthenticationTokenException', 403],
    IncompleteSignature: ['IncompleteSignatureException', 400],
    AccessDenied: ['AccessDeniedException', 400],
    InternalFailure: ['ServiceException', error.status],
  };
  const to = renamed[error.code];
  return to ? new AwsError(to[0], error.message, to[1], error.details) : error;
}

const epochSeconds = (date: Date) => date.getTime() / 1000;

function accountJson(org: Organization, account: OrganizationAccount) {
  return {
    Id: account.id,
    Arn: accountArn(org, account.id),
    Email: account.email,
    Name: account.name,
    Status: account.status,
    State: account.state,
    JoinedMethod: account.joinedMethod,
    JoinedTimestamp: epochSeconds(account.joinedAt),
  };
}

function unitJson(org: Organization, unit: OrganizationUnit) {
  return { Id: unit.id, Arn: unitArn(org, unit.id), Name: unit.name };
}

type Body = Record<string, unknown>;

function parseBody(raw: Buffer): Body {
  const text = raw.toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsError(
      'SerializationException',
      'Start of structure or map found where not expected.',
      400,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsError(
      'SerializationException',
      'Start of structure or map found where not expected.',
      400,
    );
  }
  return parsed as Body;
}

function requiredId(body: Body, member: string, pattern: RegExp, what: string): string {
  const value = body[member];
  if (value === undefined || value === null || value === '') {
    throw invalidInput('INPUT_REQUIRED', `You must specify a value for ${member}.`);
  }
  if (typeof value !== 'string' || !pattern.test(value)) {
    throw invalidInput(
      'INVALID_PATTERN',
      `You specified an invalid value for ${member}. It must be ${what}.`,
    );
  }
  return value;
}

const PARENT_ID = /^(r-[0-9a-z]{4,32})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;
const CHILD_ID = /^(\d{12})$|^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$/;

interface PageToken {
  a: string;
  o: string;
  s: string;
  after: number;
}

function signToken(key: Buffer, token: PageToken): string {
  const payload = Buffer.from(JSON.stringify(token)).toString('base64url');
  const mac = createHmac('sha256', key).update(payload).digest('base64url');
  return `${payload}.${mac}`;
}

function readToken(key: Buffer, text: string): PageToken | undefined {
  const [payload = '', mac = '', ...rest] = text.split('.');
  if (rest.length > 0 || !payload || !mac) return undefined;
  const expected = Buffer.from(createHmac('sha256', key).update(payload).digest('base64url'));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as PageToken;
  } catch {
    return undefined;
  }
}

/**
 * One page of items (in `seq` order), as Organizations pages: MaxResults 1 to 20 (20 by default), a
 * NextToken tied to the call, its scope and the organization; a token from elsewhere, edited or
 * forged is InvalidInputException INVALID_NEXT_TOKEN.
 */
function page<T extends { seq: number }>(
  ctx: OrganizationsContext,
  body: Body,
  org: Organization,
  scope: string,
  items: readonly T[],
): { items: T[]; nextToken: string | undefined } {
  const max = body.MaxResults;
  let size = 20;
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isInteger(max)) {
      throw new AwsError('SerializationException', 'MaxResults must be an integer.', 400);
    }
    if (max < 1) throw invalidInput('MIN_VALUE_EXCEEDED', 'MaxResults must be at least 1.');
    if (max > 20) throw invalidInput('MAX_VALUE_EXCEEDED', 'MaxResults must be at most 20.');
    size = max;
  }
  let after = 0;
  const given = body.NextToken;
  if (given !== undefined && given !== null) {
    const token = typeof given === 'string' ? readToken(ctx.tokenKey, given) : undefined;
    if (
      !token ||
      token.a !== ctx.action ||
      token.o !== org.id ||
      token.s !== scope ||
      typeof token.after !== 'number'
    ) {
      throw invalidInput(
        'INVALID_NEXT_TOKEN',
        'The NextToken value is not valid. Get the value for NextToken from the response to a previous call of the operation.',
      );
    }
    after = token.after;
  }
  const sorted = [...items].sort((a, b) => a.seq - b.seq).filter((item) => item.seq > after);
  const chosen = sorted.slice(0, size);
  const last = chosen.at(-1);
  const more = sorted.length > chosen.length && last !== undefined;
  return {
    items: chosen,
    nextToken: more
      ? signToken(ctx.tokenKey, { a: ctx.action, o: org.id, s: scope, after: last.seq })
      : undefined,
  };
}

const NOT_IN_USE =
  'Your account is not a member of an organization. To make this request, you must use the credentials of an account that belongs to an organization.';
const NOT_MANAGEMENT = "You don't have permissions to access this resource.";

/** Answers one Organizations call. */
export async function handleOrganizations(ctx: OrganizationsContext): Promise<Reply> {
  const result = await dispatch(ctx);
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': ctx.requestId },
    body: JSON.stringify(result),
  };
}

async function dispatch(ctx: OrganizationsContext): Promise<Body> {
  const { state, caller, partition } = ctx;
  const action = ctx.action as OrganizationsAction;
  if (!(ORGANIZATIONS_ACTIONS as readonly string[]).includes(action)) {
    throw new AwsError(
      'UnknownOperationException',
      `The loopback AWS does not serve Organizations' ${ctx.action}.`,
      400,
    );
  }
  const body = parseBody(ctx.body);
  const org = organizationOfAccount(state, partition, caller.accountId);

  // The caller's own policies first (an IAM refusal names the action), as AWS authorizes calls.
  const resource = resourceOf(action, body, org);
  try {
    await ctx.authorize(`organizations:${action}`, resource);
  } catch (error) {
    if (error instanceof AwsError && error.code === 'AccessDenied') {
      throw orgError('AccessDeniedException', error.message);
    }
    throw error;
  }
  if (!org) throw orgError('AWSOrganizationsNotInUseException', NOT_IN_USE);
  if (action === 'DescribeOrganization') {
    const management = org.accounts.get(org.managementAccountId);
    return {
      Organization: {
        Id: org.id,
        Arn: organizationArn(org),
        FeatureSet: 'ALL',
        MasterAccountArn: accountArn(org, org.managementAccountId),
        MasterAccountId: org.managementAccountId,
        MasterAccountEmail: management?.email,
        AvailablePolicyTypes: [],
      },
    };
  }
  // Every other read is the management account's (delegated administrators are not modelled).
  if (caller.accountId !== org.managementAccountId) {
    throw orgError('AccessDeniedException', NOT_MANAGEMENT);
  }
  const parentOf = (member: string) => {
    const id = requiredId(body, member, PARENT_ID, 'a root ID (r-…) or an OU ID (ou-…)');
    if (id !== org.rootId && !org.units.has(id)) {
      throw orgError(
        'ParentNotFoundException',
        "We can't find a root or OU with the ParentId that you specified.",
      );
    }
    return id;
  };
  switch (action) {
    case 'ListAccounts': {
      const { items, nextToken } = page(ctx, body, org, '', [...org.accounts.values()]);
      return { Accounts: items.map((a) => accountJson(org, a)), NextToken: nextToken };
    }
    case 'ListRoots': {
      const root = { seq: 1 };
      const { items, nextToken } = page(ctx, body, org, '', [root]);
      return {
        Roots: items.map(() => ({
          Id: org.rootId,
          Arn: rootArn(org),
          Name: 'Root',
          PolicyTypes: [],
        })),
        NextToken: nextToken,
      };
    }
    case 'ListOrganizationalUnitsForParent': {
      const parentId = parentOf('ParentId');
      const units = [...org.units.values()].filter((u) => u.parentId === parentId);
      const { items, nextToken } = page(ctx, body, org, parentId, units);
      return { OrganizationalUnits: items.map((u) => unitJson(org, u)), NextToken: nextToken };
    }
    case 'ListAccountsForParent': {
      const parentId = parentOf('ParentId');
      const accounts = [...org.accounts.values()].filter((a) => a.parentId === parentId);
      const { items, nextToken } = page(ctx, body, org, parentId, accounts);
      return { Accounts: items.map((a) => accountJson(org, a)), NextToken: nextToken };
    }
    case 'ListParents': {
      const childId = requiredId(
        body,
        'ChildId',
        CHILD_ID,
        'an account ID (12 digits) or an OU ID (ou-…)',
      );
      const child = org.accounts.get(childId) ?? org.units.get(childId);
      if (!child) {
        throw orgError(
          'ChildNotFoundException',
          "We can't find an organizational unit (OU) or AWS account with the ChildId that you specified.",
        );
      }
      const parent = { seq: 1, id: child.parentId };
      const { items, nextToken } = page(ctx, body, org, childId, [parent]);
      return {
        Parents: items.map((p) => ({
          Id: p.id,
          Type: p.id === org.rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT',
        })),
        NextToken: nextToken,
      };
    }
    case 'DescribeAccount': {
      const accountId = requiredId(body, 'AccountId', ACCOUNT_ID, 'an account ID (12 digits)');
      const account = org.accounts.get(accountId);
      if (!account) {
        throw orgError(
          'AccountNotFoundException',
          "We can't find an AWS account with the AccountId that you specified, or the account whose credentials you used to make this request isn't a member of an organization.",
        );
      }
      return { Account: accountJson(org, account) };
    }
    case 'DescribeOrganizationalUnit': {
      const unitId = requiredId(body, 'OrganizationalUnitId', OU_ID, 'an OU ID (ou-…)');
      const unit = org.units.get(unitId);
      if (!unit) {
        throw orgError(
          'OrganizationalUnitNotFoundException',
          "We can't find an OU with the OrganizationalUnitId that you specified.",
        );
      }
      return { OrganizationalUnit: unitJson(org, unit) };
    }
  }
}

/**
 * The resource an Organizations action is authorized on (the Service Authorization Reference):
 * `*` for the organization-wide reads, the account, OU or root ARN for the others.
 */
function resourceOf(
  action: OrganizationsAction,
  body: Body,
  org: Organization | undefined,
): string {
  if (!org) return '*';
  const id = (member: string) => (typeof body[member] === 'string' ? (body[member] as string) : '');
  const arnOf = (target: string) =>
    ACCOUNT_ID.test(target)
      ? accountArn(org, target)
      : target.startsWith('ou-')
        ? unitArn(org, target)
        : target.startsWith('r-')
          ? `arn:${org.partition}:organizations::${org.managementAccountId}:root/${org.id}/${target}`
          : '*';
  switch (action) {
    case 'DescribeAccount':
      return arnOf(id('AccountId'));
    case 'DescribeOrganizationalUnit':
      return arnOf(id('OrganizationalUnitId'));
    case 'ListParents':
      return arnOf(id('ChildId'));
    case 'ListOrganizationalUnitsForParent':
    case 'ListAccountsForParent':
      return arnOf(id('ParentId'));
    default:
      return '*';
  }
}
