import {
  type ActionIndex,
  type Bundle,
  isGlobalAction,
  type PartitionId,
  parseRoleArn,
  statementsFor,
  wildcardToRegExp,
} from '@onramp/core';
import type { BundleFinding } from '../../domain/account.ts';
import {
  type AccountCredentials,
  type AwsGateway,
  AwsProblem,
  type SimulationQuery,
  type SimulationResult,
} from '../../ports/aws-gateway.ts';

export interface PermissionCheckInput {
  partition: PartitionId;
  /** The role or user Onramp acts as. */
  principalArn: string;
  accountId: string;
  credentials: AccountCredentials;
  /** The tenant's chosen bundles (Onramp's own validation bundle is not re-checked here). */
  bundles: readonly Bundle[];
  regions: readonly string[];
  /** Whether the hub identity may evaluate documents when the principal cannot simulate itself. */
  hubAvailable: boolean;
}

export type PermissionOutcome =
  | {
      kind: 'verified';
      method: 'SimulatePrincipalPolicy' | 'SimulateCustomPolicy';
      findings: BundleFinding[];
      actionsChecked: number;
    }
  | {
      kind: 'unverified';
      reason: string;
      /** `refused`: AWS said no to every way of checking; `upstream`: AWS failed to answer. */
      cause: 'refused' | 'upstream';
      /** Whether any call of the check got an answer (a result or a refusal) before it gave up. */
      answered: boolean;
    };

/** How many action names one simulation request carries. */
const BATCH = 100;
/** Simulation requests in flight at once for one check. */
const CONCURRENCY = 16;
const EXAMPLE = 'onramp-check';

interface Probe {
  bundle: Bundle;
  action: string;
  resource: string;
  contextKey: string;
}

/**
 * Checks that the principal's policies grant what the chosen bundles need. First with
 * iam:SimulatePrincipalPolicy as the principal itself (Onramp's validation bundle grants it, scoped to
 * the principal's own ARN), which also reports organization SCPs. If AWS refuses that, it reads the
 * principal's own policies and has the hub identity evaluate them with iam:SimulateCustomPolicy (which
 * knows nothing of SCPs). If neither is possible the result is "unverified", with the reason.
 */
export async function checkPermissions(
  deps: { aws: AwsGateway; actions: ActionIndex },
  input: PermissionCheckInput,
  options: { signal?: AbortSignal } = {},
): Promise<PermissionOutcome> {
  const probes = await probesFor(deps.actions, input);
  const groups = new Map<string, { query: SimulationQuery; probes: Probe[] }>();
  for (const probe of probes) {
    let group = groups.get(probe.contextKey);
    if (!group) {
      group = {
        query: {
          actions: [],
          resourceArns: [probe.resource],
          context: JSON.parse(probe.contextKey.split('\n')[1] ?? '[]'),
        },
        probes: [],
      };
      groups.set(probe.contextKey, group);
    }
    if (!group.query.actions.includes(probe.action)) group.query.actions.push(probe.action);
    group.probes.push(probe);
  }
  const queries = [...groups.values()].flatMap((g) =>
    chunk(g.query.actions, BATCH).map((actions) => ({ ...g.query, actions })),
  );

  /** Whether any call answered (a result or a refusal). */
  let answered = false;
  const heard = <T>(value: T): T => {
    answered = true;
    return value;
  };
  // The first failure decides the outcome: the other simulations in flight are cut, none is started.
  const runAll = (
    simulate: (q: SimulationQuery, signal: AbortSignal) => Promise<SimulationResult[]>,
  ) =>
    mapLimit(
      queries,
      CONCURRENCY,
      (q, signal) => simulate(q, signal).then(heard),
      options.signal,
    ).catch((error: unknown) => {
      if (error instanceof AwsProblem || !options.signal?.aborted) throw error;
      throw new AwsProblem(
        'upstream',
        'permissions',
        'cancelled',
        'Onramp stopped waiting for AWS: the answer was no longer needed.',
      );
    });
  /** AWS did not answer (5xx, an unreadable body, a timeout, throttling past the retries). */
  const upstream = (call: string, error: AwsProblem): PermissionOutcome => ({
    kind: 'unverified',
    cause: 'upstream',
    answered,
    reason: `AWS did not answer ${call}, so the permissions could not be simulated: ${error.message}`,
  });
  let method: 'SimulatePrincipalPolicy' | 'SimulateCustomPolicy' = 'SimulatePrincipalPolicy';
  let results: SimulationResult[][];
  try {
    results = await runAll((q, signal) =>
      deps.aws.simulatePrincipalPolicy(input.partition, input.credentials, input.principalArn, q, {
        signal,
      }),
    );
  } catch (error) {
    if (!(error instanceof AwsProblem)) throw error;
    if (error.kind === 'upstream') return upstream('iam:SimulatePrincipalPolicy', error);
    answered = true;
    if (!input.hubAvailable) {
      return {
        kind: 'unverified',
        cause: 'refused',
        answered,
        reason: `AWS refused iam:SimulatePrincipalPolicy (${error.awsCode ?? error.code}), and without a hub identity in this partition Onramp cannot evaluate the policies another way.`,
      };
    }
    let documents: string[];
    try {
      const policies = await deps.aws.readPrincipalPolicies(
        input.partition,
        input.credentials,
        input.principalArn,
        options.signal ? { signal: options.signal } : {},
      );
      documents = policies.map((p) => p.document);
    } catch (readError) {
      if (!(readError instanceof AwsProblem)) throw readError;
      if (readError.kind === 'upstream')
        return upstream(`reading the ${principalKind(input.principalArn)}’s policies`, readError);
      return {
        kind: 'unverified',
        cause: 'refused',
        answered,
        reason: `AWS refused both iam:SimulatePrincipalPolicy and reading the ${principalKind(input.principalArn)}’s own policies (${readError.awsCode ?? readError.code}). Attach the validation statements from the template so the platform can check permissions.`,
      };
    }
    if (documents.length === 0) {
      return {
        kind: 'verified',
        method: 'SimulateCustomPolicy',
        findings: findingsFrom(probes, () => ({ allowed: false, scp: false })),
        actionsChecked: probes.length,
      };
    }
    method = 'SimulateCustomPolicy';
    try {
      results = await runAll((q, signal) =>
        deps.aws.simulateCustomPolicy(input.partition, documents, q, { signal }),
      );
    } catch (customError) {
      if (!(customError instanceof AwsProblem) || customError.kind !== 'upstream')
        throw customError;
      return upstream('iam:SimulateCustomPolicy', customError);
    }
  }

  const decisions = new Map<string, SimulationResult>();
  for (const result of results.flat())
    decisions.set(`${result.action.toLowerCase()} ${result.resource}`, result);
  const findings = findingsFrom(probes, (probe) => {
    const result =
      decisions.get(`${probe.action.toLowerCase()} ${probe.resource}`) ??
      decisions.get(`${probe.action.toLowerCase()} *`);
    return {
      allowed: result?.decision === 'allowed',
      scp: result?.allowedByOrganizations === false,
    };
  });
  return { kind: 'verified', method, findings, actionsChecked: probes.length };
}

function findingsFrom(
  probes: Probe[],
  judge: (probe: Probe) => { allowed: boolean; scp: boolean },
): BundleFinding[] {
  const byBundle = new Map<string, BundleFinding>();
  for (const probe of probes) {
    let finding = byBundle.get(probe.bundle.id);
    if (!finding) {
      finding = {
        bundleId: probe.bundle.id,
        bundleName: probe.bundle.name,
        missing: [],
        deniedByScp: [],
      };
      byBundle.set(probe.bundle.id, finding);
    }
    const verdict = judge(probe);
    if (verdict.allowed) continue;
    const list = verdict.scp ? finding.deniedByScp : finding.missing;
    if (!list.includes(probe.action)) list.push(probe.action);
  }
  for (const finding of byBundle.values()) {
    finding.missing.sort();
    finding.deniedByScp.sort();
  }
  return [...byBundle.values()];
}

/**
 * Every concrete action of every chosen statement, with a resource to try it on and the context that
 * makes its conditions apply (an allowed region where regions are limited; the catalog's own condition
 * values). Wildcards are expanded against AWS's action list: simulation takes only real action names.
 */
async function probesFor(index: ActionIndex, input: PermissionCheckInput): Promise<Probe[]> {
  const probes: Probe[] = [];
  const principalName = input.principalArn.split('/').at(-1) ?? '';
  const role = parseRoleArn(input.principalArn);
  const rolePath = role.ok ? role.value.path : '/';
  const kind = role.ok ? 'role' : 'user';
  for (const bundle of input.bundles) {
    // The statements for this kind of principal, `{{self}}` being the principal's own ARN.
    for (const statement of statementsFor(bundle, kind, input.principalArn)) {
      const actions = (await Promise.all(statement.actions.map((a) => expand(index, a)))).flat();
      for (const rawResource of statement.resources) {
        const resource =
          rawResource === '*'
            ? '*'
            : rawResource
                .replaceAll('{{partition}}', input.partition)
                .replaceAll('{{account_id}}', input.accountId)
                .replaceAll('{{role_path}}', rolePath)
                .replaceAll('{{role_name}}', principalName)
                .replaceAll('${aws:username}', principalName)
                .replace(/\*/g, EXAMPLE);
        for (const action of actions) {
          const context: SimulationQuery['context'] = [];
          // The simulator does not fill policy variables itself: a user's own `${aws:username}`
          // statements (Onramp's, and `{{self}}` ones) match only with the name given.
          if (kind === 'user')
            context.push({ key: 'aws:username', values: [principalName], type: 'string' });
          for (const keys of Object.values(statement.conditions ?? {})) {
            for (const [key, value] of Object.entries(keys)) {
              const first = Array.isArray(value) ? value[0] : value;
              context.push({ key, values: [String(first)], type: 'string' });
            }
          }
          const region = input.regions[0];
          if (region && !isGlobalAction(action))
            context.push({ key: 'aws:RequestedRegion', values: [region], type: 'string' });
          probes.push({
            bundle,
            action,
            resource,
            contextKey: `${resource}\n${JSON.stringify(context)}`,
          });
        }
      }
    }
  }
  return probes;
}

async function expand(index: ActionIndex, action: string): Promise<string[]> {
  if (!/[*?]/.test(action)) return [action];
  const [service = '', name = ''] = action.split(':');
  const pattern = wildcardToRegExp(name);
  return ((await index.actionsOf(service)) ?? [])
    .filter((a) => pattern.test(a))
    .map((a) => `${service}:${a}`);
}

function principalKind(arn: string): string {
  return arn.includes(':role/') ? 'role' : 'user';
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs fn over items with at most `limit` in flight; results in input order. The first failure (or
 * `parent` aborting) aborts the signal every call was given and starts no more: it rejects with that
 * first failure once every call has settled, so nothing it started outlives it.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, signal: AbortSignal) => Promise<R>,
  parent?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  const controller = new AbortController();
  const stop = () => controller.abort();
  parent?.addEventListener('abort', stop, { once: true });
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < items.length && !controller.signal.aborted) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, controller.signal);
      } catch (error) {
        failure ??= { error };
        controller.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  } finally {
    parent?.removeEventListener('abort', stop);
  }
  if (failure) throw failure.error;
  if (next < items.length) throw parent?.reason ?? new Error('aborted');
  return results;
}
