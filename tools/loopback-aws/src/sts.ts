/**
 * STS over the Query protocol: GetCallerIdentity, AssumeRole, GetSessionToken (AssumeRoleWithWebIdentity
 * is in web-identity.ts: it is unsigned and fetches from the issuer).
 */
import { validateSessionPolicy } from '@cloud-copilot/iam-policy';
import type { QueryContext } from './context.ts';
import { AwsError, accessDenied, malformedPolicy, validationError } from './errors.ts';
import { type Context, callerContext, callerPolicies, evaluate, scpsOf } from './evaluate.ts';
import { queryReply, type Reply } from './query.ts';
import type { NamedPolicy, PolicyJson, Session, Tag } from './state.ts';

export const STS_ACTIONS = [
  'GetCallerIdentity',
  'AssumeRole',
  'AssumeRoleWithWebIdentity',
  'GetSessionToken',
] as const;

/** What a caller without any identity policy is treated as having (a convenience for tests). */
const IMPLICIT_HUB_POLICY: PolicyJson = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'],
      Resource: '*',
    },
  ],
};

export function lengthError(member: string, value: string, min: number, max: number) {
  if (value.length < min) {
    return validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`,
    );
  }
  if (value.length > max) {
    return validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  return undefined;
}

export function checkText(
  member: string,
  value: string,
  min: number,
  max: number,
  pattern: RegExp,
  patternText: string,
) {
  const error = lengthError(member, value, min, max);
  if (error) throw error;
  if (!pattern.test(value)) {
    throw validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${patternText}`,
    );
  }
}

export function credentialsXml(session: Session) {
  return {
    AccessKeyId: session.accessKeyId,
    SecretAccessKey: session.secretAccessKey,
    SessionToken: session.sessionToken,
    Expiration: new Date(session.expiresAt),
  };
}

function statementsOf(document: PolicyJson): unknown[] {
  const statement = document.Statement;
  return Array.isArray(statement) ? statement : statement === undefined ? [] : [statement];
}

export async function handleSts(ctx: QueryContext): Promise<Reply> {
  switch (ctx.action) {
    case 'GetCallerIdentity':
      return queryReply(
        'sts',
        'GetCallerIdentity',
        { Arn: ctx.caller.arn, UserId: ctx.caller.userId, Account: ctx.caller.accountId },
        ctx.requestId,
      );
    case 'AssumeRole':
      return assumeRole(ctx);
    case 'GetSessionToken':
      return getSessionToken(ctx);
    default:
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${ctx.action} for version 2011-06-15`,
        400,
      );
  }
}

/** Session policies: inline (Policy) and managed (PolicyArns), combined into one document. */
export function sessionPolicyOf(
  ctx: Pick<QueryContext, 'params' | 'state' | 'partition'>,
): PolicyJson | undefined {
  const { params, state, partition } = ctx;
  const sessionStatements: unknown[] = [];
  const policyText = params.get('Policy');
  if (policyText !== undefined) {
    const error = lengthError('policy', policyText, 1, 2048);
    if (error) throw error;
    let document: unknown;
    try {
      document = JSON.parse(policyText);
    } catch {
      throw malformedPolicy('The policy is not in the valid JSON format.');
    }
    const problems = validateSessionPolicy(document);
    if (problems.length > 0 || typeof document !== 'object' || document === null) {
      throw malformedPolicy(
        `Syntax errors in policy. ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`.trim(),
      );
    }
    sessionStatements.push(...statementsOf(document as PolicyJson));
  }
  const policyArns = params.structs('PolicyArns').map((p) => p.get('arn') ?? '');
  for (const arn of policyArns) {
    const managed = state.findPolicy(partition, arn);
    if (!managed) throw malformedPolicy(`Policy ${arn} does not exist or is not attachable.`);
    sessionStatements.push(...statementsOf(state.defaultDocument(managed)));
  }
  return policyText !== undefined || policyArns.length > 0
    ? { Version: '2012-10-17', Statement: sessionStatements }
    : undefined;
}

async function assumeRole(ctx: QueryContext): Promise<Reply> {
  const { params, caller, state, partition } = ctx;
  const roleArn = params.required('RoleArn');
  const sessionName = params.required('RoleSessionName');
  const arnLength = lengthError('roleArn', roleArn, 20, 2048);
  if (arnLength) throw arnLength;
  checkText('roleSessionName', sessionName, 2, 64, /^[\w+=,.@-]*$/, '[\\w+=,.@-]*');
  const externalId = params.get('ExternalId');
  if (externalId !== undefined) {
    checkText('externalId', externalId, 2, 1224, /^[\w+=,.@:/-]*$/, '[\\w+=,.@:\\/-]*');
  }
  const durationSeconds = params.int('DurationSeconds', 900, 43200);
  const sourceIdentity = params.get('SourceIdentity');
  if (sourceIdentity !== undefined) {
    checkText('sourceIdentity', sourceIdentity, 2, 64, /^[\w+=,.@-]*$/, '[\\w+=,.@-]*');
  }
  const mfa = params.get('SerialNumber') !== undefined && params.get('TokenCode') !== undefined;

  const sessionPolicy = sessionPolicyOf(ctx);

  const requestTags: Tag[] = params
    .structs('Tags')
    .map((t) => ({ key: t.required('Key'), value: t.get('Value') ?? '' }));
  if (requestTags.length > 50) {
    throw validationError(
      "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  }
  const transitiveTagKeys = params.list('TransitiveTagKeys');

  const refused = () =>
    accessDenied(
      `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
    );
  if (caller.kind === 'root') throw accessDenied('Roles may not be assumed by root accounts.');

  const match = /^arn:([^:]+):iam::(\d{12}):role(\/(?:.*\/)?)([^/]+)$/.exec(roleArn);
  if (!match) {
    throw validationError(`${roleArn} is not a valid role ARN`);
  }
  const [, arnPartition = '', roleAccountId = '', , roleName = ''] = match;
  const role =
    arnPartition === partition
      ? state.existingAccount(partition, roleAccountId)?.roles.get(roleName)
      : undefined;
  if (!role || role.arn !== roleArn) throw refused();
  const delay = ctx.controls.propagationDelays.get(role.arn);
  if (delay !== undefined && Date.now() < role.createdAt.getTime() + delay) throw refused();

  // Tags a chained session passes on.
  const inherited: Tag[] = [];
  const callerSource = caller.session?.source;
  if (callerSource?.kind === 'assumed-role') {
    for (const key of callerSource.transitiveTagKeys) {
      const tag = callerSource.tags.find((t) => t.key === key);
      if (tag && !requestTags.some((t) => t.key === key)) inherited.push(tag);
    }
  }

  const { identityPolicies, sessionPolicy: callerSessionPolicy } = callerPolicies(caller, state);
  const identity: NamedPolicy[] =
    identityPolicies.length > 0
      ? identityPolicies
      : [{ name: 'implicit', sourceType: 'none', policy: IMPLICIT_HUB_POLICY }];
  const context: Context = {
    ...callerContext(caller, ctx.region),
    'sts:RoleSessionName': sessionName,
  };
  if (externalId !== undefined) context['sts:ExternalId'] = externalId;
  if (sourceIdentity !== undefined) context['sts:SourceIdentity'] = sourceIdentity;
  if (mfa) context['aws:MultiFactorAuthPresent'] = 'true';
  if (requestTags.length > 0) {
    for (const tag of requestTags) context[`aws:RequestTag/${tag.key}`] = tag.value;
    context['aws:TagKeys'] = requestTags.map((t) => t.key);
  }
  if (transitiveTagKeys.length > 0) context['sts:TransitiveTagKeys'] = transitiveTagKeys;

  const actions = ['sts:AssumeRole'];
  if (requestTags.length > 0) actions.push('sts:TagSession');
  if (sourceIdentity !== undefined) actions.push('sts:SetSourceIdentity');
  for (const action of actions) {
    const evaluation = await evaluate({
      principal: caller.arn,
      action,
      resource: role.arn,
      resourceAccountId: role.accountId,
      identityPolicies: identity,
      sessionPolicy: callerSessionPolicy,
      scps: scpsOf(state, caller),
      resourcePolicy: role.trustPolicy,
      context,
    });
    if (evaluation.decision !== 'Allowed') {
      throw accessDenied(
        `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${roleArn}`,
      );
    }
  }

  const chained = caller.kind === 'assumed-role';
  if (chained && durationSeconds !== undefined && durationSeconds > 3600) {
    throw validationError(
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (durationSeconds !== undefined && durationSeconds > role.maxSessionDuration) {
    throw validationError(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  }
  const tags = [...inherited, ...requestTags];
  const session = state.addSession(partition, role.accountId, durationSeconds ?? 3600, mfa, {
    kind: 'assumed-role',
    roleName: role.name,
    roleId: role.id,
    roleArn: role.arn,
    sessionName,
    sessionPolicy,
    tags,
    transitiveTagKeys: [
      ...new Set([
        ...transitiveTagKeys,
        ...(callerSource?.kind === 'assumed-role' ? callerSource.transitiveTagKeys : []),
      ]),
    ],
    sourceIdentity:
      sourceIdentity ??
      (callerSource?.kind === 'assumed-role' ? callerSource.sourceIdentity : undefined),
    chained,
  });
  const packed =
    sessionPolicy || tags.length > 0
      ? Math.min(
          100,
          Math.ceil(
            ((JSON.stringify(sessionPolicy ?? {}).length + JSON.stringify(tags).length) / 2048) *
              100,
          ),
        )
      : undefined;
  return queryReply(
    'sts',
    'AssumeRole',
    {
      Credentials: credentialsXml(session),
      AssumedRoleUser: {
        AssumedRoleId: `${role.id}:${sessionName}`,
        Arn: `arn:${partition}:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
      },
      PackedPolicySize: packed,
      SourceIdentity:
        session.source.kind === 'assumed-role' ? session.source.sourceIdentity : undefined,
    },
    ctx.requestId,
  );
}

async function getSessionToken(ctx: QueryContext): Promise<Reply> {
  const { caller, params, state } = ctx;
  if (caller.session) {
    throw accessDenied('Cannot call GetSessionToken with session credentials');
  }
  const root = caller.kind === 'root';
  const requested = params.int('DurationSeconds', 900, 129600);
  const durationSeconds = root ? Math.min(requested ?? 3600, 3600) : (requested ?? 43200);
  const mfa = params.get('SerialNumber') !== undefined && params.get('TokenCode') !== undefined;
  const session = state.addSession(ctx.partition, caller.accountId, durationSeconds, mfa, {
    kind: 'session-token',
    userName:
      caller.kind === 'root' ? undefined : caller.arn.slice(caller.arn.lastIndexOf('/') + 1),
  });
  return queryReply(
    'sts',
    'GetSessionToken',
    { Credentials: credentialsXml(session) },
    ctx.requestId,
  );
}
