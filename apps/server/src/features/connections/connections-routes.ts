import { createHash } from 'node:crypto';
import type { connectionSchema } from '@onramp/contracts';
import { api } from '@onramp/contracts';
import {
  cloudFormationDeployCommand,
  concretePolicies,
  getPartition,
  type PartitionId,
  quickCreateLink,
  type RoleBlueprint,
  renderCloudFormationJson,
  renderCloudFormationYaml,
  renderRoleSteps,
  renderTerraform,
} from '@onramp/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { scopesOf } from '../../domain/principal.ts';
import { mount } from '../../http/route.ts';
import { callerOf, tenantOf } from '../../http/route-helpers.ts';
import type { BrandingSource } from '../../ports/branding.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { TemplateStore } from '../../ports/template-store.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { CallbacksService } from '../callbacks/callbacks-service.ts';
import type { ConnectionsService } from './connections-service.ts';

/**
 * What the connections routes use: the connections service for the set-ups; the callbacks service
 * for the tokens their templates carry; the template store for quick-create; and the accounts
 * service for the account a set-up is connected to and the account route of the external-ID
 * lifecycle registered here.
 */
export interface ConnectionsRoutesDeps {
  connections: ConnectionsService;
  callbacks: Pick<CallbacksService, 'callbackFor' | 'issue' | 'forget'>;
  accounts: Pick<AccountsService, 'getAccount' | 'regenerateAccountExternalId'>;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  publicUrl?: string | undefined;
  templates?: TemplateStore | undefined;
  templateBuckets?: Partial<Record<PartitionId, string>> | undefined;
  /** The operator's brand: rendered templates and steps name the platform by it. */
  branding?: Pick<BrandingSource, 'brand'> | undefined;
}

/** The platform's name as customers see it now (a rename reaches the next rendered template). */
export async function brandNameOf(deps: {
  branding?: Pick<BrandingSource, 'brand'> | undefined;
}): Promise<string | undefined> {
  return deps.branding ? (await deps.branding.brand()).name : undefined;
}

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

/**
 * Whether the caller may connect an account, and so be given the connection's call-back token (in a
 * template or a quick-create link): whoever holds it can have a stack connect a role, and a
 * connected account's stack ask for verifies. A read-only caller gets the templates without it.
 */
function mayConnect(request: FastifyRequest): boolean {
  return request.principal ? scopesOf(request.principal).includes('accounts:write') : false;
}

function connectionPath(connection: Connection): string {
  return `/v1/connections/${connection.id}`;
}

/**
 * The quick-create link of a pending connection, or why there is none. The AWS console fetches a
 * quick-create template only from Amazon S3, so the template (with the stack's callback, which needs
 * Onramp's public URL) is published to the partition's template bucket under a key that changes with
 * its content, and the link points at a pre-signed URL of it.
 */
async function quickCreateOf(
  deps: ConnectionsRoutesDeps,
  caller: Caller,
  connection: Connection,
  blueprint: RoleBlueprint,
  log: FastifyBaseLogger,
  withCallback: boolean,
): Promise<{ link: string | null; reason: string | null }> {
  const partition = getPartition(connection.partition);
  if (connection.status !== 'pending') {
    return {
      link: null,
      reason:
        'This connection is connected to an account already; quick-create sets up a new role.',
    };
  }
  if (!withCallback) {
    return {
      link: null,
      reason:
        'A quick-create stack connects its role to the platform by itself, so its link is only for those who may add accounts.',
    };
  }
  if (!deps.publicUrl) {
    return {
      link: null,
      reason:
        'The platform has no public URL, so a stack could not report its role back. Download the template or run the deploy command, then paste the role ARN.',
    };
  }
  const bucket = deps.templateBuckets?.[partition.id];
  if (!bucket || !deps.templates) {
    return {
      link: null,
      reason: `The platform has no template bucket in Amazon S3 for ${partition.displayName}, and the AWS console takes quick-create templates only from S3. Download the template or run the deploy command instead.`,
    };
  }
  const callback = await deps.callbacks.callbackFor(caller, connection);
  if (!callback) {
    return {
      link: null,
      reason: 'The platform could not issue a callback token for this connection.',
    };
  }
  const body = renderCloudFormationYaml(blueprint, { callback });
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  try {
    const { url } = await deps.templates.publish(
      partition.id,
      `connections/${connection.id}/${hash}.yaml`,
      body,
    );
    return { link: quickCreateLink({ blueprint, templateUrl: url }), reason: null };
  } catch (error) {
    log.error({ err: error, connectionId: connection.id, bucket }, 'template not published');
    return {
      link: null,
      reason:
        'The platform could not publish the template to Amazon S3 just now. Download the template or run the deploy command instead, or try again later.',
    };
  }
}

/**
 * A connection as the API shows it: what the tenant needs to create the role (trusted principal,
 * external ID, templates, the deploy command) and, when Onramp has a public URL and a template bucket
 * for the partition, a quick-create link whose stack reports the role back by itself.
 */
export async function toConnectionResponse(
  deps: ConnectionsRoutesDeps,
  caller: Caller,
  connection: Connection,
  log: FastifyBaseLogger,
  /** False for a read-only caller: no call-back token in what it is given (see mayConnect). */
  withCallback = true,
): Promise<z.output<typeof connectionSchema>> {
  const origin = deps.publicUrl?.replace(/\/+$/, '');
  const base = `${origin ?? ''}${connectionPath(connection)}`;
  const slug = fileSlug(connection.name);
  // The operator may have removed the partition's hub (or the issuer a keyless role trusts) since:
  // the connection is still listed and shown, without what only that can give (the templates answer
  // 422 saying why). A keyless role trusts no hub at all.
  const keyless = connection.method === 'oidc_role';
  const unavailableReason = deps.connections.unavailableReason(connection);
  const hub =
    !keyless && !unavailableReason
      ? deps.connections.hubPrincipal(connection.partition)
      : undefined;
  const webIdentity =
    keyless && !unavailableReason ? deps.connections.webIdentityOf(connection) : null;
  const blueprint = unavailableReason
    ? undefined
    : deps.connections.blueprintOf(connection, await brandNameOf(deps));
  const quickCreate = blueprint
    ? await quickCreateOf(deps, caller, connection, blueprint, log, withCallback)
    : { link: null, reason: unavailableReason };
  const account = connection.accountId
    ? await deps.accounts
        .getAccount(connection.tenantId, connection.accountId)
        .catch(() => undefined)
    : undefined;
  return {
    id: connection.id,
    name: connection.name,
    description: connection.description,
    partition: connection.partition,
    bundles: connection.bundles,
    regions: connection.regions,
    roleName: connection.roleName,
    method: connection.method,
    // A keyless role trusts a subject, not an external ID: showing one would suggest otherwise.
    externalId: keyless ? null : connection.externalId,
    webIdentity,
    trustedPrincipal: hub ? { arn: hub.arn, accountId: hub.accountId } : null,
    unavailableReason,
    status: connection.status,
    accountId: connection.accountId,
    previousExternalId: connection.previousExternalId,
    previousExternalIdUntil: connection.previousExternalIdUntil,
    externalIdInUse: account?.externalId ?? null,
    setupMethod: connection.setupMethod,
    expiresAt: deps.connections.expiresAtOf(connection),
    expired: deps.connections.isExpired(connection),
    links: {
      cloudformationYaml: `${base}/cloudformation?format=yaml`,
      cloudformationJson: `${base}/cloudformation?format=json`,
      terraform: `${base}/terraform`,
      steps: `${base}/steps`,
      quickCreate: quickCreate.link,
    },
    quickCreateUnavailableReason: quickCreate.reason,
    reportsBack:
      withCallback &&
      Boolean(deps.publicUrl) &&
      connection.status === 'pending' &&
      Boolean(blueprint),
    deployCommand: blueprint
      ? cloudFormationDeployCommand(blueprint, { templateFile: `onramp-${slug}.yaml` })
      : null,
    createdAt: connection.createdAt,
  };
}

export async function registerConnectionsRoutes(
  app: FastifyInstance,
  deps: ConnectionsRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  mount(routes, api.connections.create, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      const connection = await deps.connections.createConnection(caller, request.body);
      await deps.callbacks.issue(caller, connection, 'created');
      return reply
        .status(201)
        .send(await toConnectionResponse(deps, caller, connection, request.log));
    },
  });

  mount(routes, api.connections.update, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const { externalId: _never, ...changes } = request.body;
      const connection = await deps.connections.updateConnection(
        caller,
        request.params.id,
        changes,
      );
      return toConnectionResponse(deps, caller, connection, request.log);
    },
  });

  mount(routes, api.connections.list, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:read');
      const page = await deps.connections.listConnections(caller.tenantId, request.query);
      return {
        connections: await Promise.all(
          page.connections.map((c) =>
            toConnectionResponse(deps, caller, c, request.log, mayConnect(request)),
          ),
        ),
        next: page.next,
      };
    },
  });

  mount(routes, api.connections.get, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:read');
      const connection = await deps.connections.getConnection(caller.tenantId, request.params.id);
      return toConnectionResponse(deps, caller, connection, request.log, mayConnect(request));
    },
  });

  mount(routes, api.connections.regenerateExternalId, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const connection = await deps.connections.regenerateExternalId(caller, request.params.id);
      // The old token goes with the old external ID: a stack of the old template cannot connect.
      await deps.callbacks.issue(caller, connection, 'external_id_regenerated');
      return toConnectionResponse(deps, caller, connection, request.log);
    },
  });

  mount(routes, api.accounts.regenerateExternalId, {
    handler: async (request) => {
      const caller = callerOf(request, 'accounts:write');
      const connection = await deps.accounts.regenerateAccountExternalId(caller, request.params.id);
      return toConnectionResponse(deps, caller, connection, request.log);
    },
  });

  mount(routes, api.connections.delete, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:write');
      await deps.connections.deleteConnection(caller, request.params.id);
      // The token's row went with the connection; its sealed copy is purged here.
      await deps.callbacks.forget(caller.tenantId, request.params.id);
      return reply.status(204).send();
    },
  });

  mount(routes, api.connections.cloudFormation, {
    handler: async (request, reply) => {
      const caller = callerOf(request, 'accounts:read');
      const connection = await deps.connections.getConnection(caller.tenantId, request.params.id);
      const blueprint = deps.connections.blueprintOf(connection, await brandNameOf(deps));
      const callback = mayConnect(request)
        ? await deps.callbacks.callbackFor(caller, connection)
        : undefined;
      const file = cloudFormationFile(connection, blueprint, request.query.format, callback);
      return sendDownload(reply, file);
    },
  });

  mount(routes, api.connections.terraform, {
    handler: async (request, reply) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connection = await deps.connections.getConnection(tenantId, request.params.id);
      const file = terraformFile(
        connection,
        deps.connections.blueprintOf(connection, await brandNameOf(deps)),
      );
      return sendDownload(reply, file);
    },
  });

  mount(routes, api.connections.steps, {
    handler: async (request) => {
      const tenantId = tenantOf(request, 'accounts:read');
      const connection = await deps.connections.getConnection(tenantId, request.params.id);
      return stepsOf(deps.connections.blueprintOf(connection, await brandNameOf(deps)));
    },
  });
}

/** A file a connection's routes offer for download: its media type, file name and text. */
export interface DownloadFile {
  type: string;
  name: string;
  body: string;
}

/** Sends `file` as an attachment, under its own name (a slug: safe in the header as it is). */
export function sendDownload(reply: FastifyReply, file: DownloadFile): FastifyReply {
  return reply
    .type(file.type)
    .header('content-disposition', `attachment; filename="${file.name}"`)
    .send(file.body);
}

/** A connection's CloudFormation template as a download (also a hosted session's). */
export function cloudFormationFile(
  connection: Connection,
  blueprint: RoleBlueprint,
  format: 'yaml' | 'json',
  callback: Awaited<ReturnType<CallbacksService['callbackFor']>>,
): DownloadFile {
  const options = callback ? { callback } : {};
  return {
    type: format === 'json' ? 'application/json; charset=utf-8' : 'text/yaml; charset=utf-8',
    name: `onramp-${fileSlug(connection.name)}.${format}`,
    body:
      format === 'json'
        ? renderCloudFormationJson(blueprint, options)
        : renderCloudFormationYaml(blueprint, options),
  };
}

/** A connection's Terraform configuration as a download (also a hosted session's). */
export function terraformFile(connection: Connection, blueprint: RoleBlueprint): DownloadFile {
  return {
    type: 'text/plain; charset=utf-8',
    name: `onramp-${fileSlug(connection.name)}.tf`,
    body: renderTerraform(blueprint),
  };
}

/** A connection's manual steps and the policies they paste (also a hosted session's). */
export function stepsOf(blueprint: RoleBlueprint) {
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
}
