import {
  attachIamPoliciesRequestSchema,
  attachIamPoliciesResponseSchema,
  iamPoliciesQuerySchema,
  iamPolicyPageSchema,
} from '@onramp/contracts';
import { parseArn } from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type AccountCredentials, AwsProblem } from '../../adapters/aws/aws-gateway.ts';
import type { AppContext } from '../../http/context.ts';
import { AppError, type ProblemFieldError } from '../../http/problems.ts';
import { callerOf, idParamsSchema, tenantOf } from '../../http/route-helpers.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import type { Account } from './accounts-repository.ts';

/** Pages of ListPolicies read at most per request while searching by name. */
const SEARCH_PAGES = 10;

/**
 * Palette's "Add IAM Policies": once an account is validated, list the account's IAM policies (AWS
 * managed or its own), searchable, with what is attached, and attach chosen ones to the account's role
 * or user. Onramp acts as the account's own identity, so this needs the catalog's
 * "iam-policy-attachment" bundle (or equivalent permissions) in the account.
 */
export async function registerIamPoliciesRoutes(
  app: FastifyInstance,
  ctx: AppContext,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];

  /**
   * Role sessions reused across the pages and the attach of one sitting (10 minutes, well inside the
   * session's hour), per account version: replacing the role or changing the account starts afresh.
   */
  const sessions = createTtlCache<Promise<AccountCredentials>>({
    ttlMs: 10 * 60_000,
    maxEntries: 1_000,
    now: () => ctx.clock().getTime(),
  });

  async function sessionOf(account: Account): Promise<AccountCredentials> {
    if (account.method === 'access_keys') {
      const keys = await ctx.accounts.readAccessKeys(account.tenantId, account.id);
      if (!keys)
        throw new AppError(
          'validation_failed',
          'This account has no stored key; replace its credentials.',
        );
      return keys;
    }
    if (!account.roleArn || !account.externalId)
      throw new AppError('validation_failed', 'This account has no role to act as.');
    const key = `${account.tenantId}/${account.id}/${account.updatedAt}`;
    const kept = sessions.get(key);
    if (kept) return kept;
    const assumed = ctx.aws
      .assumeRole(account.partition, {
        roleArn: account.roleArn,
        externalId: account.externalId,
        sessionName: 'onramp-iam-policies',
      })
      .then((session) => session.credentials);
    sessions.set(key, assumed);
    // A refusal is not kept: the next request asks AWS again.
    assumed.catch(() => sessions.delete(key));
    return assumed;
  }

  routes.get(
    '/v1/accounts/:id/iam-policies',
    {
      schema: {
        tags,
        summary: 'List the account’s IAM policies, with what is attached to its role or user',
        params: idParamsSchema,
        querystring: iamPoliciesQuerySchema,
        response: { 200: iamPolicyPageSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const account = await ctx.accounts.getAccount(tenantId, request.params.id);
      const { scope, q, limit, cursor } = request.query;
      return asAws(async () => {
        const credentials = await sessionOf(account);
        const attached = new Set(
          await ctx.aws.listAttachedPolicyArns(
            account.partition,
            credentials,
            account.principalArn,
          ),
        );
        const needle = q?.toLowerCase();
        const found: Awaited<ReturnType<typeof ctx.aws.listPolicies>>['policies'] = [];
        let marker: string | null = cursor ?? null;
        // Without a search, one page of AWS's is one page of ours; with one, read on until enough match.
        for (let page = 0; page < (needle ? SEARCH_PAGES : 1); page++) {
          const result = await ctx.aws.listPolicies(account.partition, credentials, {
            scope,
            maxItems: limit,
            ...(marker ? { marker } : {}),
          });
          found.push(
            ...result.policies.filter(
              (p) =>
                !needle ||
                p.name.toLowerCase().includes(needle) ||
                p.description.toLowerCase().includes(needle),
            ),
          );
          marker = result.marker;
          if (!marker || found.length >= limit) break;
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
          next: marker,
        };
      });
    },
  );

  routes.post(
    '/v1/accounts/:id/iam-policies',
    {
      schema: {
        tags,
        summary: 'Attach existing IAM policies to the account’s role or user',
        params: idParamsSchema,
        body: attachIamPoliciesRequestSchema,
        response: { 200: attachIamPoliciesResponseSchema },
      },
    },
    async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const account = await ctx.accounts.getAccount(caller.tenantId, request.params.id);
      const errors: ProblemFieldError[] = [];
      request.body.policyArns.forEach((arn, i) => {
        const parsed = parseArn(arn, `policyArns[${i}]`);
        const ok =
          parsed.ok &&
          parsed.value.service === 'iam' &&
          parsed.value.resource.startsWith('policy/');
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
      const arns = [...new Set(request.body.policyArns)];
      await asAws(async () => {
        const credentials = await sessionOf(account);
        for (const arn of arns)
          await ctx.aws.attachPolicy(account.partition, credentials, account.principalArn, arn);
      });
      await ctx.audit.append({
        tenantId: caller.tenantId,
        actorType: caller.actorType,
        actorId: caller.actorId,
        action: 'account.iam_policies_attached',
        targetType: 'account',
        targetId: account.id,
        requestId: caller.requestId,
        sourceIp: caller.sourceIp,
        details: { policyArns: arns, principalArn: account.principalArn },
      });
      return { attached: arns };
    },
  );
}

/** AWS refusing is the tenant's to fix (422 with the field and a hint); AWS not answering is a 502. */
async function asAws<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof AwsProblem)) throw error;
    if (error.kind === 'upstream') throw new AppError('upstream_unavailable', error.message);
    const field =
      error.field === 'roleArn' || error.field === 'accessKeyId' ? error.field : 'policyArns';
    const hint =
      error.code === 'AccessDenied'
        ? 'Give the account the “Attach existing IAM policies” bundle (iam:ListPolicies, iam:AttachRolePolicy on its own role), then try again.'
        : error.hint;
    throw new AppError('validation_failed', error.message, [
      { field, code: error.code, message: error.message, ...(hint ? { hint } : {}) },
    ]);
  }
}
