import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Account } from '../../domain/account.ts';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { toAccountResponse, toValidationResponse } from './account-view.ts';
import type { AccountsService } from './accounts-service.ts';

/** What the accounts routes use. */
export interface AccountsRoutesDeps {
  accounts: AccountsService;
  /** Onramp's OpenID Connect issuer: what a keyless role account trusts (its `webIdentity`). */
  webIdentity?: WebIdentityIssuer | undefined;
}

export async function registerAccountsRoutes(
  app: FastifyInstance,
  deps: AccountsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const view = (account: Account) => toAccountResponse(account, deps.webIdentity);

  mount(routes, api.accounts.validate, {
    handler: async (request, reply) => {
      const tenantId = tenantOf(request, 'accounts:write');
      const report = await deps.accounts.validate(tenantId, request.body, {
        signal: abortOnClose(reply),
      });
      const body = request.body;
      const notices = report.identity
        ? await deps.accounts.noticesFor(tenantId, {
            awsAccountId: report.identity.accountId,
            credential:
              body.method !== 'access_keys'
                ? { method: body.method, roleArn: body.roleArn }
                : { method: 'access_keys', accessKeyId: body.accessKeyId },
          })
        : [];
      return {
        notices,
        ...toValidationResponse(report),
        savableDegraded: report.proven && report.status === 'degraded',
      };
    },
  });

  mount(routes, api.accounts.create, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      const account = await deps.accounts.create(caller, request.body, {
        signal: abortOnClose(reply),
      });
      const notices = await deps.accounts.noticesFor(caller.tenantId, {
        awsAccountId: account.awsAccountId,
        credential:
          account.method !== 'access_keys'
            ? { method: account.method, roleArn: account.roleArn ?? '' }
            : { method: 'access_keys', accessKeyId: account.accessKeyId ?? '' },
        exceptId: account.id,
      });
      return reply.status(201).send({ ...view(account), notices });
    },
  });

  mount(routes, api.accounts.list, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const page = await deps.accounts.list(tenantId, request.query);
      return { accounts: page.accounts.map(view), next: page.next };
    },
  });

  mount(routes, api.accounts.summary, {
    handler: async (request) =>
      deps.accounts.summary(tenantOf(request, 'accounts:read'), request.query),
  });

  mount(routes, api.accounts.get, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return view(await deps.accounts.getAccount(tenantId, request.params.id));
    },
  });

  mount(routes, api.accounts.update, {
    handler: async (request) => {
      const account = await deps.accounts.update(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.body,
      );
      return view(account);
    },
  });

  mount(routes, api.accounts.replaceCredentials, {
    handler: async (request) => {
      const account = await deps.accounts.replaceCredentials(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.body,
      );
      return view(account);
    },
  });

  mount(routes, api.accounts.delete, {
    handler: async (request, reply) => {
      await deps.accounts.remove(callerOf(request, 'accounts:write'), request.params.id);
      return reply.status(204).send();
    },
  });
}
