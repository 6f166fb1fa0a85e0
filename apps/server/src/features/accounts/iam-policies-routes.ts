import {
  attachIamPoliciesRequestSchema,
  attachIamPoliciesResponseSchema,
  iamPoliciesQuerySchema,
  iamPolicyPageSchema,
} from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { callerOf, idParamsSchema, tenantOf } from '../../http/route-helpers.ts';
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
  const tags = ['accounts'];

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
      return deps.iamPolicies.list(tenantId, request.params.id, request.query);
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
      return deps.iamPolicies.attach(caller, request.params.id, request.body.policyArns);
    },
  );
}
