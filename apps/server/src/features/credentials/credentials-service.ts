import {
  type Bundle,
  buildStatements,
  type Catalog,
  fillPlaceholders,
  getPartition,
  type PartitionId,
  parseHubPrincipal,
  policySize,
} from '@onramp/core';
import type { Account } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import { type AwsGateway, AwsProblem, type TemporaryCredentials } from '../../ports/aws-gateway.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { MetricsRegistry } from '../metrics/metrics-registry.ts';
import { type VendCacheResult, vendCacheMetric } from '../metrics/onramp-metrics.ts';
import { UPSTREAM_RETRY_AFTER_SECONDS } from '../validation/accounts-validation.ts';
import { callAws } from '../validation/aws-refusals.ts';
import { assumeKeylessRole } from '../validation/web-identity-session.ts';

/** AWS's limit on the plaintext of a session policy (AssumeRole's `Policy`). */
export const SESSION_POLICY_LIMIT = 2048;
/** Vended credentials are served from the cache until this long before they expire. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60 * 1000;
export const DEFAULT_DURATION_SECONDS = 3600;
/** AWS caps a session assumed by another role session (role chaining) at one hour. */
export const ROLE_CHAINING_MAX_SECONDS = 3600;
/**
 * How long the console session of a keyless role's link lasts: the most AWS's federation endpoint
 * allows (SessionDuration), which it accepts for sessions that are not role-chained.
 */
export const KEYLESS_CONSOLE_SECONDS = 43200;
/** AWS accepts a federation sign-in token for 15 minutes. */
export const SIGNIN_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

export interface VendInput {
  bundles?: string[] | undefined;
  durationSeconds?: number | undefined;
}

export interface Vended {
  credentials: TemporaryCredentials;
  cache: VendCacheResult;
}

interface Minted {
  credentials: TemporaryCredentials;
  /** False when the role's trust policy refused the session tags and the session was made without. */
  tagged: boolean;
}

export interface CredentialsServiceDeps {
  aws: AwsGateway;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  /** Onramp's OpenID Connect issuer: keyless role accounts are assumed with its tokens. */
  webIdentity?: WebIdentityIssuer | undefined;
  catalog: Catalog;
  clock: () => Date;
  accounts: Pick<AccountsService, 'getAccount' | 'readAccessKeys' | 'onAccountChange'>;
  audit: Pick<AuditLog, 'appendGrouped'>;
  metrics: MetricsRegistry;
  /** Most cached sessions kept; the oldest go first. Default 10,000. */
  maxCachedSessions?: number;
  /** How long an account read for a vend is reused (ACCOUNT_CACHE_MS); 0 reads it every time. */
  accountCacheMs?: number;
}

export const ACCOUNT_CACHE_MS = 1000;

interface CacheEntry extends Minted {
  accountId: string;
  /** The account's updatedAt when the session was made: any change to the account retires it. */
  version: string;
}

/**
 * Short-lived credentials of connected accounts for the platform's own services, and console sign-in
 * links for people.
 *
 * Vended sessions are cached per (requester, account, account version, narrowing, duration) until five
 * minutes before they expire, and concurrent requests for the same session share one AWS call. The
 * account's `updatedAt` is part of the key, and the account is read again at least once a second:
 * rotating its credentials, changing its bundles or deleting it retires what was cached at once on
 * this replica (the accounts service says so) and within the second on every other. The requester is part of the key because the session's name
 * and tags say which token asked (CloudTrail shows it); a session made for one token is never handed
 * to another.
 */
export function createCredentialsService(deps: CredentialsServiceDeps) {
  const cache = new Map<string, CacheEntry>();
  /**
   * The accounts vended for, for a second: a service asking thousands of times a second reads its
   * account once a second. A change through this replica's accounts service is forgotten at once; one
   * made on another replica (or by a health check) is seen within the second, which is nothing next to
   * the hour the credentials already handed out stay valid in AWS.
   */
  const accountsSeen = createTtlCache<Account>({
    ttlMs: deps.accountCacheMs ?? ACCOUNT_CACHE_MS,
    maxEntries: 10_000,
    now: () => deps.clock().getTime(),
  });
  deps.accounts.onAccountChange((accountId) => accountsSeen.delete(accountId));
  async function accountOf(tenantId: string, accountId: string): Promise<Account> {
    const seen = accountsSeen.get(accountId);
    if (seen?.tenantId === tenantId) return seen;
    const account = await deps.accounts.getAccount(tenantId, accountId);
    accountsSeen.set(accountId, account);
    return account;
  }
  const inFlight = new Map<string, Promise<Minted>>();
  /** Roles whose trust policy refused session tags: asked without them from then on. */
  const untaggedRoles = new Set<string>();
  const maxEntries = deps.maxCachedSessions ?? 10_000;
  const cacheResults = vendCacheMetric(deps.metrics);
  let lastSweep = 0;

  const now = () => deps.clock().getTime();
  const isFresh = (entry: CacheEntry) =>
    entry.credentials.expiration.getTime() - REFRESH_BEFORE_EXPIRY_MS > now();

  function remember(key: string, entry: CacheEntry): void {
    // Sessions of an older version of the account, and (once a minute) expired ones, are dropped.
    const sweepAll = now() - lastSweep > 60_000;
    if (sweepAll) lastSweep = now();
    for (const [k, e] of cache) {
      if (
        (e.accountId === entry.accountId && e.version !== entry.version) ||
        (sweepAll && !isFresh(e))
      )
        cache.delete(k);
    }
    cache.delete(key);
    cache.set(key, entry);
    while (cache.size > maxEntries) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
  }

  /**
   * AWS's session duration for this account, within what AWS allows the hub. A keyless role's session
   * is assumed with a token, not by a hub role's session: it is not role-chained, and may last up to
   * the role's MaxSessionDuration (12 h at most; AWS's ValidationError above it is on durationSeconds).
   */
  function durationFor(account: Account, requested: number | undefined): number {
    const duration = requested ?? DEFAULT_DURATION_SECONDS;
    return account.method === 'role' && isHubRole(deps.hubs, account.partition)
      ? Math.min(duration, ROLE_CHAINING_MAX_SECONDS)
      : duration;
  }

  function sessionNaming(caller: Caller, purpose: string) {
    const actor = caller.actorId ?? caller.actorType;
    const actorTag = caller.actorType === 'user' ? 'onramp:user' : 'onramp:token';
    return {
      // Role session names: 2–64 of [\w+=,.@-]; Onramp's ids fit, anything else is replaced.
      sessionName: `onramp-${purpose}${actor}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64),
      tags: [
        { key: actorTag, value: actor },
        { key: 'onramp:tenant', value: caller.tenantId },
      ],
    };
  }

  /** The session policy for some of the account's bundles, filled in for its role; 422 when it cannot be. */
  function sessionPolicyFor(account: Account, requested: readonly string[]): string {
    const errors: ProblemFieldError[] = [];
    const bundles: Bundle[] = [];
    requested.forEach((id, i) => {
      const bundle = deps.catalog.bundles.get(id);
      if (!bundle || !account.bundles.includes(id)) {
        errors.push({
          field: `bundles[${i}]`,
          code: 'bundle_not_granted',
          message: `"${id}" is not one of this account’s bundles.`,
          hint: `Choose among: ${account.bundles.join(', ') || 'none'}.`,
        });
      } else if (!bundles.includes(bundle)) bundles.push(bundle);
    });
    if (errors.length) throw new AppError('validation_failed', errors[0]?.message, errors);
    const { path, name } = roleNameOf(account.roleArn ?? '');
    const document = fillPlaceholders(
      { Version: '2012-10-17', Statement: buildStatements(bundles, account.regions) },
      {
        partition: account.partition,
        account_id: account.awsAccountId,
        role_path: path,
        role_name: name,
      },
    );
    const text = JSON.stringify(document);
    if (policySize(document) > SESSION_POLICY_LIMIT || text.length > SESSION_POLICY_LIMIT) {
      const message = `The session policy for these bundles has ${text.length} characters; AWS allows ${SESSION_POLICY_LIMIT} in a session policy.`;
      throw new AppError('validation_failed', message, [
        {
          field: 'bundles',
          code: 'session_policy_too_large',
          message,
          hint: 'Narrow to fewer or smaller bundles, or ask for the account’s full permissions (no bundles).',
        },
      ]);
    }
    return text;
  }

  async function callAws(account: Account, caller: Caller, input: VendInput, duration: number) {
    if (account.method === 'access_keys') {
      const keys = await deps.accounts.readAccessKeys(account.tenantId, account.id);
      if (!keys) {
        throw new AppError('validation_failed', 'This account has no stored key.', [
          {
            field: 'accessKeyId',
            code: 'no_stored_key',
            message: 'This account has no stored key.',
            hint: 'Replace its credentials (PUT /v1/accounts/{id}/credentials).',
          },
        ]);
      }
      // GetSessionToken takes no session name or tags: the audit log says who asked.
      return {
        credentials: await deps.aws.getSessionToken(account.partition, keys, duration),
        tagged: false,
      };
    }
    const policy = input.bundles ? sessionPolicyFor(account, input.bundles) : undefined;
    if (account.method === 'oidc_role') {
      // AssumeRoleWithWebIdentity takes no session tags (they would come from the token's claims):
      // the session name and the audit log say who asked.
      return {
        credentials: (await keylessSession(account, caller, '', duration, policy)).credentials,
        tagged: false,
      };
    }
    if (!account.roleArn || !account.externalId)
      throw new AppError('validation_failed', 'This account has no role to assume.');
    const session = await assumeTagged(account.partition, {
      roleArn: account.roleArn,
      externalId: account.externalId,
      durationSeconds: duration,
      ...sessionNaming(caller, ''),
      ...(policy ? { policy } : {}),
    });
    return { credentials: session.credentials, tagged: session.tagged };
  }

  /** A session of a keyless role account's role, with a token minted for its connection. */
  function keylessSession(
    account: Account,
    caller: Caller,
    purpose: string,
    duration: number,
    policy?: string,
  ) {
    if (!account.roleArn || !account.connectionId)
      throw new AppError('validation_failed', 'This account has no role to assume.');
    return assumeKeylessRole(
      deps,
      {
        partition: account.partition,
        roleArn: account.roleArn,
        tenantId: account.tenantId,
        connectionId: account.connectionId,
      },
      {
        sessionName: sessionNaming(caller, purpose).sessionName,
        durationSeconds: duration,
        ...(policy ? { policy } : {}),
      },
    );
  }

  /**
   * AssumeRole with session tags, and without them when the role's trust policy does not allow
   * sts:TagSession. Onramp's own trust statement grants TagSession under the sts:ExternalId
   * condition, a key AWS documents for AssumeRole only, so the loopback AWS (and possibly AWS) refuses
   * the tags. The session name still names the requester; the role is remembered, so this costs one
   * extra call per role and process.
   */
  async function assumeTagged(
    partition: PartitionId,
    input: Parameters<AwsGateway['assumeRole']>[1],
  ): Promise<Awaited<ReturnType<AwsGateway['assumeRole']>> & { tagged: boolean }> {
    const { tags, ...untagged } = input;
    if (!tags?.length || untaggedRoles.has(input.roleArn))
      return { ...(await deps.aws.assumeRole(partition, untagged)), tagged: false };
    try {
      return { ...(await deps.aws.assumeRole(partition, input)), tagged: true };
    } catch (error) {
      if (
        !(
          error instanceof AwsProblem &&
          error.kind === 'rejected' &&
          error.awsCode === 'AccessDenied'
        )
      )
        throw error;
      const session = await deps.aws.assumeRole(partition, untagged);
      untaggedRoles.add(input.roleArn);
      return { ...session, tagged: false };
    }
  }

  async function audit(
    caller: Caller,
    action: string,
    account: Account,
    details: Record<string, unknown>,
  ) {
    await deps.audit.appendGrouped({
      tenantId: caller.tenantId,
      actorType: caller.actorType,
      actorId: caller.actorId,
      action,
      targetType: 'account',
      targetId: account.id,
      requestId: caller.requestId,
      sourceIp: caller.sourceIp,
      details,
    });
  }

  return {
    async vend(caller: Caller, accountId: string, input: VendInput): Promise<Vended> {
      const account = await accountOf(caller.tenantId, accountId);
      const bundles = input.bundles ? [...new Set(input.bundles)].sort() : undefined;
      if (bundles && account.method === 'access_keys') {
        const message =
          'Narrowing to bundles needs a role account: AWS’s GetSessionToken, which access-key accounts use, takes no session policy.';
        throw new AppError('validation_failed', message, [
          { field: 'bundles', code: 'narrowing_needs_role', message },
        ]);
      }
      // Refuse a narrowing AWS would refuse before anything is cached or in flight.
      if (bundles) sessionPolicyFor(account, input.bundles ?? []);
      const duration = durationFor(account, input.durationSeconds);
      const key = JSON.stringify([
        caller.tenantId,
        account.id,
        account.updatedAt,
        caller.actorType,
        caller.actorId,
        bundles ?? null,
        duration,
      ]);

      let result: VendCacheResult;
      let minted: Minted;
      const cached = cache.get(key);
      const pending = inFlight.get(key);
      if (cached && isFresh(cached)) {
        result = 'hit';
        minted = cached;
      } else if (pending) {
        result = 'shared';
        minted = await asAws(pending, input);
      } else {
        result = 'miss';
        const call = callAws(account, caller, { bundles }, duration);
        inFlight.set(key, call);
        try {
          minted = await asAws(call, input);
          remember(key, { ...minted, accountId: account.id, version: account.updatedAt });
        } finally {
          inFlight.delete(key);
        }
      }
      const { credentials } = minted;
      cacheResults.inc({ result });
      // Who asked for what, and whether AWS was called; never the credentials.
      await audit(caller, 'account.credentials_vended', account, {
        method: account.method,
        bundles: bundles ?? null,
        durationSeconds: duration,
        cache: result,
        sessionTags: minted.tagged,
      });
      return { credentials, cache: result };
    },

    /**
     * A console sign-in URL for a role account, through the partition's federation endpoint: a fresh
     * session of the account's role (named after the person), turned into a sign-in token. Nothing
     * is stored; no console password exists anywhere.
     */
    async consoleLink(caller: Caller, accountId: string, issuer: string | undefined) {
      const account = await deps.accounts.getAccount(caller.tenantId, accountId);
      const keyless = account.method === 'oidc_role';
      if (
        account.method === 'access_keys' ||
        !account.roleArn ||
        (keyless ? !account.connectionId : !account.externalId)
      ) {
        const message =
          'Console links need a role account: AWS signs people in to the console only with a role’s session, and the platform stores no console passwords. Connect the account with a role to get one.';
        throw new AppError('validation_failed', message, [
          { field: 'method', code: 'console_needs_role', message },
        ]);
      }
      const { roleArn, externalId } = account;
      const partition = getPartition(account.partition);
      const naming = sessionNaming(caller, 'console-');
      const { credentials, token } = await asAws(
        (async () => {
          // The console session lasts as long as the role session behind it: the default hour,
          // which any role allows (a keyless role's session is not chained, a hub role's is).
          const session = keyless
            ? await keylessSession(account, caller, 'console-', durationFor(account, undefined))
            : await assumeTagged(account.partition, {
                roleArn,
                externalId: externalId ?? '',
                durationSeconds: durationFor(account, undefined),
                ...naming,
              });
          const signin = await deps.aws.getSigninToken(
            account.partition,
            session.credentials,
            keyless ? { sessionDurationSeconds: KEYLESS_CONSOLE_SECONDS } : undefined,
          );
          return { credentials: session.credentials, token: signin };
        })(),
        {},
      );
      const url = new URL(`https://${partition.signinHost}/federation`);
      url.searchParams.set('Action', 'login');
      if (issuer) url.searchParams.set('Issuer', issuer);
      url.searchParams.set('Destination', `https://${partition.consoleHost}/`);
      url.searchParams.set('SigninToken', token);
      await audit(caller, 'account.console_link_created', account, {
        roleArn,
        sessionName: naming.sessionName,
      });
      return {
        url: url.toString(),
        expiresAt: new Date(now() + SIGNIN_TOKEN_LIFETIME_MS).toISOString(),
        sessionExpiresAt: keyless
          ? new Date(now() + KEYLESS_CONSOLE_SECONDS * 1000).toISOString()
          : credentials.expiration.toISOString(),
      };
    },
  };
}

export type CredentialsService = ReturnType<typeof createCredentialsService>;

/** True when the partition's hub is an IAM role: its sessions chain, and AWS caps them at an hour. */
export function isHubRole(
  hubs: Partial<Record<PartitionId, HubIdentity>>,
  partition: PartitionId,
): boolean {
  const hub = hubs[partition];
  if (!hub) return false;
  // Asked on every vend, of the same few hub ARNs: each is parsed once.
  const key = `${partition} ${hub.principalArn}`;
  let isRole = hubRoleByArn.get(key);
  if (isRole === undefined) {
    const parsed = parseHubPrincipal(hub.principalArn, partition);
    isRole = parsed.ok && parsed.value.kind === 'role';
    if (hubRoleByArn.size >= 64) hubRoleByArn.clear();
    hubRoleByArn.set(key, isRole);
  }
  return isRole;
}
/** isHubRole's answers by partition and hub ARN; a process has a hub per partition, at most 64 kept. */
const hubRoleByArn = new Map<string, boolean>();

/** `arn:aws:iam::123:role/path/to/Name` → { path: '/path/to/', name: 'Name' }. */
function roleNameOf(roleArn: string): { path: string; name: string } {
  const resource = roleArn.split(':').slice(5).join(':').replace(/^role/, '');
  const cut = resource.lastIndexOf('/');
  return { path: resource.slice(0, cut + 1) || '/', name: resource.slice(cut + 1) };
}

/**
 * AWS refusing is the tenant's to fix: 422 on the field it concerns (a duration the role does not
 * allow is on `durationSeconds`, a session policy AWS finds too large on `bundles`). AWS not answering
 * is a 502 saying nothing was issued, retryable: nothing was cached, the next request asks AWS again.
 */
function asAws<T>(call: Promise<T>, input: VendInput): Promise<T> {
  return callAws(() => call, {
    field: (problem) =>
      problem.awsCode === 'ValidationError' && input.durationSeconds !== undefined
        ? 'durationSeconds'
        : /PackedPolicyTooLarge/.test(problem.awsCode ?? '') && input.bundles
          ? 'bundles'
          : problem.field,
    upstream: {
      detail: (problem) => `AWS did not answer, so no credentials were issued: ${problem.message}`,
      retryAfterSeconds: UPSTREAM_RETRY_AFTER_SECONDS,
    },
  });
}
