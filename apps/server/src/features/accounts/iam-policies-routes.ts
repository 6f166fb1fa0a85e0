import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { IamPoliciesService } from './iam-policies-service.ts';

/** What the IAM-policies routes use. */
export interface IamPoliciesRoutesDeps {
  iamPolicies: IamPoliciesService;
}

/**
 * Palette's "Add IAM Policies": once an account is validated, list the account's IAM policies (AWS
 * managed or its own), searchable, with what is attached, and attach chosen ones to the account's role
 * or user. Onramp acts as the account's own identity, so this needs the catalog's
 * "iam-policy-attachment" bundle (or equivalent permissions) in the account.
 */
export async function registerIamPoliciesRoutes(
  app: FastifyInstance,
  deps: IamPoliciesRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.accounts.iamPolicies, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return deps.iamPolicies.list(tenantId, request.params.id, request.query);
    },
  });

  mount(routes, api.accounts.attachIamPolicies, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      return deps.iamPolicies.attach(caller, request.params.id, request.body.policyArns);
    },
  });
}
