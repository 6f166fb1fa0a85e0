import {
  catalogResponseSchema,
  policyPreviewRequestSchema,
  policyPreviewResponseSchema,
} from '@onramp/contracts';
import { buildPolicies, concretePolicies, describeCatalog } from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../http/context.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import { requireTenant } from '../auth/principal.ts';

export async function registerCatalogRoutes(app: FastifyInstance, ctx: AppContext): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const description = describeCatalog(ctx.catalog);

  r.get(
    '/v1/catalog',
    {
      schema: {
        tags: ['catalog'],
        summary: 'Products and bundles, what is default and where each is available',
        response: { 200: catalogResponseSchema },
      },
    },
    async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      return description;
    },
  );

  r.post(
    '/v1/policies/preview',
    {
      schema: {
        tags: ['catalog'],
        summary: 'The exact IAM policies for a selection (the console’s live “View JSON”)',
        body: policyPreviewRequestSchema,
        response: { 200: policyPreviewResponseSchema },
      },
    },
    async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      const { partition, bundles, regions, principal } = request.body;
      const set = buildPolicies(
        ctx.catalog,
        { partition, bundles, regions: regions ?? [] },
        { principal },
      );
      const documents = concretePolicies(set, { roleName: 'OnrampRole' });
      return {
        partition,
        bundles: set.bundles.map((b) => b.id),
        regions: [...set.regions],
        policies: set.policies.map((p, i) => ({
          name: `OnrampRole-${p.suffix}`,
          size: p.size,
          document: documents[i] as (typeof documents)[number],
        })),
      };
    },
  );
}
