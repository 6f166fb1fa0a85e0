/**
 * Policy evaluation with the IAM simulator (@cloud-copilot/iam-simulate, AGPL: a devDependency, used
 * only because this package is test tooling), and the authorization of callers built on it.
 */
import {
  anonymousPrincipal,
  type RequestAnalysis,
  type RunSimulationResults,
  runSimulation,
  runUnsafeSimulation,
  type Simulation,
} from '@cloud-copilot/iam-simulate';
import { accessDenied, invalidInput } from './errors.ts';
import type { Context, Evaluation, EvaluationInput, MatchedStatement } from './evaluation.ts';
import { conditionKeysOf, evaluateFast, hasServiceKeys } from './fast-evaluate.ts';
import type { Caller, LoopbackState, NamedPolicy, PolicyJson } from './state.ts';

export type {
  Context,
  Decision,
  Evaluation,
  EvaluationInput,
  MatchedStatement,
} from './evaluation.ts';

const FULL_AWS_ACCESS = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

export const ALLOW_ALL: PolicyJson = FULL_AWS_ACCESS;

function analysesOf(result: RunSimulationResults): RequestAnalysis[] {
  if (result.resultType === 'single') return [result.result.analysis];
  if (result.resultType === 'wildcard') return result.results.map((r) => r.analysis);
  return [];
}

/**
 * The simulator refuses a resource that does not fit the action's resource types (an S3 ARN for
 * ec2:RunInstances, an ARN for a wildcard-only action). AWS simply matches strings in that case, so
 * those requests are evaluated without the simulator's checks (no statement details then).
 */
const LENIENT_ERRORS = new Set([
  'no.resource.types',
  'must.use.wildcard',
  'multiple.resource.types',
]);

function evaluateUnchecked(simulation: Simulation, input: EvaluationInput): Evaluation {
  const { sessionPolicy, ...rest } = simulation;
  const without = { ...rest, serviceControlPolicies: [] };
  const identity = runUnsafeSimulation(without, {});
  const session = sessionPolicy
    ? runUnsafeSimulation(
        { ...without, identityPolicies: [{ name: 'session', policy: sessionPolicy }] },
        {},
      )
    : 'Allowed';
  const scp = input.scps
    ? runUnsafeSimulation(
        {
          ...rest,
          identityPolicies: [{ name: 'all', policy: FULL_AWS_ACCESS }],
          resourcePolicy: undefined,
        },
        {},
      )
    : 'Allowed';
  const layers = [
    ['scp', scp],
    ['identity', identity],
    ['session', session],
  ] as const;
  const explicitLayer = layers.find(([, r]) => r === 'ExplicitlyDenied');
  const refusedLayer = explicitLayer ?? layers.find(([, r]) => r !== 'Allowed');
  return {
    decision: explicitLayer ? 'ExplicitlyDenied' : refusedLayer ? 'ImplicitlyDenied' : 'Allowed',
    allowedByOrganizations: scp === 'Allowed',
    refusedBy: refusedLayer?.[0],
    explicit: explicitLayer !== undefined,
    matched: [],
  };
}

function namedInputs(input: EvaluationInput) {
  const names = new Map<string, NamedPolicy>();
  const identityPolicies = input.identityPolicies.map((p, i) => {
    const name = `identity-${i + 1}`;
    names.set(name, p);
    return { name, policy: p.policy };
  });
  return { names, identityPolicies };
}

/**
 * How AWS would decide the request: by the compiled evaluator when it understands every policy
 * involved, else by the full simulator.
 */
export async function evaluate(input: EvaluationInput): Promise<Evaluation> {
  const { names } = namedInputs(input);
  const keys = hasServiceKeys(input.context) ? await conditionKeysOf(input.action) : undefined;
  return evaluateFast(input, names, keys) ?? evaluateWithSimulator(input);
}

/** The full simulator's decision (the reference the compiled evaluator is tested against). */
export async function evaluateWithSimulator(input: EvaluationInput): Promise<Evaluation> {
  const { names, identityPolicies } = namedInputs(input);
  const simulation: Simulation = {
    request: {
      principal: input.principal,
      action: input.action,
      resource: { resource: input.resource, accountId: input.resourceAccountId },
      contextVariables: input.context,
    },
    identityPolicies,
    serviceControlPolicies: input.scps
      ? [
          {
            orgIdentifier: input.principal.split(':')[4] ?? 'account',
            policies: [
              ...(input.scps.replaceFullAccess
                ? []
                : [{ name: 'FullAWSAccess', policy: FULL_AWS_ACCESS }]),
              ...input.scps.documents.map((policy, i) => ({ name: `scp-${i + 1}`, policy })),
            ],
          },
        ]
      : [],
    resourceControlPolicies: [],
    ...(input.sessionPolicy ? { sessionPolicy: input.sessionPolicy } : {}),
    ...(input.resourcePolicy ? { resourcePolicy: input.resourcePolicy } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === 'error' && LENIENT_ERRORS.has(result.errors.message)) {
    return evaluateUnchecked(simulation, input);
  }
  if (result.resultType === 'error') {
    const detail = JSON.stringify(result.errors);
    throw invalidInput(`The policy simulation could not run: ${result.errors.message} ${detail}`);
  }
  const decision = result.overallResult;
  const analyses = analysesOf(result);
  const scpResults = analyses.map((a) => a.scpAnalysis?.result ?? 'Allowed');
  const allowedByOrganizations = !input.scps || scpResults.every((r) => r === 'Allowed');
  let refusedBy: Evaluation['refusedBy'];
  let explicit = false;
  if (decision !== 'Allowed') {
    const layers = [
      ['scp', (a: RequestAnalysis) => a.scpAnalysis?.result],
      ['identity', (a: RequestAnalysis) => a.identityAnalysis?.result],
      ['session', (a: RequestAnalysis) => a.sessionAnalysis?.result],
      ['resource', (a: RequestAnalysis) => a.resourceAnalysis?.result],
    ] as const;
    const explicitLayer = layers.find(([, get]) =>
      analyses.some((a) => get(a) === 'ExplicitlyDenied'),
    );
    if (explicitLayer) {
      refusedBy = explicitLayer[0];
      explicit = true;
    } else {
      refusedBy = layers.find(([, get]) =>
        analyses.some((a) => get(a) !== undefined && get(a) !== 'Allowed'),
      )?.[0];
    }
  }
  const matched: MatchedStatement[] = [];
  const seen = new Set<string>();
  for (const analysis of analyses) {
    const statements =
      decision === 'ExplicitlyDenied'
        ? (analysis.identityAnalysis?.denyStatements ?? [])
        : decision === 'Allowed'
          ? (analysis.identityAnalysis?.allowStatements ?? [])
          : [];
    for (const statement of statements) {
      const named = names.get(statement.policyId);
      const id = named?.name ?? statement.policyId;
      if (seen.has(id)) continue;
      seen.add(id);
      matched.push({ sourcePolicyId: id, sourcePolicyType: named?.sourceType ?? 'none' });
    }
    if (decision === 'Allowed' && analysis.resourceAnalysis?.allowStatements.length) {
      if (!seen.has('resource')) {
        seen.add('resource');
        matched.push({ sourcePolicyId: 'ResourcePolicy', sourcePolicyType: 'resource' });
      }
    }
  }
  return { decision, allowedByOrganizations, refusedBy, explicit, matched };
}

/**
 * Whether a resource policy lets an unsigned request in (S3's public read): the simulator's anonymous
 * principal matches only `"*"` and `{"AWS": "*"}` principals, as AWS does.
 */
export async function evaluateAnonymous(
  action: string,
  resource: string,
  ownerAccountId: string | undefined,
  resourcePolicy: PolicyJson,
): Promise<boolean> {
  const result = await runSimulation(
    {
      request: {
        principal: anonymousPrincipal,
        action,
        resource: { resource, accountId: ownerAccountId ?? '000000000000' },
        contextVariables: { 'aws:SecureTransport': 'true' },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
    },
    {},
  );
  return result.resultType !== 'error' && result.overallResult === 'Allowed';
}

/** Request context AWS fills in from the caller (global condition keys). */
export function callerContext(caller: Caller, region: string): Context {
  const now = new Date();
  const context: Context = {
    'aws:PrincipalArn': caller.principalArn,
    'aws:PrincipalAccount': caller.accountId,
    'aws:PrincipalType':
      caller.kind === 'root' ? 'Account' : caller.kind === 'user' ? 'User' : 'AssumedRole',
    'aws:userid': caller.userId,
    'aws:RequestedRegion': region,
    'aws:SecureTransport': 'true',
    'aws:CurrentTime': now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
    'aws:PrincipalIsAWSService': 'false',
    'aws:ViaAWSService': 'false',
  };
  if (caller.kind === 'user' && caller.user) context['aws:username'] = caller.user.name;
  const tags = caller.user?.tags ?? caller.role?.tags ?? [];
  for (const tag of tags) context[`aws:PrincipalTag/${tag.key}`] = tag.value;
  const session = caller.session;
  if (session) {
    context['aws:MultiFactorAuthPresent'] = session.mfa ? 'true' : 'false';
    context['aws:TokenIssueTime'] = new Date(session.issuedAt)
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
    if (session.source.kind === 'assumed-role') {
      for (const tag of session.source.tags) context[`aws:PrincipalTag/${tag.key}`] = tag.value;
      if (session.source.sourceIdentity)
        context['aws:SourceIdentity'] = session.source.sourceIdentity;
    }
  }
  return context;
}

/** The identity-based policies that apply to a caller, and its session policy. */
export function callerPolicies(
  caller: Caller,
  state: LoopbackState,
): { identityPolicies: NamedPolicy[]; sessionPolicy: PolicyJson | undefined } {
  if (caller.kind === 'root') {
    return {
      identityPolicies: [{ name: 'root', sourceType: 'none', policy: ALLOW_ALL }],
      sessionPolicy: undefined,
    };
  }
  if (caller.kind === 'user') {
    return {
      identityPolicies: caller.user ? state.identityPolicies(caller.user) : [],
      sessionPolicy: undefined,
    };
  }
  const source = caller.session?.source;
  return {
    identityPolicies: caller.role ? state.identityPolicies(caller.role) : [],
    sessionPolicy: source?.kind === 'assumed-role' ? source.sessionPolicy : undefined,
  };
}

export function scpsOf(
  state: LoopbackState,
  caller: { partition: Caller['partition']; accountId: string },
): EvaluationInput['scps'] {
  const account = state.existingAccount(caller.partition, caller.accountId);
  if (!account?.scps) return undefined;
  return { documents: account.scps, replaceFullAccess: account.scpReplacesFullAccess };
}

/** The account an ARN names, or a fallback for ARNs without one (`*`, S3). */
export function accountOfArn(arn: string, fallback: string): string {
  const account = arn.split(':')[4] ?? '';
  return /^\d{12}$/.test(account) ? account : fallback;
}

/** Why AWS refused, in the words its messages use. */
export function reasonText(evaluation: Evaluation, action: string): string {
  const where = {
    scp: 'service control policy',
    identity: 'identity-based policy',
    session: 'session policy',
    resource: 'resource-based policy',
  } as const;
  const layer = where[evaluation.refusedBy ?? 'identity'];
  return evaluation.explicit
    ? `with an explicit deny in a ${layer}`
    : `because no ${layer} allows the ${action} action`;
}

/**
 * Refuses with AccessDenied unless the caller's identity policies (and session policy, and the account's
 * SCPs) allow the action on the resource, as AWS authorizes every API call.
 */
export async function authorize(
  state: LoopbackState,
  caller: Caller,
  region: string,
  action: string,
  resource: string,
  extraContext: Context = {},
  resourcePolicy?: PolicyJson,
  resourceAccountId?: string,
): Promise<Evaluation> {
  const { identityPolicies, sessionPolicy } = callerPolicies(caller, state);
  const evaluation = await evaluate({
    principal: caller.arn,
    action,
    resource,
    resourceAccountId: resourceAccountId ?? accountOfArn(resource, caller.accountId),
    identityPolicies,
    sessionPolicy,
    scps: scpsOf(state, caller),
    resourcePolicy,
    context: { ...callerContext(caller, region), ...extraContext },
  });
  if (evaluation.decision !== 'Allowed') {
    throw accessDenied(
      `User: ${caller.arn} is not authorized to perform: ${action} on resource: ${resource} ${reasonText(evaluation, action)}`,
    );
  }
  return evaluation;
}
