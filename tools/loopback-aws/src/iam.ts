/** IAM over the Query protocol. Every call is itself authorized against the caller's policies. */
import { validateIdentityPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';
import type { QueryContext } from './context.ts';
import {
  AwsError,
  accessDenied,
  invalidInput,
  malformedPolicy,
  noSuchEntity,
  validationError,
} from './errors.ts';
import {
  accountOfArn,
  authorize,
  type Context,
  type Evaluation,
  type EvaluationInput,
  evaluate,
  scpsOf,
} from './evaluate.ts';
import { addOidcProvider, findOidcProvider, providerArn } from './oidc-providers.ts';
import { paginate, type QueryParams, queryReply, type Reply } from './query.ts';
import type { Account, ManagedPolicy, NamedPolicy, PolicyJson, Role, Tag, User } from './state.ts';
import type { XmlValue } from './xml.ts';

export const IAM_ACTIONS = [
  'GetUser',
  'GetRole',
  'ListAttachedRolePolicies',
  'ListRolePolicies',
  'GetRolePolicy',
  'ListAttachedUserPolicies',
  'ListUserPolicies',
  'GetUserPolicy',
  'GetPolicy',
  'GetPolicyVersion',
  'ListPolicies',
  'AttachRolePolicy',
  'AttachUserPolicy',
  'DetachRolePolicy',
  'DetachUserPolicy',
  'ListEntitiesForPolicy',
  'SimulatePrincipalPolicy',
  'SimulateCustomPolicy',
  'CreateOpenIDConnectProvider',
  'GetOpenIDConnectProvider',
  'ListOpenIDConnectProviders',
  'DeleteOpenIDConnectProvider',
] as const;

const MANAGED_POLICIES_PER_ENTITY = 10;

/** IAM returns policy documents URL-encoded (RFC 3986). */
export const encodeDocument = (document: PolicyJson) =>
  encodeURIComponent(JSON.stringify(document));

const tagsXml = (tags: Tag[]) =>
  tags.length > 0 ? tags.map((t) => ({ Key: t.key, Value: t.value })) : undefined;

function userXml(user: User): XmlValue {
  return {
    Path: user.path,
    UserName: user.name,
    UserId: user.id,
    Arn: user.arn,
    CreateDate: user.createdAt,
    Tags: tagsXml(user.tags),
  };
}

function roleXml(role: Role): XmlValue {
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.id,
    Arn: role.arn,
    CreateDate: role.createdAt,
    AssumeRolePolicyDocument: encodeDocument(role.trustPolicy),
    Description: role.description,
    MaxSessionDuration: role.maxSessionDuration,
    Tags: tagsXml(role.tags),
    RoleLastUsed: {},
  };
}

function checkName(member: string, value: string) {
  if (value.length < 1 || value.length > 128 || !/^[\w+=,.@-]+$/.test(value)) {
    throw validationError(
      `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+`,
    );
  }
}

function checkPolicyArn(arn: string) {
  if (arn.length < 20 || !/^arn:[^:]+:iam::(\d{12}|aws):policy\//.test(arn)) {
    throw invalidInput(`ARN ${arn} is not valid.`);
  }
}

export async function handleIam(ctx: QueryContext): Promise<Reply> {
  const result = await dispatch(ctx);
  return queryReply('iam', ctx.action, result, ctx.requestId);
}

async function dispatch(ctx: QueryContext): Promise<XmlValue> {
  const { params, caller, state, partition } = ctx;
  const account = state.account(partition, caller.accountId);
  const can = (action: string, resource: string, extra?: Context) =>
    authorize(state, caller, ctx.region, action, resource, extra);
  const userArn = (name: string) =>
    account.users.get(name)?.arn ?? `arn:${partition}:iam::${account.id}:user/${name}`;
  const roleArn = (name: string) =>
    account.roles.get(name)?.arn ?? `arn:${partition}:iam::${account.id}:role/${name}`;
  const needUser = (name: string) => {
    const user = account.users.get(name);
    if (!user) throw noSuchEntity(`The user with name ${name} cannot be found.`);
    return user;
  };
  const needRole = (name: string) => {
    const role = account.roles.get(name);
    if (!role) throw noSuchEntity(`The role with name ${name} cannot be found.`);
    return role;
  };
  const entityParam = (kind: 'user' | 'role') => {
    const member = kind === 'user' ? 'UserName' : 'RoleName';
    const name = params.required(member);
    checkName(kind === 'user' ? 'userName' : 'roleName', name);
    return name;
  };

  switch (ctx.action) {
    case 'GetUser': {
      let name = params.get('UserName');
      if (name === undefined) {
        if (caller.kind === 'root') {
          return {
            User: {
              UserId: account.id,
              Arn: caller.arn,
              CreateDate: account.createdAt,
            },
          };
        }
        if (caller.kind !== 'user' || !caller.user) {
          throw validationError('Must specify userName when calling with non-User credentials');
        }
        name = caller.user.name;
      }
      checkName('userName', name);
      await can('iam:GetUser', userArn(name));
      return { User: userXml(needUser(name)) };
    }
    case 'GetRole': {
      const name = entityParam('role');
      await can('iam:GetRole', roleArn(name));
      return { Role: roleXml(needRole(name)) };
    }
    case 'ListAttachedRolePolicies':
    case 'ListAttachedUserPolicies': {
      const kind = ctx.action === 'ListAttachedRolePolicies' ? 'role' : 'user';
      const name = entityParam(kind);
      await can(`iam:${ctx.action}`, kind === 'role' ? roleArn(name) : userArn(name));
      const entity = kind === 'role' ? needRole(name) : needUser(name);
      const prefix = params.get('PathPrefix') ?? '/';
      const attached = entity.attached
        .map((arn) => state.findPolicy(partition, arn))
        .filter((p): p is ManagedPolicy => p !== undefined)
        .filter((p) => p.path.startsWith(prefix))
        .map((p) => ({ PolicyName: p.name, PolicyArn: p.arn }));
      const { page, isTruncated, marker } = paginate(attached, params);
      return { AttachedPolicies: page, IsTruncated: isTruncated, Marker: marker };
    }
    case 'ListRolePolicies':
    case 'ListUserPolicies': {
      const kind = ctx.action === 'ListRolePolicies' ? 'role' : 'user';
      const name = entityParam(kind);
      await can(`iam:${ctx.action}`, kind === 'role' ? roleArn(name) : userArn(name));
      const entity = kind === 'role' ? needRole(name) : needUser(name);
      const { page, isTruncated, marker } = paginate([...entity.inline.keys()].sort(), params);
      return { PolicyNames: page, IsTruncated: isTruncated, Marker: marker };
    }
    case 'GetRolePolicy':
    case 'GetUserPolicy': {
      const kind = ctx.action === 'GetRolePolicy' ? 'role' : 'user';
      const name = entityParam(kind);
      const policyName = params.required('PolicyName');
      checkName('policyName', policyName);
      await can(`iam:${ctx.action}`, kind === 'role' ? roleArn(name) : userArn(name));
      const entity = kind === 'role' ? needRole(name) : needUser(name);
      const document = entity.inline.get(policyName);
      if (!document) {
        throw noSuchEntity(`The ${kind} policy with name ${policyName} cannot be found.`);
      }
      return kind === 'role'
        ? { RoleName: name, PolicyName: policyName, PolicyDocument: encodeDocument(document) }
        : { UserName: name, PolicyName: policyName, PolicyDocument: encodeDocument(document) };
    }
    case 'GetPolicy': {
      const arn = params.required('PolicyArn');
      checkPolicyArn(arn);
      await can('iam:GetPolicy', arn);
      const policy = visiblePolicy(ctx, account, arn);
      return { Policy: policyXml(ctx, account, policy, true) };
    }
    case 'GetPolicyVersion': {
      const arn = params.required('PolicyArn');
      const versionId = params.required('VersionId');
      checkPolicyArn(arn);
      if (!/^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/.test(versionId)) {
        throw validationError(
          `1 validation error detected: Value '${versionId}' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?`,
        );
      }
      await can('iam:GetPolicyVersion', arn);
      const policy = visiblePolicy(ctx, account, arn);
      const version = policy.versions.find((v) => v.id === versionId);
      if (!version) {
        throw noSuchEntity(
          `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
        );
      }
      return {
        PolicyVersion: {
          Document: encodeDocument(version.document),
          VersionId: version.id,
          IsDefaultVersion: version.id === policy.defaultVersionId,
          CreateDate: version.createdAt,
        },
      };
    }
    case 'ListPolicies': {
      const scope = params.get('Scope') ?? 'All';
      if (!['All', 'AWS', 'Local'].includes(scope)) {
        throw validationError(
          `1 validation error detected: Value '${scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]`,
        );
      }
      const onlyAttached = params.bool('OnlyAttached') ?? false;
      const prefix = params.get('PathPrefix') ?? '/';
      await can('iam:ListPolicies', '*');
      const candidates = [
        ...(scope === 'Local' ? [] : state.of(partition).awsPolicies.values()),
        ...(scope === 'AWS' ? [] : account.policies.values()),
      ]
        .filter((p) => p.path.startsWith(prefix))
        .filter((p) => !onlyAttached || state.attachmentCount(partition, account.id, p.arn) > 0)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arn < b.arn ? -1 : 1));
      const { page, isTruncated, marker } = paginate(candidates, params);
      return {
        Policies: page.map((p) => policyXml(ctx, account, p, false)),
        IsTruncated: isTruncated,
        Marker: marker,
      };
    }
    case 'AttachRolePolicy':
    case 'AttachUserPolicy':
    case 'DetachRolePolicy':
    case 'DetachUserPolicy': {
      const kind = ctx.action.endsWith('RolePolicy') ? 'role' : 'user';
      const name = entityParam(kind);
      const policyArn = params.required('PolicyArn');
      checkPolicyArn(policyArn);
      await can(`iam:${ctx.action}`, kind === 'role' ? roleArn(name) : userArn(name), {
        'iam:PolicyARN': policyArn,
      });
      const entity = kind === 'role' ? needRole(name) : needUser(name);
      const attach = ctx.action.startsWith('Attach');
      if (attach) {
        if (!state.attachable(partition, account.id, policyArn)) {
          throw noSuchEntity(`Policy ${policyArn} does not exist or is not attachable.`);
        }
        if (!entity.attached.includes(policyArn)) {
          if (entity.attached.length >= MANAGED_POLICIES_PER_ENTITY) {
            throw new AwsError(
              'LimitExceeded',
              `Cannot exceed quota for ${kind === 'role' ? 'PoliciesPerRole' : 'PoliciesPerUser'}: ${MANAGED_POLICIES_PER_ENTITY}`,
              409,
            );
          }
          entity.attached.push(policyArn);
        }
      } else {
        const at = entity.attached.indexOf(policyArn);
        if (at < 0) throw noSuchEntity(`Policy ${policyArn} was not found.`);
        entity.attached.splice(at, 1);
      }
      return undefined;
    }
    case 'ListEntitiesForPolicy': {
      const arn = params.required('PolicyArn');
      checkPolicyArn(arn);
      await can('iam:ListEntitiesForPolicy', arn);
      visiblePolicy(ctx, account, arn);
      const filter = params.get('EntityFilter');
      const prefix = params.get('PathPrefix') ?? '/';
      const users = [...account.users.values()].filter(
        (u) => u.attached.includes(arn) && u.path.startsWith(prefix),
      );
      const roles = [...account.roles.values()].filter(
        (r) => r.attached.includes(arn) && r.path.startsWith(prefix),
      );
      return {
        PolicyGroups: [],
        PolicyUsers:
          filter === undefined || filter === 'User'
            ? users.map((u) => ({ UserName: u.name, UserId: u.id }))
            : [],
        PolicyRoles:
          filter === undefined || filter === 'Role'
            ? roles.map((r) => ({ RoleName: r.name, RoleId: r.id }))
            : [],
        IsTruncated: false,
      };
    }
    case 'CreateOpenIDConnectProvider': {
      const url = params.required('Url');
      await can('iam:CreateOpenIDConnectProvider', providerArn(partition, account.id, url));
      const provider = addOidcProvider(state, partition, account.id, {
        url,
        clientIds: params.list('ClientIDList'),
        thumbprints: params.list('ThumbprintList'),
        tags: params
          .structs('Tags')
          .map((t) => ({ key: t.required('Key'), value: t.get('Value') ?? '' })),
      });
      return { OpenIDConnectProviderArn: provider.arn, Tags: tagsXml(provider.tags) };
    }
    case 'GetOpenIDConnectProvider':
    case 'DeleteOpenIDConnectProvider': {
      const arn = params.required('OpenIDConnectProviderArn');
      if (!/^arn:[^:]+:iam::\d{12}:oidc-provider\/.+$/.test(arn)) {
        throw invalidInput(`ARN ${arn} is not valid.`);
      }
      await can(`iam:${ctx.action}`, arn);
      const provider = findOidcProvider(state, partition, arn);
      if (!provider || provider.accountId !== account.id) {
        throw noSuchEntity(`OpenIDConnect Provider not found for arn ${arn}`);
      }
      if (ctx.action === 'DeleteOpenIDConnectProvider') {
        account.oidcProviders.delete(provider.url);
        return undefined;
      }
      return {
        Url: provider.url,
        ClientIDList: provider.clientIds,
        ThumbprintList: provider.thumbprints,
        CreateDate: provider.createdAt,
        Tags: tagsXml(provider.tags),
      };
    }
    case 'ListOpenIDConnectProviders': {
      await can('iam:ListOpenIDConnectProviders', '*');
      return {
        OpenIDConnectProviderList: [...account.oidcProviders.values()].map((p) => ({ Arn: p.arn })),
      };
    }
    case 'SimulatePrincipalPolicy':
      return simulatePrincipalPolicy(ctx);
    case 'SimulateCustomPolicy': {
      await can('iam:SimulateCustomPolicy', '*');
      const inputs = policyInputs(params, 'PolicyInputList');
      if (inputs.length === 0) {
        throw validationError(
          "1 validation error detected: Value null at 'policyInputList' failed to satisfy constraint: Member must not be null",
        );
      }
      const principal = params.get('CallerArn') ?? caller.arn;
      return simulate(ctx, {
        principal,
        principalAccount: accountOfArn(principal, account.id),
        identityPolicies: inputs,
        scps: undefined,
      });
    }
    default:
      throw new AwsError(
        'InvalidAction',
        `Could not find operation ${ctx.action} for version 2010-05-08`,
        400,
      );
  }
}

/** A policy the caller's account may see: AWS-managed ones, or its own. */
function visiblePolicy(ctx: QueryContext, account: Account, arn: string): ManagedPolicy {
  const policy = ctx.state.findPolicy(ctx.partition, arn);
  if (!policy || (policy.owner !== 'aws' && policy.owner !== account.id)) {
    throw noSuchEntity(`Policy ${arn} does not exist or is not attachable.`);
  }
  return policy;
}

function policyXml(
  ctx: QueryContext,
  account: Account,
  policy: ManagedPolicy,
  withDescription: boolean,
): XmlValue {
  return {
    PolicyName: policy.name,
    PolicyId: policy.id,
    Arn: policy.arn,
    Path: policy.path,
    DefaultVersionId: policy.defaultVersionId,
    AttachmentCount: ctx.state.attachmentCount(ctx.partition, account.id, policy.arn),
    PermissionsBoundaryUsageCount: 0,
    IsAttachable: true,
    Description: withDescription ? policy.description : undefined,
    CreateDate: policy.createdAt,
    UpdateDate: policy.updatedAt,
  };
}

function policyInputs(params: QueryParams, name: string): NamedPolicy[] {
  return params.list(name).map((text, i) => {
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw malformedPolicy('The policy is not in the valid JSON format.');
    }
    const problems = validateIdentityPolicy(document);
    if (problems.length > 0) {
      throw malformedPolicy(
        `Syntax errors in policy. ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      );
    }
    return { name: `${name}.${i + 1}`, sourceType: 'none', policy: document as PolicyJson };
  });
}

async function simulatePrincipalPolicy(ctx: QueryContext): Promise<XmlValue> {
  const { params, caller, state, partition } = ctx;
  const source = params.required('PolicySourceArn');
  const match = /^arn:([^:]+):iam::(\d{12}):(user|role|group)(\/(?:.*\/)?)([^/]+)$/.exec(source);
  if (!match) throw invalidInput(`Invalid ARN: ${source}`);
  if (
    ctx.controls.deniedSimulators.has(caller.arn) ||
    ctx.controls.deniedSimulators.has(caller.principalArn)
  ) {
    throw accessDenied(
      `User: ${caller.arn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${source} because no identity-based policy allows the iam:SimulatePrincipalPolicy action`,
    );
  }
  await authorize(state, caller, ctx.region, 'iam:SimulatePrincipalPolicy', source);
  const [, arnPartition = '', accountId = '', kind = '', , name = ''] = match;
  const owner =
    arnPartition === partition ? state.existingAccount(partition, accountId) : undefined;
  const entity =
    kind === 'user' ? owner?.users.get(name) : kind === 'role' ? owner?.roles.get(name) : undefined;
  if (!entity || entity.arn !== source) {
    throw noSuchEntity(`The ${kind} with name ${name} cannot be found.`);
  }
  return simulate(ctx, {
    principal: entity.arn,
    principalAccount: entity.accountId,
    identityPolicies: [
      ...state.identityPolicies(entity),
      ...policyInputs(params, 'PolicyInputList'),
    ],
    scps: scpsOf(state, { partition, accountId: entity.accountId }),
  });
}

const LIST_TYPES = new Set([
  'stringList',
  'numericList',
  'booleanList',
  'ipList',
  'binaryList',
  'dateList',
]);

async function simulate(
  ctx: QueryContext,
  input: {
    principal: string;
    principalAccount: string;
    identityPolicies: NamedPolicy[];
    scps: EvaluationInput['scps'];
  },
): Promise<XmlValue> {
  const { params } = ctx;
  const actions = params.list('ActionNames');
  if (actions.length === 0) {
    throw validationError(
      "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null",
    );
  }
  const resources = params.list('ResourceArns');
  const resourceOwner = params.get('ResourceOwner');
  let resourcePolicy: PolicyJson | undefined;
  const resourcePolicyText = params.get('ResourcePolicy');
  if (resourcePolicyText !== undefined) {
    try {
      resourcePolicy = JSON.parse(resourcePolicyText) as PolicyJson;
    } catch {
      throw malformedPolicy('The resource policy is not in the valid JSON format.');
    }
    const problems = validateResourcePolicy(resourcePolicy);
    if (problems.length > 0) {
      throw malformedPolicy(
        `Syntax errors in resource policy. ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
      );
    }
  }
  const context: Context = {};
  for (const entry of params.structs('ContextEntries')) {
    const key = entry.get('ContextKeyName');
    if (!key) continue;
    const values = entry.list('ContextKeyValues');
    const type = entry.get('ContextKeyType') ?? 'string';
    context[key] = LIST_TYPES.has(type) ? values : (values[0] ?? '');
  }
  const fallbackAccount = resourceOwner
    ? accountOfArn(resourceOwner, input.principalAccount)
    : input.principalAccount;
  const results: { action: string; resource: string; evaluation: Evaluation }[] = [];
  for (const action of actions) {
    for (const resource of resources.length > 0 ? resources : ['*']) {
      const evaluation = await evaluate({
        principal: input.principal,
        action,
        resource,
        resourceAccountId: accountOfArn(resource, fallbackAccount),
        identityPolicies: input.identityPolicies,
        scps: input.scps,
        resourcePolicy,
        context,
      });
      results.push({ action, resource, evaluation });
    }
  }
  const { page, isTruncated, marker } = paginate(results, params);
  return {
    EvaluationResults: page.map(({ action, resource, evaluation }) => ({
      EvalActionName: action,
      EvalResourceName: resource,
      EvalDecision:
        evaluation.decision === 'Allowed'
          ? 'allowed'
          : evaluation.decision === 'ExplicitlyDenied'
            ? 'explicitDeny'
            : 'implicitDeny',
      MatchedStatements: evaluation.matched.map((m) => ({
        SourcePolicyId: m.sourcePolicyId,
        SourcePolicyType: m.sourcePolicyType,
      })),
      MissingContextValues: [],
      OrganizationsDecisionDetail: input.scps
        ? { AllowedByOrganizations: evaluation.allowedByOrganizations }
        : undefined,
    })),
    IsTruncated: isTruncated,
    Marker: marker,
  };
}
