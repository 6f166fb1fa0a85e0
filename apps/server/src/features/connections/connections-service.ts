import {
  type Catalog,
  createRoleBlueprint,
  generateExternalId,
  type HubPrincipal,
  type PartitionId,
  parseHubPrincipal,
  type RoleBlueprint,
  resolveSelection,
} from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import type { Connection, RoleMethod, SetupMethod } from '../../domain/connection.ts';
import { sameList } from '../../domain/selection.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { enforcePartitionAndMethod } from '../accounts/account-limits.ts';
import {
  type CollectionCaps,
  capFor,
  capReached,
  collectionCapsOf,
  lockCollections,
} from '../tenants/collection-caps.ts';
import { noHubIssue, noIssuerIssue } from '../validation/accounts-validation.ts';
import { webIdentityTrustOf } from '../validation/web-identity-session.ts';
import { type ConnectionChanges, createConnectionsRepository } from './connections-repository.ts';

export interface CreateConnectionInput {
  name: string;
  description: string;
  partition: PartitionId;
  bundles: 'default' | 'all' | string[];
  regions: string[];
  /** Default: `OnrampRole-` and a suffix of the connection's id (see defaultRoleName). */
  roleName?: string | undefined;
  /** Default `role`: the hub principal and an external ID; `oidc_role`: Onramp's OIDC issuer. */
  method?: RoleMethod | undefined;
  /** The hosted connect session making it (hidden from the tenant's set-ups, changed only there). */
  connectSessionId?: string | undefined;
}

export interface UpdateConnectionInput {
  name?: string | undefined;
  description?: string | undefined;
  partition?: PartitionId | undefined;
  bundles?: 'default' | 'all' | string[] | undefined;
  regions?: string[] | undefined;
  roleName?: string | undefined;
  setupMethod?: SetupMethod | undefined;
  method?: RoleMethod | undefined;
}

/** What a keyless role of a connection trusts (the contracts' webIdentityTrustSchema). */
export interface WebIdentityTrust {
  issuer: string;
  audience: string;
  subject: string;
  /** The issuer without `https://`: IAM names condition keys and provider ARNs by it. */
  conditionPrefix: string;
  /** The provider's ARN in the customer's account, `<your account ID>` standing for that account. */
  providerArnPattern: string;
}

/** What the connections service is built from; nothing else of the app. */
export interface ConnectionsServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  /**
   * Onramp's OpenID Connect issuer, which keyless (`oidc_role`) roles trust; without one, or without
   * its URL, keyless connections are not offered and existing ones say why they cannot be made.
   */
  webIdentity?:
    | Pick<WebIdentityIssuer, 'issuer' | 'unavailableReason' | 'audienceFor' | 'subjectFor'>
    | undefined;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  audit: Pick<AuditLog, 'append'>;
  tenants: { find(id: string): Promise<{ limits: TenantLimits } | undefined> };
  collectionCaps?: Partial<CollectionCaps> | undefined;
  /** Days a pending connection can be resumed after its last change. Default 14. */
  pendingConnectionDays?: number | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * A connection's default role name: unique to the connection, so two connections to one AWS account
 * (two tenants, or one tenant twice) deploy side by side. The stack (`onramp-<role>`) and managed
 * policies (`<role>-<suffix>`) take their names from it. The id's tail is its random part.
 */
export function defaultRoleName(connectionId: string): string {
  return `OnrampRole-${connectionId.slice(-8)}`;
}

/**
 * Connections (pending role set-ups): create, change, list, regenerate and discard them, and what
 * their templates need. The accounts service connects them through the narrow methods at the end,
 * passing its transaction so an account and its connection change together.
 */
export function createConnectionsService(deps: ConnectionsServiceDeps) {
  const connections = createConnectionsRepository(deps.db, deps.clock);
  const caps = collectionCapsOf(deps.collectionCaps);
  const pendingDays = deps.pendingConnectionDays ?? 14;
  /** Pending connections last changed before this have expired. */
  const pendingSince = () => new Date(deps.clock().getTime() - pendingDays * DAY_MS).toISOString();
  const isExpired = (connection: Connection) =>
    connection.status === 'pending' && connection.updatedAt < pendingSince();

  async function limitsOf(tenantId: string): Promise<TenantLimits> {
    const tenant = await deps.tenants.find(tenantId);
    if (!tenant) throw notFound('Tenant');
    return tenant.limits;
  }

  function hubPrincipal(partition: PartitionId): HubPrincipal {
    const hub = deps.hubs[partition];
    if (!hub)
      throw new AppError('validation_failed', noHubIssue(partition).message, [
        noHubIssue(partition),
      ]);
    const parsed = parseHubPrincipal(hub.principalArn, partition);
    // The configuration is checked at start-up; a bad hub here is the operator's, not the tenant's.
    if (!parsed.ok)
      throw new Error(`the hub identity of ${partition} is invalid: ${parsed.issue.message}`);
    return parsed.value;
  }

  /** The issuer keyless roles trust; 422 on `field` saying why keyless roles are not offered. */
  function issuerUrl(field: string): string {
    const issuer = deps.webIdentity?.issuer;
    if (issuer) return issuer;
    const issue = noIssuerIssue(deps.webIdentity?.unavailableReason ?? null, field);
    throw new AppError('validation_failed', issue.message, [issue]);
  }

  /**
   * What the tenant may set up where: its limits (partitions, methods), then what the method needs
   * of the operator — a hub identity in the partition for `role`, a public issuer for `oidc_role`
   * (which needs no hub, so it is offered where roles are not).
   */
  function enforceOffered(
    limits: TenantLimits,
    partition: PartitionId,
    method: RoleMethod,
    /** Where a missing hub is reported: `method` when only the method changed. */
    hubField: 'partition' | 'method' = 'partition',
  ): void {
    enforcePartitionAndMethod(limits, partition, method, 'method');
    if (method === 'oidc_role') {
      issuerUrl('method');
      return;
    }
    if (!deps.hubs[partition]) {
      const issue = { ...noHubIssue(partition), field: hubField };
      throw new AppError('validation_failed', issue.message, [issue]);
    }
    hubPrincipal(partition);
  }

  /** What a keyless role of this connection must trust; 422 when no issuer is configured. */
  function webIdentityOf(
    connection: Pick<Connection, 'tenantId' | 'id' | 'partition'>,
    field = 'method',
  ): WebIdentityTrust {
    issuerUrl(field);
    const trust = webIdentityTrustOf(deps.webIdentity, {
      partition: connection.partition,
      tenantId: connection.tenantId,
      connectionId: connection.id,
    });
    // issuerUrl threw above unless an issuer is configured, so the trust is there.
    if (!trust) throw new Error('keyless trust without an issuer');
    const { providerArn, ...rest } = trust;
    return { ...rest, providerArnPattern: providerArn };
  }

  /**
   * The blueprint the templates render: a role trusting the hub principal with the external ID, or
   * a keyless role trusting Onramp's issuer with the connection's subject. Throws (422) what a
   * connection cannot be made without: the partition's hub, or the issuer.
   */
  function blueprintFor(
    connection: Pick<
      Connection,
      | 'tenantId'
      | 'id'
      | 'partition'
      | 'bundles'
      | 'regions'
      | 'externalId'
      | 'previousExternalId'
      | 'roleName'
      | 'method'
    >,
    /** The platform's name as customers see it (the operator's brand), for what is rendered. */
    platform?: string,
  ): RoleBlueprint {
    const selection = {
      partition: connection.partition,
      bundles: connection.bundles,
      regions: connection.regions,
    };
    if (connection.method === 'oidc_role') {
      const trust = webIdentityOf(connection);
      return createRoleBlueprint({
        catalog: deps.catalog,
        platform,
        selection,
        // Ignored by a keyless blueprint; kept so a switch back to `role` finds the same ID.
        externalId: connection.externalId,
        roleName: connection.roleName,
        webIdentity: { issuer: trust.issuer, audience: trust.audience, subject: trust.subject },
      });
    }
    return createRoleBlueprint({
      catalog: deps.catalog,
      platform,
      selection,
      externalId: connection.externalId,
      // Listed beside the new one until the grace period ends and Onramp uses the new one.
      previousExternalId: connection.previousExternalId ?? undefined,
      hubPrincipal: hubPrincipal(connection.partition).arn,
      roleName: connection.roleName,
    });
  }

  async function findConnection(tenantId: string, id: string): Promise<Connection> {
    const connection = await connections.find(tenantId, id);
    if (!connection) throw notFound('Connection');
    return connection;
  }

  function audit(
    caller: Caller,
    action: string,
    target: { type: string; id: string },
    details: Record<string, unknown>,
    trx: Kysely<Database>,
  ) {
    return deps.audit.append(auditEntryOf(caller, action, target, details), trx);
  }

  const inTransaction = <T>(work: (trx: Kysely<Database>) => Promise<T>) =>
    deps.db.transaction().execute(work);

  return {
    /** `alsoInTransaction` runs last in the set-up's transaction (a session records it there). */
    async createConnection(
      caller: Caller,
      input: CreateConnectionInput,
      alsoInTransaction?: (connection: Connection, trx: Kysely<Database>) => Promise<void>,
    ): Promise<Connection> {
      const limits = await limitsOf(caller.tenantId);
      const method = input.method ?? 'role';
      enforceOffered(limits, input.partition, method);
      const selection = resolveSelection(deps.catalog, {
        partition: input.partition,
        bundles: input.bundles,
        regions: input.regions,
      });
      // Generated here and only here: a tenant never chooses the external ID, or it would not stop a
      // confused deputy.
      const externalId = generateExternalId(deps.randomBytes(32));
      const bundles = selection.bundles.map((b) => b.id);
      const regions = [...selection.regions];
      const id = newId('connection');
      const roleName = input.roleName ?? defaultRoleName(id);
      // Everything the templates need must render before the set-up is stored (role name, policy sizes).
      blueprintFor({
        tenantId: caller.tenantId,
        id,
        partition: input.partition,
        bundles,
        regions,
        externalId,
        previousExternalId: null,
        roleName,
        method,
      });
      return inTransaction(async (trx) => {
        const locked = await lockCollections(trx, deps.dialect, caller.tenantId);
        const cap = capFor('pendingConnections', locked, caps);
        // A session's set-up is bounded by the sessions' own cap (one each), not the tenant's.
        if (
          !input.connectSessionId &&
          (await connections.countPending(caller.tenantId, trx, pendingSince())) >= cap
        )
          throw capReached('pendingConnections', cap, 'tenant');
        const connection = await connections.create(
          caller.tenantId,
          {
            id,
            name: input.name,
            description: input.description,
            partition: input.partition,
            bundles,
            regions,
            externalId,
            roleName,
            method,
            connectSessionId: input.connectSessionId,
          },
          trx,
        );
        await audit(
          caller,
          'connection.created',
          { type: 'connection', id: connection.id },
          {
            name: connection.name,
            partition: connection.partition,
            method,
            bundles,
            regions,
            roleName: connection.roleName,
          },
          trx,
        );
        if (alsoInTransaction) await alsoInTransaction(connection, trx);
        return connection;
      });
    },

    /**
     * Changes a pending set-up, as the wizard's later steps do; the external ID stays (the tenant may
     * have created the role with it already). The partition rules of create apply. The connection is
     * read under its lock so two PATCHes at once take turns: neither writes back a stale field.
     */
    async updateConnection(
      caller: Caller,
      id: string,
      input: UpdateConnectionInput,
    ): Promise<Connection> {
      const limits = await limitsOf(caller.tenantId);
      const updated = await inTransaction(async (trx) => {
        const current = await connections.findForUpdate(caller.tenantId, id, trx);
        if (!current) throw notFound('Connection');
        if (current.organizationId) throw managedByOrganization(current);
        ensureNotSessions(caller, current);
        if (current.status !== 'pending') throw alreadyConnected(current);
        if (isExpired(current)) throw expiredConnection(current);
        const partition = input.partition ?? current.partition;
        const partitionChanged = partition !== current.partition;
        const method = input.method ?? current.method;
        const methodChanged = method !== current.method;
        // A change of partition or method is offered as a new set-up would be.
        if (partitionChanged || methodChanged)
          enforceOffered(limits, partition, method, partitionChanged ? 'partition' : 'method');
        // Another partition has other defaults and regions: unless told, take its defaults.
        const selection = resolveSelection(deps.catalog, {
          partition,
          bundles: input.bundles ?? (partitionChanged ? 'default' : current.bundles),
          regions: input.regions ?? (partitionChanged ? [] : current.regions),
        });
        const bundles = selection.bundles.map((b) => b.id);
        const regions = [...selection.regions];
        const changes: ConnectionChanges = {};
        if (input.name !== undefined && input.name !== current.name) changes.name = input.name;
        if (input.description !== undefined && input.description !== current.description)
          changes.description = input.description;
        if (partitionChanged) changes.partition = partition;
        if (!sameList(bundles, current.bundles)) changes.bundles = bundles;
        if (!sameList(regions, current.regions)) changes.regions = regions;
        if (input.roleName !== undefined && input.roleName !== current.roleName)
          changes.roleName = input.roleName;
        if (input.setupMethod !== undefined && input.setupMethod !== current.setupMethod)
          changes.setupMethod = input.setupMethod;
        if (methodChanged) changes.method = method;
        const changed = Object.keys(changes);
        if (changed.length === 0) return current;
        // The templates must still render with the new set-up (role name, policy sizes).
        blueprintFor({
          ...current,
          partition,
          bundles,
          regions,
          roleName: changes.roleName ?? current.roleName,
          method,
        });
        if (!(await connections.applyChanges(caller.tenantId, id, changes, trx)))
          throw alreadyConnected(current);
        if (changed.some((k) => k !== 'setupMethod')) {
          await audit(
            caller,
            'connection.updated',
            { type: 'connection', id },
            {
              changed,
              name: changes.name ?? current.name,
              partition,
              method,
              bundles,
              regions,
              roleName: changes.roleName ?? current.roleName,
            },
            trx,
          );
        }
        return undefined;
      });
      return updated ?? findConnection(caller.tenantId, id);
    },

    /** When a pending connection stops being resumable; null once connected. */
    expiresAtOf(connection: Connection): string | null {
      if (connection.status !== 'pending') return null;
      return new Date(Date.parse(connection.updatedAt) + pendingDays * DAY_MS).toISOString();
    },

    isExpired,

    /** One page of the tenant's connections, oldest first. */
    async listConnections(
      tenantId: string,
      query: {
        limit: number;
        cursor?: string | undefined;
        status?: Connection['status'] | undefined;
      },
    ): Promise<{ connections: Connection[]; next: string | null }> {
      const rows = await connections.list(tenantId, {
        ...(query.status ? { status: query.status } : {}),
        // Expired set-ups are no longer offered for resuming.
        ...(query.status === 'pending' ? { pendingSince: pendingSince() } : {}),
        limit: query.limit,
        ...(query.cursor !== undefined
          ? { after: decodeCursor(query.cursor, (k) => isId('connection', k)) }
          : {}),
      });
      const page = toPage(rows, query.limit, (c) => c.id);
      return { connections: page.items, next: page.next };
    },

    getConnection: findConnection,

    async regenerateExternalId(caller: Caller, id: string): Promise<Connection> {
      const connection = await findConnection(caller.tenantId, id);
      if (connection.organizationId) throw managedByOrganization(connection);
      ensureNotSessions(caller, connection);
      if (connection.status !== 'pending') throw alreadyConnected(connection);
      if (isExpired(connection)) throw expiredConnection(connection);
      if (connection.method === 'oidc_role') {
        // Its role trusts a subject of Onramp's issuer, not the external ID (kept, unused, for a
        // switch back to `role`): a new one would change nothing the role checks.
        const message =
          'A keyless role (oidc_role) has no external ID to regenerate: its role trusts the subject of this connection, which only the platform can put in a token.';
        throw new AppError('validation_failed', message, [
          {
            field: 'method',
            code: 'no_external_id',
            message,
            hint: 'To use an external ID, change the connection’s method to role first (PATCH with method: role).',
          },
        ]);
      }
      const externalId = generateExternalId(deps.randomBytes(32));
      await inTransaction(async (trx) => {
        if (!(await connections.replaceExternalId(caller.tenantId, id, externalId, trx)))
          throw alreadyConnected(connection);
        await audit(
          caller,
          'connection.external_id_regenerated',
          { type: 'connection', id },
          { name: connection.name },
          trx,
        );
      });
      return findConnection(caller.tenantId, id);
    },

    async deleteConnection(caller: Caller, id: string): Promise<void> {
      const connection = await findConnection(caller.tenantId, id);
      if (connection.organizationId) throw managedByOrganization(connection);
      ensureNotSessions(caller, connection);
      if (connection.status !== 'pending') throw alreadyConnected(connection);
      await inTransaction(async (trx) => {
        if (!(await connections.deletePending(caller.tenantId, id, trx)))
          throw alreadyConnected(connection);
        await audit(
          caller,
          'connection.deleted',
          { type: 'connection', id },
          { name: connection.name, partition: connection.partition },
          trx,
        );
      });
    },

    /** The principal roles trust in a partition; 422 on `partition` when it has no hub identity. */
    hubPrincipal,

    /**
     * A member connection of an organization, made by Onramp for one member account: its external
     * ID is the organization's `<prefix>-<account ID>` (the member template derives it), its
     * selection and role name the organization's. Created pending; the account made from it marks
     * it connected. In the caller's transaction when given.
     */
    createForOrganizationMember(
      tenantId: string,
      input: {
        organizationId: string;
        name: string;
        partition: PartitionId;
        bundles: string[];
        regions: string[];
        externalId: string;
        roleName: string;
      },
      trx?: Kysely<Database>,
    ): Promise<Connection> {
      return connections.create(
        tenantId,
        { ...input, description: '', method: 'role', organizationId: input.organizationId },
        trx,
      );
    },

    /** Deletes an organization's member connections, in its deletion's transaction. */
    deleteOfOrganization(
      tenantId: string,
      organizationId: string,
      trx?: Kysely<Database>,
    ): Promise<number> {
      return connections.deleteOfOrganization(tenantId, organizationId, trx);
    },

    /**
     * What the CloudFormation, Terraform and manual renderers need for a connection; 422 when what
     * its method needs (the partition's hub, Onramp's issuer) is not configured any more.
     */
    /** `platform`: the brand's name, when the blueprint is rendered for a customer. */
    blueprintOf(connection: Connection, platform?: string): RoleBlueprint {
      return blueprintFor(connection, platform);
    },

    /** What a keyless connection's role trusts; 422 on `method` when no issuer is configured. */
    webIdentityOf: (connection: Connection): WebIdentityTrust => webIdentityOf(connection),

    /**
     * Why a connection cannot be made now (the operator removed the partition's hub, or the issuer
     * a keyless role trusts), or null when its templates render.
     */
    unavailableReason(connection: Pick<Connection, 'partition' | 'method'>): string | null {
      if (connection.method === 'oidc_role')
        return deps.webIdentity?.issuer
          ? null
          : noIssuerIssue(deps.webIdentity?.unavailableReason ?? null, 'method').message;
      return deps.hubs[connection.partition] ? null : noHubIssue(connection.partition).message;
    },

    // ---- for the accounts service ---------------------------------------------------------------
    // An account connected from a set-up changes its connection in the account's own transaction:
    // these methods take that transaction (`trx`) and run in it when given.

    /** The connection, or undefined: for callers with an answer of their own when there is none. */
    find(tenantId: string, id: string): Promise<Connection | undefined> {
      return connections.find(tenantId, id);
    },

    /**
     * The set-up an account is about to be connected from (`connectionId` of the request): 404 on that
     * field when there is none, 409 when it expired, or (for a create) is connected already.
     */
    async forAccount(tenantId: string, id: string, forCreate: boolean): Promise<Connection> {
      const connection = await connections.find(tenantId, id);
      if (!connection) {
        throw new AppError('not_found', 'This connection does not exist, or is not yours to see.', [
          {
            field: 'connectionId',
            code: 'not_found',
            message: 'There is no such connection in this tenant.',
          },
        ]);
      }
      if (forCreate && connection.status !== 'pending') throw alreadyConnected(connection);
      if (isExpired(connection)) throw expiredConnection(connection);
      return connection;
    },

    /** The set-up as validated is still pending and unchanged; read under its lock. */
    async ensureUnchanged(
      tenantId: string,
      validated: Connection,
      trx: Kysely<Database>,
    ): Promise<void> {
      const current = await connections.findForUpdate(tenantId, validated.id, trx);
      if (!current) {
        const message =
          'This role set-up was discarded while the platform validated the role, so the account was not saved.';
        throw new AppError('conflict', message, [
          {
            field: 'connectionId',
            code: 'discarded',
            message,
            hint: 'Start a new set-up from the accounts page.',
          },
        ]);
      }
      if (current.status !== 'pending') throw alreadyConnected(current);
      if (
        current.externalId !== validated.externalId ||
        current.partition !== validated.partition ||
        current.method !== validated.method ||
        !sameList(current.bundles, validated.bundles) ||
        !sameList(current.regions, validated.regions)
      ) {
        const message =
          'This role set-up changed while the platform validated the role (in another tab, or by someone else), so the account was not saved.';
        throw new AppError('conflict', message, [
          {
            field: 'connectionId',
            code: 'changed',
            message,
            hint: 'Reload the set-up, check its method, external ID, partition and permissions, and connect again.',
          },
        ]);
      }
    },

    /** Marks the set-up connected to the account; 409 when another request connected it first. */
    async markConnected(
      connection: Connection,
      accountId: string,
      trx?: Kysely<Database>,
    ): Promise<void> {
      if (!(await connections.markConnected(connection.tenantId, connection.id, accountId, trx)))
        throw alreadyConnected(connection);
    },

    /** The account is gone but the role still trusts the external ID: the set-up can connect again. */
    markPending(tenantId: string, id: string, trx?: Kysely<Database>): Promise<void> {
      return connections.markPending(tenantId, id, trx);
    },

    /** The connected account's permissions changed: its templates follow. */
    updateSelection(
      tenantId: string,
      id: string,
      selection: { bundles: string[]; regions: string[] },
      trx?: Kysely<Database>,
    ): Promise<void> {
      return connections.updateSelection(tenantId, id, selection, trx);
    },

    /** Reads the connection under its lock, so external-ID changes of one connection take turns. */
    lock(tenantId: string, id: string, trx: Kysely<Database>): Promise<Connection | undefined> {
      return connections.findForUpdate(tenantId, id, trx);
    },

    /** A regeneration's new external ID beside the one in use (see connections-repository). */
    rotateExternalId(
      tenantId: string,
      id: string,
      rotation: { from: string; externalId: string; previous: string; until: string },
      trx?: Kysely<Database>,
    ): Promise<boolean> {
      return connections.rotateExternalId(tenantId, id, rotation, trx);
    },

    /** The grace period is over: the replaced external ID leaves the templates. */
    dropPreviousExternalId(
      tenantId: string,
      id: string,
      previous: string,
      trx?: Kysely<Database>,
    ): Promise<boolean> {
      return connections.dropPreviousExternalId(tenantId, id, previous, trx);
    },
  };
}

export type ConnectionsService = ReturnType<typeof createConnectionsService>;

function expiredConnection(connection: Connection): AppError {
  const message = `This role set-up expired: it was last changed on ${connection.updatedAt.slice(0, 10)} and pending set-ups can be resumed for a limited time. Start a new one (its external ID is new).`;
  return new AppError('conflict', message, [
    { field: 'connectionId', code: 'expired', message, hint: 'Add the account again.' },
  ]);
}

/** 409: a member connection is the organization's to change (its rules, permissions, deletion). */
function managedByOrganization(connection: Connection): AppError {
  const message = `This connection belongs to organization ${connection.organizationId}, which manages it: change the organization instead (its permissions, rules, or its deletion).`;
  return new AppError('conflict', message, [
    {
      field: 'connectionId',
      code: 'managed_by_organization',
      message,
      hint: `Use /v1/organizations/${connection.organizationId}.`,
    },
  ]);
}

/**
 * 409: a pending set-up of a hosted connect session is the session's (the customer's browser
 * changes it there); the tenant's API may not change, rotate or discard it under the customer.
 */
function ensureNotSessions(caller: Caller, connection: Connection): void {
  if (!connection.connectSessionId || connection.status !== 'pending') return;
  if (caller.actorType === 'connect_session' && caller.actorId === connection.connectSessionId)
    return;
  const message = `This role set-up belongs to connect session ${connection.connectSessionId}: the customer sets it up through the session's link.`;
  throw new AppError('conflict', message, [
    {
      field: 'connectionId',
      code: 'managed_by_connect_session',
      message,
      hint: `Cancel the session (POST /v1/connect-sessions/${connection.connectSessionId}/cancel) or let it complete.`,
    },
  ]);
}

function alreadyConnected(connection: Connection): AppError {
  const message = `This connection is already connected to account ${connection.accountId}; delete that account to connect it again, or create a new connection.`;
  return new AppError('conflict', message, [
    { field: 'connectionId', code: 'already_connected', message },
  ]);
}
