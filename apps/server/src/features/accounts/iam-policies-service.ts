import {
  type Catalog,
  getPartition,
  IAM_POLICY_ATTACHMENT_BUNDLE_ID,
  parseArn,
} from '@onramp/core';
import type { Account } from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import {
  type AccountCredentials,
  type AwsGateway,
  AwsProblem,
  type IamPolicySummary,
} from '../../ports/aws-gateway.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import { type AwsRefusalOptions, callAws } from '../validation/aws-refusals.ts';
import { assumeKeylessRole } from '../validation/web-identity-session.ts';
import type { AccountsService } from './accounts-service.ts';

/** Pages of ListPolicies (of AWS's largest, 1,000) read at most for one search: AWS has ~1,400. */
const SEARCH_PAGES = 10;
const SEARCH_PAGE_SIZE = 1000;
/** What AWS answers for a parameter it cannot use, such as a Marker not of its own. */
const INVALID_INPUT = new Set(['ValidationError', 'InvalidInput', 'InvalidInputException']);
/** `policy/`, an optional IAM path, and a policy name (IAM's own limits). */
const IAM_POLICY_RESOURCE = /^policy\/(?:[\x21-\x7e]+\/)?[\w+=,.@-]{1,128}$/;

/**
 * Here a refusal is about the policies unless it names the principal; AccessDenied means the account's
 * policy in AWS is not the current one, and the hint says so. AWS not answering is a bare 502.
 */
const ATTACH_REFUSALS: AwsRefusalOptions = {
  field: (problem) =>
    problem.field === 'roleArn' || problem.field === 'accessKeyId' ? problem.field : 'policyArns',
  hint: (problem) =>
    problem.code === 'AccessDenied'
      ? 'The account has the “Attach existing IAM policies” permissions in Onramp, but AWS refused: check that its policy in AWS is the current one (the account page’s check lists what is missing).'
      : problem.hint,
};

export interface IamPoliciesQuery {
  scope: 'aws' | 'local';
  q?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** What the IAM-policies service is built from. */
export interface IamPoliciesServiceDeps {
  aws: Pick<
    AwsGateway,
    | 'assumeRole'
    | 'assumeRoleWithWebIdentity'
    | 'listPolicies'
    | 'listAttachedPolicyArns'
    | 'attachPolicy'
  >;
  /** Onramp's OpenID Connect issuer: a keyless role account's session is assumed with its token. */
  webIdentity?: WebIdentityIssuer | undefined;
  catalog: Catalog;
  clock: () => Date;
  audit: Pick<AuditLog, 'append'>;
  accounts: Pick<AccountsService, 'getAccount' | 'readAccessKeys'>;
}

/**
 * Palette's "Add IAM Policies": once an account is validated, list the account's IAM policies (AWS
 * managed or its own), searchable, with what is attached, and attach chosen ones to the account's role
 * or user. Onramp acts as the account's own identity, so this needs the catalog's
 * "iam-policy-attachment" bundle (or equivalent permissions) in the account.
 */
export function createIamPoliciesService(deps: IamPoliciesServiceDeps) {
  /**
   * Role sessions reused across the pages and the attach of one sitting (10 minutes, well inside the
   * session's hour), per account version: replacing the role or changing the account starts afresh.
   */
  const sessions = createTtlCache<Promise<AccountCredentials>>({
    ttlMs: 10 * 60_000,
    maxEntries: 1_000,
    now: () => deps.clock().getTime(),
  });

  /**
   * Every policy of a scope, read once for the pages of one search (a minute), per account version:
   * ranking needs them all, and "Load more" should not read them again.
   */
  const listings = createTtlCache<Promise<IamPolicySummary[]>>({
    ttlMs: 60_000,
    maxEntries: 200,
    now: () => deps.clock().getTime(),
  });

  function allPolicies(
    account: Account,
    credentials: AccountCredentials,
    scope: 'aws' | 'local',
  ): Promise<IamPolicySummary[]> {
    const key = `${account.tenantId}/${account.id}/${account.updatedAt}/${scope}`;
    const kept = listings.get(key);
    if (kept) return kept;
    const read = (async () => {
      const all: IamPolicySummary[] = [];
      let marker: string | null = null;
      for (let page = 0; page < SEARCH_PAGES; page++) {
        const result = await deps.aws.listPolicies(account.partition, credentials, {
          scope,
          maxItems: SEARCH_PAGE_SIZE,
          ...(marker ? { marker } : {}),
        });
        all.push(...result.policies);
        marker = result.marker;
        if (!marker) break;
      }
      return all;
    })();
    listings.set(key, read);
    read.catch(() => listings.delete(key));
    return read;
  }

  async function sessionOf(account: Account): Promise<AccountCredentials> {
    if (account.method === 'access_keys') {
      const keys = await deps.accounts.readAccessKeys(account.tenantId, account.id);
      if (!keys)
        throw new AppError(
          'validation_failed',
          'This account has no stored key; replace its credentials.',
        );
      return keys;
    }
    const keyless = account.method === 'oidc_role';
    const { roleArn, externalId, connectionId } = account;
    if (!roleArn || (keyless ? !connectionId : !externalId))
      throw new AppError('validation_failed', 'This account has no role to act as.');
    const key = `${account.tenantId}/${account.id}/${account.updatedAt}`;
    const kept = sessions.get(key);
    if (kept) return kept;
    const sessionName = 'onramp-iam-policies';
    const assumed = (
      keyless
        ? assumeKeylessRole(
            deps,
            {
              partition: account.partition,
              roleArn,
              tenantId: account.tenantId,
              connectionId: connectionId ?? '',
            },
            { sessionName },
          )
        : deps.aws.assumeRole(account.partition, {
            roleArn,
            externalId: externalId ?? '',
            sessionName,
          })
    ).then((session) => session.credentials);
    sessions.set(key, assumed);
    // A refusal is not kept: the next request asks AWS again.
    assumed.catch(() => sessions.delete(key));
    return assumed;
  }

  return {
    /** One page of the account's policies (a search ranks them all), each saying whether it is attached. */
    async list(tenantId: string, accountId: string, query: IamPoliciesQuery) {
      const account = await deps.accounts.getAccount(tenantId, accountId);
      requireAttachmentBundle(deps.catalog, account);
      const { scope, q, limit, cursor } = query;
      return callAws(async () => {
        const credentials = await sessionOf(account);
        const attached = new Set(
          await deps.aws.listAttachedPolicyArns(
            account.partition,
            credentials,
            account.principalArn,
          ),
        );
        let found: IamPolicySummary[];
        let next: string | null;
        if (q) {
          // A search reads every policy, ranks them and pages the ranking itself: the user looking for
          // "ReadOnlyAccess" sees it first, not after every policy whose name merely contains it.
          const offset = cursor === undefined ? 0 : Number(cursor);
          if (!Number.isSafeInteger(offset) || offset < 0 || !/^\d+$/.test(cursor ?? '0')) {
            throw new AppError('invalid_request', 'This cursor belongs to no search.', [
              {
                field: 'cursor',
                code: 'invalid_format',
                message: 'This cursor belongs to no search.',
                hint: 'Pass back the `next` of the previous page of the same search.',
              },
            ]);
          }
          const ranked = rankPolicies(await allPolicies(account, credentials, scope), q);
          found = ranked.slice(offset, offset + limit);
          next = offset + limit < ranked.length ? String(offset + limit) : null;
        } else {
          // Without a search, one page of AWS's is one page of ours.
          const result = await deps.aws
            .listPolicies(account.partition, credentials, {
              scope,
              maxItems: limit,
              ...(cursor ? { marker: cursor } : {}),
            })
            .catch((error: unknown) => {
              // AWS refusing a page marker as invalid: the cursor is not one of its pages.
              if (cursor && error instanceof AwsProblem && INVALID_INPUT.has(error.awsCode ?? ''))
                throw new AppError(
                  'invalid_request',
                  'This cursor belongs to no page of policies.',
                  [
                    {
                      field: 'cursor',
                      code: 'invalid_format',
                      message: 'This cursor belongs to no page of policies.',
                      hint: 'Pass back the `next` of the previous page, with the same scope and search.',
                    },
                  ],
                );
              throw error;
            });
          found = result.policies;
          next = result.marker;
        }
        return {
          policies: found.map((p) => ({
            arn: p.arn,
            name: p.name,
            path: p.path,
            description: p.description,
            awsManaged: p.awsManaged,
            attached: attached.has(p.arn),
          })),
          next,
        };
      }, ATTACH_REFUSALS);
    },

    /**
     * Attaches the policies in order; when AWS refuses one, those attached before stay attached in
     * AWS, and the audit entry and the error name them.
     */
    async attach(caller: Caller, accountId: string, policyArns: string[]) {
      const account = await deps.accounts.getAccount(caller.tenantId, accountId);
      requireAttachmentBundle(deps.catalog, account);
      const errors: ProblemFieldError[] = [];
      policyArns.forEach((arn, i) => {
        const parsed = parseArn(arn, `policyArns[${i}]`);
        const ok =
          parsed.ok &&
          parsed.value.service === 'iam' &&
          IAM_POLICY_RESOURCE.test(parsed.value.resource);
        if (!ok) {
          errors.push({
            field: `policyArns[${i}]`,
            code: 'invalid_arn',
            message: `"${arn}" is not an IAM policy ARN.`,
          });
        } else if (parsed.value.partition !== account.partition) {
          errors.push({
            field: `policyArns[${i}]`,
            code: 'wrong_partition',
            message: `This policy is in partition ${parsed.value.partition}; the account is in ${account.partition}.`,
          });
        } else if (
          parsed.value.accountId !== 'aws' &&
          parsed.value.accountId !== account.awsAccountId
        ) {
          errors.push({
            field: `policyArns[${i}]`,
            code: 'wrong_account',
            message: `This policy belongs to account ${parsed.value.accountId}, not to ${account.awsAccountId}.`,
          });
        }
      });
      if (errors.length)
        throw new AppError('invalid_request', errors.map((e) => e.message).join(' '), errors);
      const arns = [...new Set(policyArns)];
      const attached: string[] = [];
      const audit = () =>
        deps.audit.append(
          auditEntryOf(
            caller,
            'account.iam_policies_attached',
            { type: 'account', id: account.id },
            { policyArns: attached, principalArn: account.principalArn },
          ),
        );
      try {
        await callAws(async () => {
          const credentials = await sessionOf(account);
          for (const arn of arns) {
            await deps.aws.attachPolicy(account.partition, credentials, account.principalArn, arn);
            attached.push(arn);
          }
        }, ATTACH_REFUSALS);
      } catch (error) {
        // The policies attached before AWS refused one stay attached in AWS: the audit and the
        // answer say which, and the refusal names the policy it was about.
        if (attached.length) await audit();
        const failed = arns[attached.length];
        if (!(error instanceof AppError) || failed === undefined) throw error;
        const field = `policyArns[${policyArns.indexOf(failed)}]`;
        const done = attached.length ? ` Attached before that: ${attached.join(', ')}.` : '';
        throw new AppError(
          error.code,
          `${error.message}${done}`,
          error.errors.map((e) =>
            e.field === 'policyArns' ? { ...e, field, message: `${e.message}${done}` } : e,
          ),
        );
      }
      await audit();
      return { attached };
    },
  };
}

export type IamPoliciesService = ReturnType<typeof createIamPoliciesService>;

/**
 * Exact name matches first, then names that start with the search, then names that contain it, then
 * descriptions that do; AWS's (alphabetical) order within each.
 */
export function rankPolicies<T extends { name: string; description: string }>(
  policies: readonly T[],
  q: string,
): T[] {
  const needle = q.trim().toLowerCase();
  const rank = (p: T) => {
    const name = p.name.toLowerCase();
    if (name === needle) return 0;
    if (name.startsWith(needle)) return 1;
    if (name.includes(needle)) return 2;
    return p.description.toLowerCase().includes(needle) ? 3 : -1;
  };
  return policies
    .map((policy, i) => ({ policy, i, rank: rank(policy) }))
    .filter((r) => r.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((r) => r.policy);
}

/**
 * Listing and attaching act as the account's own identity, so the account must have the catalog's
 * attachment bundle: without it AWS would only answer AccessDenied. Says how to get it, or that the
 * partition does not offer it.
 */
function requireAttachmentBundle(catalog: Catalog, account: Account): void {
  if (account.bundles.includes(IAM_POLICY_ATTACHMENT_BUNDLE_ID)) return;
  const bundle = catalog.bundles.get(IAM_POLICY_ATTACHMENT_BUNDLE_ID);
  const partitionName = getPartition(account.partition).displayName;
  const offered =
    bundle?.partitions.includes(account.partition) &&
    (catalog.isCustomizable(account.partition) || bundle.isDefault);
  if (!bundle || !offered) {
    const message = !bundle
      ? 'This platform does not offer attaching existing IAM policies.'
      : `Attaching existing IAM policies is not offered in ${partitionName}: accounts there get the default permissions only.`;
    throw new AppError('conflict', message, [
      {
        field: 'bundles',
        code: bundle ? 'customisation_not_allowed' : 'unknown_bundle',
        message,
        hint: `Attach policies to the ${identityOf(account)} in the AWS console instead.`,
      },
    ]);
  }
  const message = `This account does not have the “${bundle.name}” permissions, which listing and attaching IAM policies need.`;
  throw new AppError('conflict', message, [
    {
      field: 'bundles',
      code: 'bundle_required',
      message,
      hint: `Change the account’s permissions to add “${bundle.name}” (${bundle.id}): give the ${identityOf(account)} the new policy in AWS, then save.`,
    },
  ]);
}

function identityOf(account: Account): string {
  return account.method === 'access_keys' ? 'IAM user' : 'role';
}
