/**
 * STS AssumeRoleWithWebIdentity, as AWS does it for an IAM OIDC provider: the request is unsigned; the
 * token's issuer must be a provider of the role's account; the issuer's keys come from its discovery
 * document over HTTPS; the signature, audience and lifetime are checked; then the role's trust policy
 * decides with the provider as Federated principal and the token's claims as `<issuer>:aud`/`sub`/`oaud`.
 */
import {
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Controls } from './context.ts';
import { AwsError, accessDenied, validationError } from './errors.ts';
import { evaluate } from './evaluate.ts';
import { providerKey } from './oidc-providers.ts';
import type { PartitionId } from './partitions.ts';
import { type QueryParams, queryReply, type Reply } from './query.ts';
import type { LoopbackState, PolicyJson } from './state.ts';
import { checkText, credentialsXml, lengthError, sessionPolicyOf } from './sts.ts';

/**
 * AWS documents a five-minute window after a token's `exp` for clock skew ("IAM provides a five-minute
 * window beyond the expiration time specified in the JWT", IAM User Guide, OIDC federation). The same
 * figure is used for `nbf` and `iat` in the future, for which AWS documents none.
 */
export const TOKEN_CLOCK_SKEW_SECONDS = 300;

const ALGORITHMS = ['RS256', 'ES256'] as const;

export interface IssuerKeys {
  /**
   * The issuer's signing keys (its JWKS): cached, or fetched again when `fresh`. Throws
   * IDPCommunicationError when the issuer cannot be reached or answers something else than JSON.
   */
  keys(issuer: string, partition: PartitionId, fresh: boolean): Promise<JWK[]>;
}

export interface WebIdentityContext {
  state: LoopbackState;
  controls: Controls;
  requestId: string;
  params: QueryParams;
  /** The loopback STS's clock (epoch ms), which tests may shift. */
  now: number;
  issuer: IssuerKeys;
}

export const invalidIdentityToken = (message: string) =>
  new AwsError('InvalidIdentityToken', message, 400);

export const idpCommunicationError = () =>
  new AwsError(
    'IDPCommunicationError',
    "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
    400,
  );

const ROLE_ARN = /^arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):role(\/(?:.*\/)?)([^/]+)$/;

/** The partition the request is for: an unsigned request has no credential scope, so its role ARN says. */
export function partitionOfRoleArn(roleArn: string | undefined): PartitionId | undefined {
  return ROLE_ARN.exec(roleArn ?? '')?.[1] as PartitionId | undefined;
}

const asList = (value: unknown): string[] =>
  Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : typeof value === 'string'
      ? [value]
      : [];

export async function assumeRoleWithWebIdentity(
  ctx: WebIdentityContext,
): Promise<{ reply: Reply; sessionArn: string }> {
  const { params, state } = ctx;
  const roleArn = params.required('RoleArn');
  const sessionName = params.required('RoleSessionName');
  const token = params.required('WebIdentityToken');
  const arnLength = lengthError('roleArn', roleArn, 20, 2048);
  if (arnLength) throw arnLength;
  checkText('roleSessionName', sessionName, 2, 64, /^[\w+=,.@-]*$/, '[\\w+=,.@-]*');
  const tokenLength = lengthError('webIdentityToken', token, 4, 20000);
  if (tokenLength) throw tokenLength;
  const durationSeconds = params.int('DurationSeconds', 900, 43200) ?? 3600;

  const match = ROLE_ARN.exec(roleArn);
  if (!match) throw validationError(`${roleArn} is not a valid role ARN`);
  const [, partitionText = '', accountId = '', , roleName = ''] = match;
  const partition = partitionText as PartitionId;
  const sessionPolicy = sessionPolicyOf({ params, state, partition });

  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw invalidIdentityToken(
      'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
    );
  }
  const issuer = typeof claims.iss === 'string' ? claims.iss : '';
  const account = state.existingAccount(partition, accountId);
  const provider = issuer ? account?.oidcProviders.get(providerKey(issuer)) : undefined;
  if (!provider)
    throw invalidIdentityToken(`No OpenIDConnect provider found in your account for ${issuer}`);

  await verifySignature(ctx, token, header, issuer, partition);

  const audiences = asList(claims.aud);
  const azp = typeof claims.azp === 'string' ? claims.azp : undefined;
  // With an azp claim AWS reads the client ID from it (`<issuer>:aud` is azp, `<issuer>:oaud` the aud).
  const clientId = [azp, ...audiences].find(
    (value) => value !== undefined && provider.clientIds.includes(value),
  );
  if (clientId === undefined) throw invalidIdentityToken('Incorrect token audience');

  const nowSeconds = Math.floor(ctx.now / 1000);
  if (typeof claims.exp !== 'number') throw invalidIdentityToken('Missing exp claim in the token');
  if (nowSeconds > claims.exp + TOKEN_CLOCK_SKEW_SECONDS) {
    throw new AwsError(
      'ExpiredTokenException',
      `Token expired: current date/time ${nowSeconds} must be before the expiration date/time ${claims.exp}`,
      400,
    );
  }
  for (const claim of ['nbf', 'iat'] as const) {
    const value = claims[claim];
    if (
      value !== undefined &&
      (typeof value !== 'number' || value > nowSeconds + TOKEN_CLOCK_SKEW_SECONDS)
    ) {
      throw invalidIdentityToken(`The token's ${claim} claim is in the future: ${String(value)}`);
    }
  }
  const subject = typeof claims.sub === 'string' ? claims.sub : '';
  if (!subject) throw invalidIdentityToken('Missing sub claim in the token');

  const refused = () => accessDenied('Not authorized to perform sts:AssumeRoleWithWebIdentity');
  const role = account?.roles.get(roleName);
  if (!role || role.arn !== roleArn) throw refused();
  const delay = ctx.controls.propagationDelays.get(role.arn);
  if (delay !== undefined && Date.now() < role.createdAt.getTime() + delay) throw refused();

  const prefix = provider.url;
  // `<issuer>:aud` is single-valued: the client ID the token was accepted for (its azp, or the one of
  // its audiences the provider lists); `oaud` carries the aud claim when azp took its place.
  const context: Record<string, string | string[]> = {
    [`${prefix}:sub`]: subject,
    [`${prefix}:aud`]: azp ?? clientId,
    'sts:RoleSessionName': sessionName,
  };
  if (azp !== undefined) {
    context[`${prefix}:oaud`] = audiences.length === 1 ? (audiences[0] ?? '') : audiences;
  }
  if (
    !(await trustAllows(provider.arn, role.arn, role.accountId, role.trustPolicy, prefix, context))
  ) {
    throw refused();
  }

  if (durationSeconds > role.maxSessionDuration) {
    throw validationError(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  const session = state.addSession(partition, role.accountId, durationSeconds, false, {
    kind: 'assumed-role',
    roleName: role.name,
    roleId: role.id,
    roleArn: role.arn,
    sessionName,
    sessionPolicy,
    tags: [],
    transitiveTagKeys: [],
    sourceIdentity: undefined,
    // Federation starts a chain; it is not role chaining (the role's MaxSessionDuration applies).
    chained: false,
    webIdentity: { providerArn: provider.arn, subject },
  });
  const sessionArn = `arn:${partition}:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`;
  const reply = queryReply(
    'sts',
    'AssumeRoleWithWebIdentity',
    {
      Credentials: credentialsXml(session),
      SubjectFromWebIdentityToken: subject,
      AssumedRoleUser: {
        AssumedRoleId: `${role.id}:${sessionName}`,
        Arn: sessionArn,
      },
      PackedPolicySize: sessionPolicy
        ? Math.min(100, Math.ceil((JSON.stringify(sessionPolicy).length / 2048) * 100))
        : undefined,
      Provider: issuer,
      Audience: clientId,
    },
    ctx.requestId,
  );
  return { reply, sessionArn };
}

/** Checks the token's signature with the issuer's keys, fetching them again once for an unknown kid. */
async function verifySignature(
  ctx: WebIdentityContext,
  token: string,
  header: ReturnType<typeof decodeProtectedHeader>,
  issuer: string,
  partition: PartitionId,
): Promise<void> {
  const alg = header.alg;
  if (!ALGORITHMS.includes(alg as (typeof ALGORITHMS)[number])) {
    throw invalidIdentityToken(`The token's signing algorithm ${String(alg)} is not supported`);
  }
  const kty = alg === 'RS256' ? 'RSA' : 'EC';
  const candidates = (keys: JWK[]) =>
    keys.filter(
      (k) =>
        k.kty === kty &&
        (k.use === undefined || k.use === 'sig') &&
        (k.alg === undefined || k.alg === alg) &&
        (header.kid === undefined || k.kid === header.kid),
    );
  let keys = candidates(await ctx.issuer.keys(issuer, partition, false));
  if (keys.length === 0 && header.kid !== undefined) {
    // The issuer may have rotated its keys since they were cached.
    keys = candidates(await ctx.issuer.keys(issuer, partition, true));
  }
  if (keys.length === 0) {
    throw invalidIdentityToken('Unable to find a key in the issuer JWKS matching the token kid');
  }
  for (const jwk of keys) {
    try {
      await compactVerify(token, await importJWK(jwk, alg), { algorithms: [alg as string] });
      return;
    } catch {
      // Another key of the set may verify it.
    }
  }
  throw invalidIdentityToken('Failed to verify the web identity token signature');
}

/**
 * The IAM simulator (the evaluator behind `evaluate`) knows web identity condition keys only for the providers it lists, and ignores any
 * other key of the request context. The provider's own keys are therefore evaluated under one listed
 * prefix (`accounts.google.com:aud`/`sub`/`oaud`, which take the same string values); policy keys of
 * that listed prefix are moved out of the way first, as AWS would not set them for this provider.
 */
const STAND_IN = 'accounts.google.com';
const UNSET = 'not-set-for-this-provider.invalid';

function renameKeys(policy: PolicyJson, prefix: string): PolicyJson {
  const lower = prefix.toLowerCase();
  const rename = (key: string): string => {
    const at = key.lastIndexOf(':');
    if (at < 0) return key;
    const keyPrefix = key.slice(0, at).toLowerCase();
    if (keyPrefix === lower) return `${STAND_IN}:${key.slice(at + 1)}`;
    if (keyPrefix === STAND_IN) return `${UNSET}:${key.slice(at + 1)}`;
    return key;
  };
  const statements = asStatements(policy.Statement).map((statement) => {
    if (typeof statement !== 'object' || statement === null) return statement;
    const st = statement as Record<string, unknown>;
    const condition = st.Condition;
    if (typeof condition !== 'object' || condition === null) return st;
    const renamed: Record<string, unknown> = {};
    for (const [operator, keys] of Object.entries(condition)) {
      renamed[operator] =
        typeof keys === 'object' && keys !== null
          ? Object.fromEntries(Object.entries(keys).map(([k, v]) => [rename(k), v]))
          : keys;
    }
    return { ...st, Condition: renamed };
  });
  return { ...policy, Statement: statements };
}

const asStatements = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined ? [] : [value];

async function trustAllows(
  providerArn: string,
  roleArn: string,
  roleAccountId: string,
  trustPolicy: PolicyJson,
  prefix: string,
  context: Record<string, string | string[]>,
): Promise<boolean> {
  const renamedContext: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(context)) {
    renamedContext[
      key.startsWith(`${prefix}:`) ? `${STAND_IN}:${key.slice(prefix.length + 1)}` : key
    ] = value;
  }
  const evaluation = await evaluate({
    principal: providerArn,
    action: 'sts:AssumeRoleWithWebIdentity',
    resource: roleArn,
    resourceAccountId: roleAccountId,
    identityPolicies: [],
    resourcePolicy: renameKeys(trustPolicy, prefix),
    context: renamedContext,
  });
  return evaluation.decision === 'Allowed';
}
