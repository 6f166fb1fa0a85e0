import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { mount } from '../../http/route.ts';
import { callerOf } from '../../http/route-helpers.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { toCheckResponse } from '../health/health-routes.ts';
import { toAccountResponse } from './account-view.ts';
import type { PermissionsUpdateService } from './permissions-update.ts';
import type { PermissionsVerify } from './permissions-verify.ts';

/** What the permission-update routes use. */
export interface PermissionsUpdateRoutesDeps {
  permissionsUpdate: PermissionsUpdateService;
  permissionsVerify: PermissionsVerify;
  /** Shows what a keyless account's role trusts (`webIdentity`). */
  webIdentity: WebIdentityIssuer;
}

/**
 * Updating one account's permissions: what to apply, rendered for the way its role was made, and the
 * verification once applied. Both need the scope that changes an account (PATCH): the first changes
 * nothing, but it hands out the templates that change the account's role, and may publish one.
 */
export async function registerPermissionsUpdateRoutes(
  app: FastifyInstance,
  deps: PermissionsUpdateRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.accounts.permissionsUpdate, {
    handler: async (request) =>
      deps.permissionsUpdate.render(
        callerOf(request, 'accounts:write'),
        request.params.id,
        request.log,
      ),
  });

  mount(routes, api.accounts.permissionsVerify, {
    handler: async (request, reply) => {
      const { account, check } = await deps.permissionsVerify.verify(
        callerOf(request, 'accounts:write'),
        request.params.id,
        { signal: abortOnClose(reply) },
      );
      return {
        account: toAccountResponse(account, deps.webIdentity),
        check: toCheckResponse(check),
      };
    },
  });
}
