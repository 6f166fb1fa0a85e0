import {
  type ActionIndex,
  type Bundle,
  checkSecretAccessKey,
  getPartition,
  type PartitionId,
  parseAccessKeyId,
  parseRoleArn,
} from '@onramp/core';
import type { AccountStatus, BundleFinding, Check } from '../../domain/account.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import {
  type AccountCredentials,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
} from '../../ports/aws-gateway.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { principalOf } from '../accounts/permission-grants.ts';
import type { MetricsRegistry } from '../metrics/metrics-registry.ts';
import { recordValidationChecks } from '../metrics/onramp-metrics.ts';
import {
  askAws,
  faultError,
  refusalError,
  type WebIdentityTrust,
  webIdentityConditionText,
  webIdentityRefusal,
} from './aws-refusals.ts';
import { type ExtraPermissions, extraPermissions } from './extra-permissions.ts';
import { checkPermissions, type PermissionOutcome } from './permissions-check.ts';
import {
  assumeKeylessRole,
  issuerMissing,
  otherAudience,
  webIdentityTrustOf,
} from './web-identity-session.ts';

/**
 * The checks that stand between what a tenant typed and a stored account. Each step is recorded with
 * its outcome and duration, so the console can show what was checked, what failed and why; a step
 * whose prerequisite failed is recorded as skipped, never as passed.
 */

export type CredentialsInput =
  | { method: 'access_keys'; partition: PartitionId; accessKeyId: string; secretAccessKey: string }
  | { method: 'role'; partition: PartitionId; roleArn: string; externalId: string }
  | {
      method: 'oidc_role';
      partition: PartitionId;
      roleArn: string;
      /** Whose connection the role trusts: the subject of the tokens Onramp mints for it. */
      tenantId: string;
      connectionId: string;
    };

/** The credentials as they are stored when validation passes: trimmed, with the identity they proved. */
export type ValidatedCredentials =
  | { method: 'access_keys'; accessKeyId: string; secretAccessKey: string }
  | { method: 'role'; roleArn: string }
  | { method: 'oidc_role'; roleArn: string };

export interface ValidationReport {
  valid: boolean;
  /**
   * What the account's health is after this check: invalid (cannot be used), degraded (works, but
   * lacks actions of its bundles), unverified (works, permissions could not be checked), valid.
   */
  status: AccountStatus;
  /** Per bundle, the actions missing or denied by an SCP (empty when all are granted or unverified). */
  findings: BundleFinding[];
  identity: CallerIdentity | null;
  checks: Check[];
  errors: ProblemFieldError[];
  /**
   * Steps AWS failed to answer (5xx, an unreadable body, a timeout, throttling past the retries): an
   * `error` check, or the permissions step `unverified`. Never the tenant's fault, never a finding.
   */
  faults: { step: string; error: ProblemFieldError }[];
  /**
   * The identity (and for a role, that it requires the external ID) was proven, and nothing but the
   * permission findings stand in the way: no other error, no step AWS left undecided. A report that
   * is proven but degraded can be saved when the tenant accepts the missing permissions.
   */
  proven: boolean;
  /** Present when proven (valid, or only permissions missing). */
  credentials: ValidatedCredentials | null;
  /**
   * When asked for (`readExtra`) and the principal's policies could be read: the actions they allow
   * that no chosen bundle needs. Undefined otherwise; reading them never fails a validation.
   */
  extra?: ExtraPermissions[] | undefined;
}

export interface ValidationDeps {
  aws: AwsGateway;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  /** Onramp's OpenID Connect issuer: keyless roles (`oidc_role`) are assumed with its tokens. */
  webIdentity?: WebIdentityIssuer | undefined;
  /** AWS's action list, to expand the bundles' wildcards into actions that can be simulated. */
  actions: ActionIndex;
  /** Injected so tests of the propagation wait run in no time. */
  sleep?: (ms: number) => Promise<void>;
  /** Counts each check by its result (onramp_validation_checks_total). */
  metrics?: MetricsRegistry;
}

export interface ValidationOptions {
  /** When replacing credentials: the AWS account they must belong to. */
  expectedAccountId?: string;
  /** The permissions to check: the account's bundles and region restriction. */
  permissions?: { bundles: readonly Bundle[]; regions: readonly string[] };
  /**
   * A role created seconds ago (a stack that just finished) is refused by STS for 10–30 s while IAM
   * propagates it. In a set-up flow, retry AssumeRole with backoff for about a minute.
   */
  waitForPropagation?: boolean;
  /** Also read the principal's own policies for actions no chosen bundle needs (report.extra). */
  readExtra?: boolean;
  /**
   * Aborted when the answer is no longer wanted (the client went away): every AWS call in flight is
   * cut, and validation ends with an error rather than a report.
   */
  signal?: AbortSignal | undefined;
}

/** Backoff between AssumeRole attempts while IAM propagates a new role: about 62 s in all. */
export const PROPAGATION_BACKOFF_MS = [1000, 2000, 3000, 5000, 8000, 13000, 15000, 15000];

export const VALIDATION_SESSION_NAME = 'onramp-validate';

type StepOutcome<T> =
  | { status: 'passed' | 'warning'; detail: string; value: T }
  | { status: 'failed'; detail: string; errors: ProblemFieldError[] }
  | { status: 'error'; detail: string; fault: ProblemFieldError }
  | { status: 'skipped'; detail: string };

/** Records each step; a step whose input is missing (an earlier step failed) is recorded as skipped. */
function createRecorder() {
  const checks: Check[] = [];
  const errors: ProblemFieldError[] = [];
  const faults: ValidationReport['faults'] = [];
  return {
    checks,
    errors,
    faults,
    async step<I, T>(
      name: string,
      input: I | undefined,
      run: (input: I) => Promise<StepOutcome<T>> | StepOutcome<T>,
    ): Promise<T | undefined> {
      if (input === undefined) {
        checks.push({
          name,
          status: 'skipped',
          detail: faults.length
            ? 'Skipped: an earlier check could not be completed.'
            : 'Skipped: an earlier check failed.',
          durationMs: 0,
        });
        return undefined;
      }
      // The slot is taken when the step starts, so steps run side by side still report in order.
      const slot = checks.push({ name, status: 'skipped', detail: '', durationMs: 0 }) - 1;
      const started = performance.now();
      const outcome = await run(input);
      checks[slot] = {
        name,
        status: outcome.status,
        detail: outcome.detail,
        durationMs: Math.round(performance.now() - started),
      };
      if (outcome.status === 'failed') errors.push(...outcome.errors);
      if (outcome.status === 'error') faults.push({ step: name, error: outcome.fault });
      return outcome.status === 'passed' || outcome.status === 'warning'
        ? outcome.value
        : undefined;
    },
  };
}

/**
 * Runs the pipeline. AWS refusing something is a finding (a failed check with a field error); AWS not
 * answering a step is not the tenant's fault: that step alone is `error` (the permissions step
 * `unverified`), with the reason, and what the other steps found stands. Only when no AWS call
 * answered at all does it end as a 502 `upstream_unavailable` problem (with the checks). Any other
 * error propagates unchanged (a 500 without details).
 *
 * Every AWS call carries one signal: once the outcome is decided (or the caller's signal aborts), the
 * calls still in flight are cut, and none outlives the validation.
 */
export async function validateCredentials(
  deps: ValidationDeps,
  input: CredentialsInput,
  options: ValidationOptions = {},
): Promise<ValidationReport> {
  const cut = new AbortController();
  const stop = () => cut.abort();
  options.signal?.addEventListener('abort', stop, { once: true });
  try {
    const report = await runValidation(deps, input, options, cut);
    if (options.signal?.aborted) throw cancelled();
    return report;
  } catch (error) {
    if (options.signal?.aborted) throw cancelled();
    throw error;
  } finally {
    options.signal?.removeEventListener('abort', stop);
    stop();
  }
}

function cancelled(): AppError {
  return new AppError(
    'upstream_unavailable',
    'The request was cancelled before validation finished; nothing was changed.',
  );
}

async function runValidation(
  deps: ValidationDeps,
  input: CredentialsInput,
  options: ValidationOptions,
  cut: AbortController,
): Promise<ValidationReport> {
  const signal = cut.signal;
  /** Whether any AWS call answered (a result or a refusal): if none did, nothing was learned. */
  let answered = false;
  const tryAws = async <T>(call: () => Promise<T>): Promise<{ value: T } | AwsProblem> => {
    const result = await askAws(call);
    if (!(result instanceof AwsProblem) || result.kind === 'rejected') answered = true;
    return result;
  };
  /** Set when a definite finding makes the rest moot: the calls still running are cut. */
  let decided: string | undefined;
  const recorder = createRecorder();
  const { step } = recorder;
  let identity: CallerIdentity | undefined;
  let credentials: ValidatedCredentials | undefined;
  /** Credentials to act as the account: its keys, or the validation session of its role. */
  let session: AccountCredentials | undefined;
  let outcome: PermissionOutcome | undefined;
  let extra: ExtraPermissions[] | undefined;

  /** Not a step: what it finds is advice, and AWS refusing or failing it changes nothing. */
  const readExtra = async (
    who: { principalArn: string; credentials: AccountCredentials } | undefined,
  ): Promise<void> => {
    const chosen = options.permissions;
    if (!options.readExtra || !who || !chosen || chosen.bundles.length === 0) return;
    try {
      const policies = await deps.aws.readPrincipalPolicies(
        input.partition,
        who.credentials,
        who.principalArn,
        { signal },
      );
      extra = extraPermissions(policies, chosen.bundles, principalOf(input.method));
    } catch {
      extra = undefined;
    }
  };

  const permissionsStep = (
    subject:
      | { principalArn: string; credentials: AccountCredentials; identity: CallerIdentity }
      | undefined,
  ) =>
    step('permissions', subject, async (who) => {
      const chosen = options.permissions;
      if (!chosen || chosen.bundles.length === 0) {
        return {
          status: 'skipped' as const,
          detail: 'No bundles chosen: nothing to check beyond the platform’s own statements.',
        };
      }
      const result = await tryAws(() =>
        checkPermissions(
          deps,
          {
            partition: input.partition,
            principalArn: who.principalArn,
            accountId: who.identity.accountId,
            credentials: who.credentials,
            bundles: chosen.bundles,
            regions: chosen.regions,
            hubAvailable: Boolean(deps.hubs[input.partition]),
          },
          { signal },
        ),
      );
      if (decided) return { status: 'skipped' as const, detail: `Stopped: ${decided}` };
      if (result instanceof AwsProblem)
        return result.kind === 'upstream' ? upstream(result) : refused(result);
      if (result.value.kind === 'unverified' && result.value.cause === 'upstream') {
        answered ||= result.value.answered;
        recorder.faults.push({
          step: 'permissions',
          error: {
            field: 'permissions',
            code: 'upstream_unavailable',
            message: result.value.reason,
          },
        });
      } else answered = true;
      // Kept whatever the step's verdict: a failed check still says which actions are missing.
      outcome = result.value;
      return permissionOutcomeStep(result.value, principalOf(input.method));
    });

  if (input.method === 'access_keys') {
    const keys = await step('shape', input, (given) => {
      const id = parseAccessKeyId(given.accessKeyId, 'accessKeyId');
      const secret = checkSecretAccessKey(given.secretAccessKey, 'secretAccessKey');
      if (!id.ok || !secret.ok) {
        const issues = [id, secret].flatMap((r) => (r.ok ? [] : [r.issue]));
        return failed('The access key is not shaped like one.', issues);
      }
      return passed('A long-term access key ID (AKIA…) and a 40-character secret.', {
        accessKeyId: id.value.accessKeyId,
        secretAccessKey: secret.value,
      });
    });
    identity = await step('identity', keys, async (k) => {
      const found = await tryAws(() => deps.aws.identifyKeys(input.partition, k, { signal }));
      if (found instanceof AwsProblem && found.kind === 'upstream') return upstream(found);
      if (found instanceof AwsProblem) {
        const home =
          found.code === 'InvalidClientTokenId'
            ? await partitionOfKeys(deps.aws, input.partition, k, signal)
            : undefined;
        if (home) {
          return failed('The keys belong to another partition.', [
            {
              field: 'partition',
              code: 'wrong_partition',
              message: `These keys belong to ${getPartition(home).displayName}, not to ${getPartition(input.partition).displayName}: keys work only in their own partition.`,
              hint: `Choose ${getPartition(home).displayName} as the partition.`,
              suggestion: home,
            },
          ]);
        }
        return refused(found);
      }
      if (isRootArn(found.value.arn)) {
        return failed('These are the root user’s keys.', [
          {
            field: 'accessKeyId',
            code: 'root_access_key',
            message:
              'These are the root user’s access keys. The platform refuses them: they can do anything in the account and cannot be limited.',
            hint: 'Create a dedicated IAM user for the platform with only the permissions it needs, create an access key for that user, and delete the root user’s key.',
          },
        ]);
      }
      return (
        accountMismatch(found.value, options, 'accessKeyId') ??
        passed(`AWS knows these keys: ${found.value.arn}.`, found.value)
      );
    });
    if (keys && identity) {
      credentials = { method: 'access_keys', ...keys };
      session = keys;
    }
  } else if (input.method === 'oidc_role') {
    const keyless = input;
    const roleArn = await step('shape', keyless, (given) => {
      const parsed = parseRoleArn(given.roleArn, { field: 'roleArn', partition: given.partition });
      if (!parsed.ok) return failed('The role ARN cannot be used here.', [parsed.issue]);
      return passed(
        `An IAM role ARN in ${getPartition(given.partition).displayName}.`,
        parsed.value.arn,
      );
    });
    const trust = await step('issuer', roleArn, (arn) => {
      const found = webIdentityTrustOf(deps.webIdentity, {
        partition: keyless.partition,
        tenantId: keyless.tenantId,
        connectionId: keyless.connectionId,
        accountId: arn.split(':')[4] ?? '',
      });
      if (!found) {
        // An account connected earlier is not invalid because the operator's issuer went away:
        // that check is undecided (the account goes stale), not failed.
        if (options.expectedAccountId) return upstream(issuerMissing(deps.webIdentity));
        return failed('The platform has no OpenID Connect issuer.', [
          noIssuerIssue(deps.webIdentity?.unavailableReason ?? null),
        ]);
      }
      return passed(
        `The platform signs a token for ${found.subject} (audience ${found.audience}) with its issuer ${found.issuer}.`,
        found,
      );
    });
    const target = (arn: string) => ({
      partition: keyless.partition,
      roleArn: arn,
      tenantId: keyless.tenantId,
      connectionId: keyless.connectionId,
    });
    const assumed = await step(
      'identity',
      roleArn && trust ? { arn: roleArn, trust } : undefined,
      async ({ arn, trust: t }) => {
        const attempt = () =>
          tryAws(() =>
            assumeKeylessRole(
              deps,
              target(arn),
              { sessionName: VALIDATION_SESSION_NAME },
              { signal },
            ),
          );
        let found = await attempt();
        let waited = 0;
        if (options.waitForPropagation) {
          // A role or provider a stack created seconds ago: refused until IAM propagates it.
          for (const delay of PROPAGATION_BACKOFF_MS) {
            if (!(found instanceof AwsProblem) || !PROPAGATING_CODES.has(found.code)) break;
            await (deps.sleep ?? defaultSleep)(delay);
            waited += delay;
            found = await attempt();
          }
        }
        if (found instanceof AwsProblem && found.kind === 'upstream') return upstream(found);
        if (found instanceof AwsProblem) {
          const error = webIdentityRefusal(found, t, {
            connected: options.expectedAccountId !== undefined,
          });
          return failed(
            waited
              ? `Waited ${Math.round(waited / 1000)} s for AWS to propagate the role; it still refused.`
              : 'AWS refused.',
            [error],
          );
        }
        const who = found.value.identity;
        const note = waited
          ? ` (after waiting ${Math.round(waited / 1000)} s for AWS to propagate the role)`
          : '';
        return (
          accountMismatch(who, options, 'roleArn') ??
          passed(
            `The platform assumed the keyless role with a token of its issuer: ${who.arn}${note}.`,
            found.value,
          )
        );
      },
    );
    identity = assumed?.identity;
    session = assumed?.credentials;
    /**
     * The confused-deputy checks: a token Onramp could mint for someone else must not open the role.
     * Another connection of the same tenant (a fresh id no connection has) stands for any other
     * subject; another partition's audience for any other audience. Only a refusal proves the pin.
     * They run on every check, scheduled ones too, as the external-ID check does: a trust policy can
     * be loosened at any time, and the two calls are cheap (unsigned STS calls, no IAM).
     */
    const probe = (
      name: string,
      override: (t: WebIdentityTrust) => { subject?: string; audience?: string },
      code: string,
      message: string,
      passedDetail: string,
      failedDetail: string,
    ) =>
      step(
        name,
        identity && roleArn && trust ? { arn: roleArn, t: trust } : undefined,
        async (given) => {
          const found = await tryAws(() =>
            assumeKeylessRole(
              deps,
              target(given.arn),
              { sessionName: VALIDATION_SESSION_NAME, ...override(given.t) },
              { signal },
            ),
          );
          if (found instanceof AwsProblem && found.kind === 'upstream') return upstream(found);
          if (found instanceof AwsProblem) return passed(passedDetail, true);
          decided = 'the role can be assumed with a token that is not this connection’s.';
          cut.abort();
          return failed(failedDetail, [
            {
              field: 'roleArn',
              code,
              message,
              hint: `Make the role's trust policy statement for ${given.t.providerArn} require exactly this connection: "Condition": ${webIdentityConditionText(given.t)} (StringEquals, not StringLike or a wildcard).`,
            },
          ]);
        },
      );
    const issuerPort = deps.webIdentity;
    /**
     * A keyless role needs no hub. One that also trusts the operator's hub without requiring an
     * external ID (none, or any: a wildcard, a pattern) is open to the hub's long-lived credentials,
     * with no connection vouching for the caller, which is what keyless roles exist to avoid. Only
     * when this Onramp has a hub in the partition: without one, nothing can try.
     */
    const hub = deps.hubs[keyless.partition];
    const hubRefused = () =>
      hub
        ? step('hub_not_trusted', identity && roleArn, async (arn) => {
            const assume = (externalId?: string) =>
              tryAws(() =>
                deps.aws.assumeRole(
                  keyless.partition,
                  {
                    roleArn: arn,
                    ...(externalId ? { externalId } : {}),
                    sessionName: VALIDATION_SESSION_NAME,
                  },
                  { signal },
                ),
              );
            const found = await Promise.all([
              assume(),
              assume(`onramp-probe-${newId('connection')}`),
            ]);
            if (found.some((f) => !(f instanceof AwsProblem))) {
              decided =
                'the keyless role can be assumed by the platform’s hub without an external ID.';
              cut.abort();
              const message = `The role also lets the platform’s hub identity ${hub.principalArn} assume it without this connection’s external ID, so the operator’s long-lived credentials reach your account with no connection vouching for the caller (the confused-deputy problem).`;
              return failed(message, [
                {
                  field: 'roleArn',
                  code: 'hub_trusted_without_external_id',
                  message,
                  hint: `Remove the statement of the role’s trust policy that trusts ${hub.principalArn}: a keyless role trusts only the platform’s OpenID Connect provider.`,
                },
              ]);
            }
            // A keyless role must not depend on the hub: a hub AWS does not answer for (or whose
            // credentials fail) leaves this probe undone, said so, and the account as its token found it.
            const outage = found.find((f) => f instanceof AwsProblem && f.kind === 'upstream');
            if (outage instanceof AwsProblem) {
              return {
                status: 'warning' as const,
                detail: `Not checked whether the role also trusts the platform’s hub identity: AWS did not answer the hub (${outage.message}).`,
                value: true,
              };
            }
            return passed('AWS refused the platform’s hub identity without an external ID.', true);
          })
        : Promise.resolve(true);
    const [subjectPinned, audiencePinned, hubSafe] = await Promise.all([
      probe(
        'subject_required',
        () => ({
          subject: issuerPort?.subjectFor(keyless.tenantId, newId('connection')) ?? '',
        }),
        'subject_not_pinned',
        'The role accepts the platform’s tokens for another connection (its trust policy does not require this connection’s subject), so another connection, of this tenant or another, could reach your account through it (the confused-deputy problem).',
        'AWS refused a token for another connection: the role requires this connection’s subject.',
        'AWS accepted a token for another connection.',
      ),
      probe(
        'audience_required',
        () => ({
          audience: issuerPort ? otherAudience(issuerPort, keyless.partition) : '',
        }),
        'audience_not_pinned',
        'The role accepts the platform’s tokens meant for another audience (its trust policy does not require the audience of this partition’s STS).',
        'AWS refused a token for another audience: the role requires this partition’s audience.',
        'AWS accepted a token meant for another audience.',
      ),
      hubRefused(),
      readExtra(session && roleArn ? { principalArn: roleArn, credentials: session } : undefined),
      permissionsStep(
        identity && session && roleArn
          ? { principalArn: roleArn, credentials: session, identity }
          : undefined,
      ),
    ]);
    if (roleArn && identity && subjectPinned && audiencePinned && hubSafe)
      credentials = { method: 'oidc_role', roleArn };
  } else {
    const roleArn = await step('shape', input, (given) => {
      const parsed = parseRoleArn(given.roleArn, { field: 'roleArn', partition: given.partition });
      if (!parsed.ok) return failed('The role ARN cannot be used here.', [parsed.issue]);
      return passed(
        `An IAM role ARN in ${getPartition(given.partition).displayName}.`,
        parsed.value.arn,
      );
    });
    const hubReady = await step('hub', roleArn, () => {
      const hub = deps.hubs[input.partition];
      if (!hub) return failed('No hub identity in this partition.', [noHubIssue(input.partition)]);
      return passed(`The platform assumes roles from ${hub.principalArn}.`, true);
    });
    const assumed = await step('identity', hubReady ? roleArn : undefined, async (arn) => {
      const attempt = () =>
        tryAws(() =>
          deps.aws.assumeRole(
            input.partition,
            {
              roleArn: arn,
              externalId: input.externalId,
              sessionName: VALIDATION_SESSION_NAME,
            },
            { signal },
          ),
        );
      let found = await attempt();
      let waited = 0;
      if (options.waitForPropagation) {
        // Only AccessDenied can be propagation; anything else is final at once.
        for (const delay of PROPAGATION_BACKOFF_MS) {
          if (!(found instanceof AwsProblem) || found.code !== 'AccessDenied') break;
          await (deps.sleep ?? defaultSleep)(delay);
          waited += delay;
          found = await attempt();
        }
      }
      if (found instanceof AwsProblem && found.kind === 'upstream') return upstream(found);
      if (found instanceof AwsProblem) {
        return waited
          ? refused(
              found,
              `Waited ${Math.round(waited / 1000)} s for AWS to propagate the role; it still refused.`,
            )
          : refused(found);
      }
      const who = found.value.identity;
      const note = waited
        ? ` (after waiting ${Math.round(waited / 1000)} s for AWS to propagate the role)`
        : '';
      return (
        accountMismatch(who, options, 'roleArn') ??
        passed(
          `The platform assumed the role with its external ID: ${who.arn}${note}.`,
          found.value,
        )
      );
    });
    identity = assumed?.identity;
    session = assumed?.credentials;
    // Independent once the identity is known: run the confused-deputy check beside the permissions.
    // Two probes: no external ID, and an external ID no connection has. A role that takes any
    // external ID (`StringLike "*"`, a pattern, a second broader statement) passes the first, as it
    // requires the key to be present, but opens the account to every tenant's connection.
    const deputyCheck = step('external_id_required', identity && roleArn, async (arn) => {
      const assume = (externalId?: string) =>
        tryAws(() =>
          deps.aws.assumeRole(
            input.partition,
            {
              roleArn: arn,
              ...(externalId ? { externalId } : {}),
              sessionName: VALIDATION_SESSION_NAME,
            },
            { signal },
          ),
        );
      const [without, another] = await Promise.all([
        assume(),
        assume(`onramp-probe-${newId('connection')}`),
      ]);
      const statement = `"Condition": {"StringEquals": {"sts:ExternalId": "${input.externalId}"}}`;
      if (!(without instanceof AwsProblem)) {
        // The account cannot be saved whatever its permissions: the permission check is cut short.
        decided = 'the role can be assumed without the external ID, so it cannot be connected.';
        cut.abort();
        return failed('The role can be assumed without the external ID.', [
          {
            field: 'roleArn',
            code: 'external_id_not_required',
            message:
              'The role’s trust policy lets the platform assume it without the external ID, so anyone else using this platform could reach your account through it (the confused-deputy problem).',
            hint: `Add this condition to the statement of the role’s trust policy that trusts the platform: ${statement}`,
          },
        ]);
      }
      if (!(another instanceof AwsProblem)) {
        decided = 'the role can be assumed with another external ID, so it cannot be connected.';
        cut.abort();
        return failed(
          'The role can be assumed with an external ID that is not this connection’s.',
          [
            {
              field: 'roleArn',
              code: 'external_id_not_pinned',
              message:
                'The role’s trust policy lets the platform assume it with an external ID that is not this connection’s (a wildcard, a pattern or a broader statement), so anyone else using this platform could reach your account through it (the confused-deputy problem).',
              hint: `Require exactly this connection’s external ID in every statement of the role’s trust policy that trusts the platform, with StringEquals (not StringLike or a wildcard): ${statement}`,
            },
          ],
        );
      }
      // Only refusals prove the external ID is required; AWS failing to answer proves nothing.
      if (without.kind === 'upstream') return upstream(without);
      if (another.kind === 'upstream') return upstream(another);
      return passed(
        'AWS refused to let the platform assume the role without the external ID or with another one.',
        true,
      );
    });
    const [deputySafe] = await Promise.all([
      deputyCheck,
      readExtra(session && roleArn ? { principalArn: roleArn, credentials: session } : undefined),
      permissionsStep(
        identity && session && roleArn
          ? { principalArn: roleArn, credentials: session, identity }
          : undefined,
      ),
    ]);
    if (roleArn && identity && deputySafe) credentials = { method: 'role', roleArn };
  }
  if (input.method === 'access_keys') {
    await Promise.all([
      permissionsStep(
        identity && session
          ? { principalArn: identity.arn, credentials: session, identity }
          : undefined,
      ),
      readExtra(
        identity && session ? { principalArn: identity.arn, credentials: session } : undefined,
      ),
    ]);
  }
  recordValidationChecks(deps.metrics, recorder.checks);
  if (!answered && recorder.faults.length > 0) {
    // Nothing was learned: not a report, a 502 (with the checks, to show which step it was).
    const reason = recorder.faults[0]?.error.message ?? 'AWS did not answer.';
    throw new AppError(
      'upstream_unavailable',
      `AWS did not answer, so the platform could not check the credentials; nothing was changed. Try again shortly. (${reason})`,
      [],
      { 'retry-after': String(UPSTREAM_RETRY_AFTER_SECONDS) },
      { checks: recorder.checks },
    );
  }
  // A step other than the permissions that AWS did not answer leaves the account undecided.
  const undecided = recorder.faults.some((f) => f.step !== 'permissions');
  const valid = credentials !== undefined && recorder.errors.length === 0 && !undecided;
  const proven =
    credentials !== undefined &&
    !undecided &&
    recorder.errors.every((e) => PERMISSION_CODES.has(e.code));
  const findings =
    outcome?.kind === 'verified'
      ? outcome.findings.filter((f) => f.missing.length || f.deniedByScp.length)
      : [];
  const status: AccountStatus = recorder.errors.some((e) => !PERMISSION_CODES.has(e.code))
    ? 'invalid'
    : credentials === undefined && !undecided
      ? 'invalid'
      : findings.length > 0
        ? 'degraded'
        : outcome?.kind === 'unverified' || outcome === undefined || undecided
          ? 'unverified'
          : 'valid';
  return {
    valid,
    status,
    findings,
    identity: proven ? (identity ?? null) : null,
    checks: recorder.checks,
    errors: recorder.errors,
    faults: recorder.faults,
    proven,
    credentials: proven ? (credentials ?? null) : null,
    ...(proven && extra ? { extra } : {}),
  };
}

/** What a client is told to wait before trying again after AWS failed to answer. */
export const UPSTREAM_RETRY_AFTER_SECONDS = 5;

/** Refusals of a keyless role that a role or provider still propagating in IAM gives for a while. */
const PROPAGATING_CODES = new Set(['AccessDenied', 'oidc_provider_missing']);

/**
 * What a tenant is told when keyless roles are not offered: the issuer's own reason (e.g. Onramp's
 * public URL is not https), or that this Onramp has none. One code for creating a set-up and for
 * validating a role, as `hub_not_configured` is for roles.
 */
export function noIssuerIssue(reason: string | null, field = 'method'): ProblemFieldError {
  return {
    field,
    code: 'issuer_not_configured',
    message: `Keyless roles (oidc_role) are not offered: ${
      reason ?? 'this Onramp has no OpenID Connect issuer configured.'
    }`,
    hint: 'Use method role (an external ID) or access keys, or ask the operator to give Onramp a public https URL (ONRAMP_PUBLIC_URL, or ONRAMP_OIDC_ISSUER_URL) so keyless roles are offered.',
  };
}

/** What a tenant is told when roles are not available in a partition. */
export function noHubIssue(partition: PartitionId): ProblemFieldError {
  const name = getPartition(partition).displayName;
  return {
    field: 'partition',
    code: 'hub_not_configured',
    message: `Roles are not offered in ${name}: the operator has not configured a hub identity for it.`,
    hint: `Connect with access keys, or ask the operator to configure a hub identity for ${partition}.`,
  };
}

function isRootArn(arn: string): boolean {
  return /^arn:[^:]+:iam::\d{12}:root$/.test(arn);
}

function passed<T>(detail: string, value: T): StepOutcome<T> {
  return { status: 'passed', detail, value };
}

function failed(detail: string, errors: ProblemFieldError[]): StepOutcome<never> {
  return { status: 'failed', detail: [detail, ...errors.map((e) => e.message)].join(' '), errors };
}

function refused(problem: AwsProblem, detail = 'AWS refused.'): StepOutcome<never> {
  return failed(detail, [refusalError(problem)]);
}

function accountMismatch(
  identity: CallerIdentity,
  options: ValidationOptions,
  field: string,
): StepOutcome<never> | undefined {
  if (!options.expectedAccountId || identity.accountId === options.expectedAccountId)
    return undefined;
  return failed('The credentials belong to another AWS account.', [
    {
      field,
      code: 'account_mismatch',
      message: `These credentials belong to AWS account ${identity.accountId}, but this account is ${options.expectedAccountId}.`,
      hint: 'Use credentials of the same AWS account, or connect the other account as a new account.',
    },
  ]);
}

/** A step AWS did not answer: its own outcome, with the reason; the other steps' findings stand. */
function upstream(problem: AwsProblem): StepOutcome<never> {
  return {
    status: 'error',
    detail: `Could not be checked: ${problem.message}`,
    fault: faultError(problem),
  };
}

/** Field-error codes of the permissions step: they make an account degraded, not invalid. */
const PERMISSION_CODES = new Set(['missing_actions', 'denied_by_scp']);

function permissionOutcomeStep(
  outcome: PermissionOutcome,
  principal: 'role' | 'user',
): StepOutcome<PermissionOutcome> {
  if (outcome.kind === 'unverified')
    return {
      status: 'warning',
      detail: `Permissions not verified: ${outcome.reason}`,
      value: outcome,
    };
  const errors: ProblemFieldError[] = [];
  for (const finding of outcome.findings) {
    if (finding.missing.length) {
      errors.push({
        field: `permissions.${finding.bundleId}`,
        code: 'missing_actions',
        message: `The ${principal} lacks ${finding.missing.length} action(s) that “${finding.bundleName}” needs: ${listSome(finding.missing)}.`,
        hint:
          principal === 'role'
            ? 'Update the role’s stack with the current template (or re-apply the Terraform), or attach the policy from “View JSON”.'
            : 'Attach the policy from “View JSON” to the IAM user.',
      });
    }
    if (finding.deniedByScp.length) {
      errors.push({
        field: `permissions.${finding.bundleId}`,
        code: 'denied_by_scp',
        message: `An AWS Organizations service control policy denies ${finding.deniedByScp.length} action(s) that “${finding.bundleName}” needs, whatever the ${principal}’s own policies say: ${listSome(finding.deniedByScp)}.`,
        hint: 'Ask your organization’s administrator to allow them for this account, or choose without this bundle.',
      });
    }
  }
  const how =
    outcome.method === 'SimulatePrincipalPolicy'
      ? 'simulated with iam:SimulatePrincipalPolicy'
      : 'evaluated from the role’s own policies with iam:SimulateCustomPolicy (organization SCPs not included)';
  if (errors.length === 0) {
    return {
      status: 'passed',
      detail: `All ${outcome.actionsChecked} action checks of the chosen bundles are allowed (${how}).`,
      value: outcome,
    };
  }
  // A summary: the errors name each feature's actions, and a paragraph of every name would bury them.
  const lacking = outcome.findings.filter((f) => f.missing.length || f.deniedByScp.length);
  const actions = new Set(lacking.flatMap((f) => [...f.missing, ...f.deniedByScp])).size;
  const features =
    lacking.length === 1 ? '1 feature lacks' : `${count(lacking.length)} features lack`;
  return {
    status: 'failed',
    detail: `Some actions of the chosen bundles are not allowed (${how}): ${features} ${count(actions)} action${actions === 1 ? '' : 's'} in all; each is listed with its feature.`,
    errors,
  };
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A number as people read it: 1,433. */
function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** A message names the first actions; the full list is in the result's findings. */
function listSome(actions: string[], shown = 10): string {
  return actions.length <= shown
    ? actions.join(', ')
    : `${actions.slice(0, shown).join(', ')} and ${actions.length - shown} more (all are listed in findings)`;
}

/**
 * When AWS does not know a key in the chosen partition, asks the other two partitions whether it is
 * theirs, so the error can name the field that is actually wrong. Only the key ID and a SigV4 signature
 * travel (never the secret), and only after the key has already failed where the tenant said it lives.
 */
async function partitionOfKeys(
  aws: AwsGateway,
  chosen: PartitionId,
  keys: { accessKeyId: string; secretAccessKey: string },
  signal: AbortSignal,
): Promise<PartitionId | undefined> {
  const others = (['aws', 'aws-us-gov', 'aws-cn'] as const).filter((p) => p !== chosen);
  const answers = await Promise.all(
    others.map((partition) =>
      aws.identifyKeys(partition, keys, { signal }).then(
        () => partition,
        () => undefined,
      ),
    ),
  );
  return answers.find((p) => p !== undefined);
}
