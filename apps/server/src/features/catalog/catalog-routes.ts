import {
  api,
  type policyPreviewRequestSchema,
  type policyPreviewResponseSchema,
  type userTemplateRequestSchema,
  type userTemplateResponseSchema,
} from '@onramp/contracts';
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
import type { z } from 'zod';
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
      return previewPolicyOf(deps.catalog, request.body);
    },
  });

  mount(r, api.catalog.userTemplate, {
    handler: async (request) => {
      requireTenant(request.principal, 'accounts:read', requestedTenant(request));
      return userTemplateOf(
        deps.catalog,
        request.body,
        deps.branding ? (await deps.branding.brand()).name : undefined,
      );
    },
  });
}

/** POST /v1/catalog/policy-preview's answer (also a hosted connect session's, within its choices). */
export function previewPolicyOf(
  catalog: Catalog,
  body: z.output<typeof policyPreviewRequestSchema>,
): z.input<typeof policyPreviewResponseSchema> {
  const { partition, bundles, regions, principal } = body;
  const set = buildPolicies(catalog, { partition, bundles, regions: regions ?? [] }, { principal });
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
}

/** POST /v1/catalog/user-template's answer (also a hosted connect session's, within its choices). */
export function userTemplateOf(
  catalog: Catalog,
  body: z.output<typeof userTemplateRequestSchema>,
  platform?: string,
): z.input<typeof userTemplateResponseSchema> {
  const { partition, bundles, regions, userName } = body;
  const blueprint = createUserBlueprint({
    catalog,
    ...(platform ? { platform } : {}),
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
}
