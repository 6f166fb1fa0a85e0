import {
  accountPageSchema,
  accountSchema,
  createAccountRequestSchema,
  createdAccountSchema,
  listAccountsQuerySchema,
  replaceCredentialsRequestSchema,
  updateAccountRequestSchema,
  validationResultSchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { callerOf, idParamsSchema, tenantOf } from '../../http/route-helpers.ts';
import { toAccountResponse } from './account-view.ts';
import type { AccountsService } from './accounts-service.ts';

/** What the accounts routes use. */
export interface AccountsRoutesDeps {
  accounts: AccountsService;
}

export async function registerAccountsRoutes(
  app: FastifyInstance,
  deps: AccountsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['accounts'];

  routes.post(
    '/v1/accounts/validate',
    {
      schema: {
        tags,
        summary: 'Check credentials without saving anything',
        description:
          'Runs the same checks as creating the account and reports each of them. Nothing is stored. A check AWS did not answer is `error` (the permissions check a `warning`: unverified), with the reason; the others’ findings stand. 502 only when no AWS call answered at all.',
        body: createAccountRequestSchema,
        response: { 200: validationResultSchema },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request, 'accounts:write');
      const report = await deps.accounts.validate(tenantId, request.body, {
        signal: abortOnClose(reply),
      });
      const body = request.body;
      const notices = report.identity
        ? await deps.accounts.noticesFor(tenantId, {
            awsAccountId: report.identity.accountId,
            credential:
              body.method === 'role'
                ? { method: 'role', roleArn: body.roleArn }
                : { method: 'access_keys', accessKeyId: body.accessKeyId },
          })
        : [];
      return {
        notices,
        valid: report.valid,
        status: report.status,
        findings: report.findings,
        identity: report.identity
          ? { accountId: report.identity.accountId, arn: report.identity.arn }
          : null,
        checks: report.checks,
        errors: report.errors,
      };
    },
  );

  routes.post(
    '/v1/accounts',
    {
      schema: {
        tags,
        summary: 'Connect an AWS account',
        description:
          'With access keys, or with the role of a pending connection. Saved only when validation passes; otherwise 422 with the field errors and the `checks`. When AWS cannot simulate the permissions but the identity (and the external ID) checks passed, the account is saved as `unverified`, the permissions check saying why. 502 (with the `checks`) when AWS did not answer a check that must pass. A role ARN or access key ID another account of the tenant already uses is a 409 naming that account (`existingAccount`); another principal in an AWS account the tenant already connects is allowed, with a `same_aws_account` notice.',
        body: createAccountRequestSchema,
        response: { 201: createdAccountSchema },
      },
    },
    async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      const account = await deps.accounts.create(caller, request.body, {
        signal: abortOnClose(reply),
      });
      const notices = await deps.accounts.noticesFor(caller.tenantId, {
        awsAccountId: account.awsAccountId,
        credential:
          account.method === 'role'
            ? { method: 'role', roleArn: account.roleArn ?? '' }
            : { method: 'access_keys', accessKeyId: account.accessKeyId ?? '' },
        exceptId: account.id,
      });
      return reply.status(201).send({ ...toAccountResponse(account), notices });
    },
  );

  routes.get(
    '/v1/accounts',
    {
      schema: {
        tags,
        summary: 'List accounts',
        description:
          'Filtered, by id ascending; pass `next` as `cursor` for the following page. `q` matches the name, the description or the AWS account ID (or part of it), ignoring case.',
        querystring: listAccountsQuerySchema,
        response: { 200: accountPageSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const page = await deps.accounts.list(tenantId, request.query);
      return { accounts: page.accounts.map(toAccountResponse), next: page.next };
    },
  );

  routes.get(
    '/v1/accounts/:id',
    {
      schema: {
        tags,
        summary: 'Get an account',
        params: idParamsSchema,
        response: { 200: accountSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return toAccountResponse(await deps.accounts.getAccount(tenantId, request.params.id));
    },
  );

  routes.patch(
    '/v1/accounts/:id',
    {
      schema: {
        tags,
        summary: 'Rename an account or change its permissions',
        description:
          'Changing the permissions of a role account checks the role again and records the result as its status.',
        params: idParamsSchema,
        body: updateAccountRequestSchema,
        response: { 200: accountSchema },
      },
    },
    async (request) => {
      const account = await deps.accounts.update(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.body,
      );
      return toAccountResponse(account);
    },
  );

  routes.put(
    '/v1/accounts/:id/credentials',
    {
      schema: {
        tags,
        summary: 'Replace the credentials',
        description:
          'New access keys, or a new role ARN, validated before they replace the current ones; when validation fails nothing changes.',
        params: idParamsSchema,
        body: replaceCredentialsRequestSchema,
        response: { 200: accountSchema },
      },
    },
    async (request) => {
      const account = await deps.accounts.replaceCredentials(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.body,
      );
      return toAccountResponse(account);
    },
  );

  routes.delete(
    '/v1/accounts/:id',
    {
      schema: {
        tags,
        summary: 'Delete an account',
        description: 'Purges its stored secret; the audit log keeps the record of it.',
        params: idParamsSchema,
      },
    },
    async (request, reply) => {
      await deps.accounts.remove(callerOf(request, 'accounts:write'), request.params.id);
      return reply.status(204).send();
    },
  );
}
