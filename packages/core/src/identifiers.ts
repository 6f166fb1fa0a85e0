import { fail, ok, type Result } from './errors.ts';
import { getPartition, isPartitionId, type PartitionId } from './partitions/partitions.ts';

export interface Arn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  /** Everything after the fifth colon; may itself contain colons and slashes. */
  resource: string;
}

export interface RoleArn {
  arn: string;
  partition: PartitionId;
  accountId: string;
  /** Always starts and ends with `/`; `/` when the role has no path. */
  path: string;
  name: string;
}

const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;
// IAM paths: `/`, or `/` + segments of printable ASCII + `/`, at most 512 characters.
const ROLE_PATH = /^\/(?:[\u0021-\u007e]+\/)?$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]+$/;
const SESSION_NAME = /^[\w+=,.@-]+$/;
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const SECRET_ACCESS_KEY = /^[A-Za-z0-9/+]{40}$/;

export function parseArn(value: unknown, field = 'arn'): Result<Arn> {
  if (typeof value !== 'string' || value.trim() === '')
    return fail(field, 'required', 'Enter an ARN.');
  const parts = value.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') {
    return fail(
      field,
      'invalid_arn',
      'This is not an ARN.',
      'An ARN looks like arn:aws:iam::123456789012:role/Name.',
    );
  }
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  const resource = parts.slice(5).join(':');
  if (partition === '' || service === '' || resource === '') {
    return fail(field, 'invalid_arn', 'This ARN is missing its partition, service or resource.');
  }
  return ok({ partition, service, region, accountId, resource });
}

/** A role ARN to show as an example, in the partition's own prefix. */
export function exampleRoleArn(partition: PartitionId, roleName = 'Name'): string {
  return `arn:${partition}:iam::123456789012:role/${roleName}`;
}

export function formatArn(arn: Arn): string {
  return `arn:${arn.partition}:${arn.service}:${arn.region}:${arn.accountId}:${arn.resource}`;
}

export function parseAccountId(value: unknown, field = 'accountId'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'Enter an AWS account ID.');
  const compact = value.replace(/[\s-]/g, '');
  if (!ACCOUNT_ID.test(compact)) {
    return fail(
      field,
      'invalid_account_id',
      'An AWS account ID is exactly 12 digits.',
      'Find it in the AWS console under your account name, top right.',
    );
  }
  return ok(compact);
}

export function parseRoleName(value: unknown, field = 'roleName'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'Enter a role name.');
  if (value.length > 64) return fail(field, 'too_long', 'A role name has at most 64 characters.');
  if (!ROLE_NAME.test(value)) {
    return fail(
      field,
      'invalid_role_name',
      'A role name may contain only letters, digits and + = , . @ _ -.',
    );
  }
  return ok(value);
}

export function parseRolePath(value: unknown, field = 'rolePath'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'Enter a role path.');
  if (value.length > 512) return fail(field, 'too_long', 'A role path has at most 512 characters.');
  if (!ROLE_PATH.test(value)) {
    return fail(
      field,
      'invalid_role_path',
      'A role path starts and ends with a slash, such as / or /onramp/.',
    );
  }
  return ok(value);
}

/**
 * Parses an IAM role ARN, including roles with paths (`role/service/onramp/Name`). When a partition is
 * given, the ARN must be in it: a GovCloud connection cannot use a commercial role.
 */
export function parseRoleArn(
  value: unknown,
  options: { field?: string; partition?: PartitionId } = {},
): Result<RoleArn> {
  const field = options.field ?? 'roleArn';
  const example = exampleRoleArn(options.partition ?? 'aws');
  const parsed = parseArn(typeof value === 'string' ? value.trim() : value, field);
  if (!parsed.ok) {
    // The example in the hint is in the partition being connected (arn:aws-us-gov:… in GovCloud).
    const { issue } = parsed;
    return issue.code === 'invalid_arn' && issue.hint
      ? fail(field, issue.code, issue.message, `An ARN looks like ${example}.`)
      : parsed;
  }
  const arn = parsed.value;
  if (!isPartitionId(arn.partition)) {
    return fail(
      field,
      'unknown_partition',
      `"${arn.partition}" is not an AWS partition Onramp supports.`,
      'The second part of the ARN is aws, aws-us-gov or aws-cn.',
    );
  }
  if (arn.service !== 'iam' || !arn.resource.startsWith('role/') || arn.region !== '') {
    return fail(
      field,
      'not_a_role_arn',
      'This ARN is not an IAM role.',
      `Copy the ARN from the role’s summary page; it looks like ${example}.`,
    );
  }
  if (!ACCOUNT_ID.test(arn.accountId)) {
    return fail(field, 'invalid_account_id', 'The account ID in this ARN is not 12 digits.');
  }
  if (options.partition && arn.partition !== options.partition) {
    return fail(
      field,
      'wrong_partition',
      `This role is in ${getPartition(arn.partition).displayName}, but the account is being connected in ${getPartition(options.partition).displayName}.`,
      `Choose the ${getPartition(arn.partition).displayName} partition, or use a role ARN starting with arn:${options.partition}:.`,
    );
  }
  const rest = arn.resource.slice('role/'.length);
  const slash = rest.lastIndexOf('/');
  const path = slash === -1 ? '/' : `/${rest.slice(0, slash + 1)}`;
  const name = slash === -1 ? rest : rest.slice(slash + 1);
  const nameResult = parseRoleName(name, field);
  if (!nameResult.ok) return nameResult;
  const pathResult = parseRolePath(path, field);
  if (!pathResult.ok) return pathResult;
  return ok({
    arn: formatArn(arn),
    partition: arn.partition,
    accountId: arn.accountId,
    path,
    name,
  });
}

export function formatRoleArn(
  partition: PartitionId,
  accountId: string,
  name: string,
  path = '/',
): string {
  return `arn:${partition}:iam::${accountId}:role${path}${name}`;
}

export type AccessKeyKind = 'long-term' | 'temporary';

/**
 * Long-term access keys of IAM users start with AKIA; keys of STS sessions start with ASIA and expire,
 * so Onramp cannot store them. Root-user keys also start with AKIA: only GetCallerIdentity tells them apart.
 */
export function parseAccessKeyId(
  value: unknown,
  field = 'accessKeyId',
): Result<{ accessKeyId: string; kind: AccessKeyKind }> {
  if (typeof value !== 'string' || value.trim() === '') {
    return fail(field, 'required', 'Enter the access key ID.');
  }
  const id = value.trim();
  if (!ACCESS_KEY_ID.test(id)) {
    return fail(
      field,
      'invalid_access_key_id',
      'An access key ID is 20 capital letters and digits, starting with AKIA.',
      'Copy it from the IAM user’s Security credentials tab.',
    );
  }
  if (id.startsWith('ASIA')) {
    return fail(
      field,
      'temporary_access_key',
      'This is a temporary access key (ASIA…) from an STS session; it stops working when the session ends.',
      'Create a long-term access key (AKIA…) for a dedicated IAM user, or connect with an IAM role instead.',
    );
  }
  if (!id.startsWith('AKIA')) {
    return fail(
      field,
      'invalid_access_key_id',
      `Access key IDs start with AKIA; ${id.slice(0, 4)}… is ${describeIdPrefix(id.slice(0, 4))}.`,
      'Copy the access key ID from the IAM user’s Security credentials tab.',
    );
  }
  return ok({ accessKeyId: id, kind: 'long-term' });
}

function describeIdPrefix(prefix: string): string {
  const known: Record<string, string> = {
    AIDA: 'the unique ID of an IAM user, not an access key',
    AROA: 'the unique ID of an IAM role, not an access key',
    AGPA: 'the unique ID of an IAM group, not an access key',
    ANPA: 'the unique ID of a managed policy, not an access key',
  };
  return known[prefix] ?? 'not an access key prefix';
}

/** Checks the shape of a secret access key. The message never repeats the value. */
export function checkSecretAccessKey(value: unknown, field = 'secretAccessKey'): Result<string> {
  if (typeof value !== 'string' || value === '') {
    return fail(field, 'required', 'Enter the secret access key.');
  }
  if (!SECRET_ACCESS_KEY.test(value.trim())) {
    return fail(
      field,
      'invalid_format',
      'A secret access key is 40 characters of letters, digits, + and /.',
      'Copy it again from the file AWS offered when the key was created; it is shown only once.',
    );
  }
  return ok(value.trim());
}

export function parseExternalId(value: unknown, field = 'externalId'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'An external ID is required.');
  if (value.length < 2)
    return fail(field, 'too_short', 'An external ID has at least 2 characters.');
  if (value.length > 1224)
    return fail(field, 'too_long', 'An external ID has at most 1224 characters.');
  if (!EXTERNAL_ID.test(value)) {
    return fail(
      field,
      'invalid_external_id',
      'An external ID may contain only letters, digits and + = , . @ : / _ -.',
    );
  }
  return ok(value);
}

export function parseSessionName(value: unknown, field = 'sessionName'): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'Enter a session name.');
  if (value.length < 2)
    return fail(field, 'too_short', 'A role session name has at least 2 characters.');
  if (value.length > 64)
    return fail(field, 'too_long', 'A role session name has at most 64 characters.');
  if (!SESSION_NAME.test(value)) {
    return fail(
      field,
      'invalid_session_name',
      'A role session name may contain only letters, digits and + = , . @ _ -.',
    );
  }
  return ok(value);
}

/**
 * A fresh external ID from random bytes the caller supplies (the core has no randomness of its own).
 * 32 bytes give 256 bits: unguessable, and never derived from a tenant or account id, so it can be
 * regenerated at will.
 */
export function generateExternalId(randomBytes: Uint8Array): string {
  if (randomBytes.length < 16) throw new Error('an external ID needs at least 16 random bytes');
  return `onramp-${base64Url(randomBytes)}`;
}

function base64Url(bytes: Uint8Array): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 63];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(buffer << (6 - bits)) & 63];
  return out;
}

export interface HubPrincipal {
  partition: PartitionId;
  accountId: string;
  /** What goes in the trust policy's Principal: the account root, or a role or user ARN. */
  arn: string;
  kind: 'account' | 'role' | 'user';
}

/**
 * The operator's principal that customers' roles trust, given as an account ID or an IAM role or user
 * ARN. It must be in the partition of the connection: IAM trust never crosses partitions.
 */
export function parseHubPrincipal(
  value: unknown,
  partition: PartitionId,
  field = 'hubPrincipal',
): Result<HubPrincipal> {
  if (typeof value === 'string' && ACCOUNT_ID.test(value)) {
    return ok({
      partition,
      accountId: value,
      arn: `arn:${partition}:iam::${value}:root`,
      kind: 'account',
    });
  }
  const parsed = parseArn(value, field);
  if (!parsed.ok) {
    return fail(
      field,
      'invalid_arn',
      'The trusted principal is a 12-digit account ID or an IAM role or user ARN.',
    );
  }
  const arn = parsed.value;
  if (arn.partition !== partition) {
    return fail(
      field,
      'wrong_partition',
      `The trusted principal is in partition "${arn.partition}", but the role is created in ${getPartition(partition).displayName}.`,
      `Configure a hub principal in ${partition} (an ARN starting with arn:${partition}:).`,
    );
  }
  if (arn.service !== 'iam' || !ACCOUNT_ID.test(arn.accountId)) {
    return fail(
      field,
      'invalid_arn',
      'The trusted principal must be an IAM role, user or account root.',
    );
  }
  const kind = arn.resource === 'root' ? 'account' : arn.resource.split('/')[0];
  if (kind !== 'account' && kind !== 'role' && kind !== 'user') {
    return fail(
      field,
      'invalid_arn',
      'The trusted principal must be an IAM role, user or account root.',
    );
  }
  return ok({ partition, accountId: arn.accountId, arn: formatArn(arn), kind });
}

/**
 * An OpenID Connect issuer as IAM takes it for an identity provider's URL: https, a host, an optional
 * path, and nothing else. IAM documents no port, no query, and the URL must equal the tokens' `iss`
 * exactly; a fragment, user info, a trailing slash, an upper-case host or a percent-escape would
 * each name a different provider than the tokens do, so they are refused here rather than at
 * sign-in. IAM caps the URL at 255 characters.
 */
export interface OidcIssuer {
  url: string;
  /** The URL without `https://`: what the provider's ARN and its condition keys are named by. */
  conditionPrefix: string;
}

const ISSUER_HOST =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const ISSUER_PATH = /^(?:\/[A-Za-z0-9._~-]+)*$/;
// Audiences and subjects go into condition values: no wildcards (* ?), no policy variables (${…}),
// no quotes or spaces, so a value matches itself and nothing else.
const WEB_IDENTITY_VALUE = /^[\w.:/@+=,-]+$/;

export function parseOidcIssuer(value: unknown, field = 'webIdentity.issuer'): Result<OidcIssuer> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', 'The OpenID Connect issuer URL is required.');
  const hint =
    'Use the issuer exactly as its tokens carry it in iss, for example https://onramp.example.com/oidc.';
  if (value.length > 255)
    return fail(field, 'too_long', 'An identity provider URL has at most 255 characters.', hint);
  if (!value.startsWith('https://'))
    return fail(field, 'invalid_format', 'The issuer URL must start with https://.', hint);
  const rest = value.slice('https://'.length);
  const slash = rest.indexOf('/');
  const host = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash);
  if (/[?#]/.test(rest))
    return fail(
      field,
      'invalid_format',
      'The issuer URL may not have a query or a fragment.',
      hint,
    );
  if (host.includes(':'))
    return fail(field, 'invalid_format', 'The issuer URL may not name a port.', hint);
  if (!ISSUER_HOST.test(host)) {
    return fail(
      field,
      'invalid_format',
      'The issuer URL’s host must be a DNS name in lower case (letters, digits, hyphens and dots).',
      hint,
    );
  }
  if (path.endsWith('/'))
    return fail(field, 'invalid_format', 'The issuer URL may not end with a slash.', hint);
  if (!ISSUER_PATH.test(path) || /\/\.{1,2}(?=\/|$)/.test(path)) {
    return fail(
      field,
      'invalid_format',
      'The issuer URL’s path may contain only letters, digits and . _ ~ - between slashes (no . or .. segments).',
      hint,
    );
  }
  return ok({ url: value, conditionPrefix: rest });
}

/** What AWS STS expects as a web identity token's audience in a partition. */
export function webIdentityAudience(partition: PartitionId): string {
  return partition === 'aws-cn' ? 'sts.amazonaws.com.cn' : 'sts.amazonaws.com';
}

/**
 * The subject of the tokens Onramp mints for one connection: made only of ids the tenant cannot
 * choose, so a keyless role pinned to it trusts that connection of that tenant and no other.
 */
export function webIdentitySubject(tenantId: string, connectionId: string): string {
  return `tenant:${tenantId}:connection:${connectionId}`;
}

export function parseWebIdentityAudience(
  value: unknown,
  field = 'webIdentity.audience',
): Result<string> {
  return parseWebIdentityValue(value, field, 'audience', 'sts.amazonaws.com');
}

export function parseWebIdentitySubject(
  value: unknown,
  field = 'webIdentity.subject',
): Result<string> {
  return parseWebIdentityValue(value, field, 'subject', 'tenant:ten_1:connection:con_1');
}

function parseWebIdentityValue(
  value: unknown,
  field: string,
  what: 'audience' | 'subject',
  example: string,
): Result<string> {
  if (typeof value !== 'string' || value === '')
    return fail(field, 'required', `The web identity ${what} is required.`);
  // IAM takes client IDs (audiences) of up to 255 characters; a subject is held to the same.
  if (value.length > 255)
    return fail(field, 'too_long', `A web identity ${what} has at most 255 characters.`);
  if (!WEB_IDENTITY_VALUE.test(value)) {
    return fail(
      field,
      'invalid_format',
      `A web identity ${what} may contain only letters, digits and _ . : / @ + = , -.`,
      `For example ${example}.`,
    );
  }
  return ok(value);
}
