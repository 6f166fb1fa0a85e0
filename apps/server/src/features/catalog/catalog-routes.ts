import { api } from '@onramp/contracts';
import type { Catalog } from '@onramp/core';
import {
  buildPolicies,
  concretePolicies,
  createUserBlueprint,
  describeCatalog,
  renderUserCloudFormationYaml,
  renderUserSteps,
  renderUserTerraform,
  userConsoleLinks,
} from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { requireTenant } from '../../domain/principal.ts';
import { mount } from '../../http/route.ts';
import { requestedTenant } from '../../http/route-helpers.ts';
import type { BrandingSource } from '../../ports/branding.ts';

/** What the catalog routes use: the operator's catalog only. */
export interface CatalogRoutesDeps {
  catalog: Catalog;
  /** The operator's brand: the user's templates and steps name the platform by it. */
  branding?: Pick<BrandingSource, 'brand'> | undefined;
}

export async function registerCatalogRoutes(
  app: FastifyInstance,
  deps: CatalogRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const description = describeCatalog(deps.catalog);

  mount(r, api.catalog.get, {
    handler: async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      return description;
    },
  });

  mount(r, api.catalog.previewPolicy, {
    handler: async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      const { partition, bundles, regions, principal } = request.body;
      const set = buildPolicies(
        deps.catalog,
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
  });

  mount(r, api.catalog.userTemplate, {
    handler: async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      const { partition, bundles, regions, userName } = request.body;
      const blueprint = createUserBlueprint({
        catalog: deps.catalog,
        ...(deps.branding ? { platform: (await deps.branding.brand()).name } : {}),
        selection: { partition, bundles, regions: regions ?? [] },
        ...(userName ? { userName } : {}),
      });
      const { policySet } = blueprint;
      const documents = concretePolicies(policySet, { roleName: blueprint.userName });
      // A user name may hold `@`, `=` or `,`: fine in IAM, not in every file system.
      const file = `${blueprint.userName.replace(/[^A-Za-z0-9._-]/g, '-')}-${partition}`;
      return {
        partition,
        userName: blueprint.userName,
        bundles: policySet.bundles.map((b) => b.id),
        regions: [...policySet.regions],
        consoleLinks: userConsoleLinks(blueprint),
        policies: policySet.policies.map((p, i) => ({
          name: `${blueprint.userName}-${p.suffix}`,
          document: documents[i] as (typeof documents)[number],
        })),
        steps: renderUserSteps(blueprint),
        cloudformation: {
          fileName: `${file}.yaml`,
          yaml: renderUserCloudFormationYaml(blueprint),
        },
        terraform: {
          fileName: `${file}.tf`,
          hcl: renderUserTerraform(blueprint),
        },
      };
    },
  });
}
