import {
  connectionListSchema,
  connectionSchema,
  createConnectionRequestSchema,
  stepsResponseSchema,
} from '@onramp/contracts';
import {
  cloudFormationDeployCommand,
  concretePolicies,
  quickCreateLink,
  renderCloudFormationJson,
  renderCloudFormationYaml,
  renderRoleSteps,
  renderTerraform,
} from '@onramp/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../../http/context.ts';
import { callerOf, idParamsSchema, tenantOf } from '../accounts/accounts-routes.ts';
import type { Connection } from './connections-repository.ts';

/** A name safe in a file name and a content-disposition header: `Prod (EU)` → `prod-eu`. */
export function fileSlug(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug || 'role';
}

function connectionPath(connection: Connection): string {
  return `/v1/connections/${connection.id}`;
}

/**
 * A connection as the API shows it: what the tenant needs to create the role (trusted principal,
 * external ID, templates, the deploy command) and, when Onramp has a public URL, a quick-create link.
 */
export function toConnectionResponse(
  ctx: AppContext,
  connection: Connection,
): z.output<typeof connectionSchema> {
  const hub = ctx.accounts.hubPrincipal(connection.partition);
  const blueprint = ctx.accounts.blueprintOf(connection);
  const origin = ctx.publicUrl?.replace(/\/+$/, '');
  const base = `${origin ?? ''}${connectionPath(connection)}`;
  const slug = fileSlug(connection.name);
  return {
    id: connection.id,
    name: connection.name,
    description: connection.description,
    partition: connection.partition,
    bundles: connection.bundles,
    regions: connection.regions,
    roleName: connection.roleName,
    externalId: connection.externalId,
    trustedPrincipal: { arn: hub.arn, accountId: hub.accountId },
    status: connection.status,
    accountId: connection.accountId,
    links: {
      cloudformationYaml: `${base}/cloudformation?format=yaml`,
      cloudformationJson: `${base}/cloudformation?format=json`,
      terraform: `${base}/terraform`,
      steps: `${base}/steps`,
      quickCreate: origin
        ? quickCreateLink({ blueprint, templateUrl: `${base}/cloudformation?format=yaml` })
        : null,
    },
    deployCommand: cloudFormationDeployCommand(blueprint, { templateFile: `onramp-${slug}.yaml` }),
    createdAt: connection.createdAt,
  };
}

const cloudFormationQuerySchema = z.object({ format: z.enum(['yaml', 'json']).default('yaml') });

export async function registerConnectionsRoutes(
  app: FastifyInstance,
  ctx: AppContext,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['connections'];

  routes.post(
    '/v1/connections',
    {
      schema: {
        tags,
        summary: 'Start a role set-up',
        description:
          'Onramp generates the external ID (a client cannot choose it) and returns the templates and steps that create the role.',
        body: createConnectionRequestSchema,
        response: { 201: connectionSchema },
      },
    },
    async (request, reply) => {
      const connection = await ctx.accounts.createConnection(
        callerOf(request, 'accounts:write'),
        request.body,
      );
      return reply.status(201).send(toConnectionResponse(ctx, connection));
    },
  );

  routes.get(
    '/v1/connections',
    {
      schema: { tags, summary: 'List connections', response: { 200: connectionListSchema } },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connections = await ctx.accounts.listConnections(tenantId);
      return { connections: connections.map((c) => toConnectionResponse(ctx, c)) };
    },
  );

  routes.get(
    '/v1/connections/:id',
    {
      schema: {
        tags,
        summary: 'Get a connection',
        description: 'Retrying a set-up reuses it: the external ID stays the same.',
        params: idParamsSchema,
        response: { 200: connectionSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      return toConnectionResponse(
        ctx,
        await ctx.accounts.getConnection(tenantId, request.params.id),
      );
    },
  );

  routes.post(
    '/v1/connections/:id/external-id',
    {
      schema: {
        tags,
        summary: 'Generate a new external ID',
        description:
          'Only while the connection is pending; the role must then be created with the new one.',
        params: idParamsSchema,
        response: { 200: connectionSchema },
      },
    },
    async (request) => {
      const connection = await ctx.accounts.regenerateExternalId(
        callerOf(request, 'accounts:write'),
        request.params.id,
      );
      return toConnectionResponse(ctx, connection);
    },
  );

  routes.delete(
    '/v1/connections/:id',
    {
      schema: {
        tags,
        summary: 'Delete a pending connection',
        params: idParamsSchema,
      },
    },
    async (request, reply) => {
      await ctx.accounts.deleteConnection(callerOf(request, 'accounts:write'), request.params.id);
      return reply.status(204).send();
    },
  );

  routes.get(
    '/v1/connections/:id/cloudformation',
    {
      schema: {
        tags,
        summary: 'Download the CloudFormation template',
        params: idParamsSchema,
        querystring: cloudFormationQuerySchema,
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connection = await ctx.accounts.getConnection(tenantId, request.params.id);
      const blueprint = ctx.accounts.blueprintOf(connection);
      const { format } = request.query;
      const body =
        format === 'json'
          ? renderCloudFormationJson(blueprint)
          : renderCloudFormationYaml(blueprint);
      return reply
        .type(format === 'json' ? 'application/json; charset=utf-8' : 'text/yaml; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="onramp-${fileSlug(connection.name)}.${format}"`,
        )
        .send(body);
    },
  );

  routes.get(
    '/v1/connections/:id/terraform',
    {
      schema: {
        tags,
        summary: 'Download the Terraform configuration',
        params: idParamsSchema,
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connection = await ctx.accounts.getConnection(tenantId, request.params.id);
      const body = renderTerraform(ctx.accounts.blueprintOf(connection));
      return reply
        .type('text/plain; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="onramp-${fileSlug(connection.name)}.tf"`,
        )
        .send(body);
    },
  );

  routes.get(
    '/v1/connections/:id/steps',
    {
      schema: {
        tags,
        summary: 'The role set-up as manual steps in the AWS console',
        params: idParamsSchema,
        response: { 200: stepsResponseSchema },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connection = await ctx.accounts.getConnection(tenantId, request.params.id);
      const blueprint = ctx.accounts.blueprintOf(connection);
      const documents = concretePolicies(blueprint.policySet, {
        roleName: blueprint.roleName,
        rolePath: blueprint.rolePath,
      });
      return {
        steps: renderRoleSteps(blueprint),
        policies: documents.map((document, i) => ({
          name: `${blueprint.roleName}-${blueprint.policySet.policies[i]?.suffix ?? `permissions-${i + 1}`}`,
          document,
        })),
      };
    },
  );
}
