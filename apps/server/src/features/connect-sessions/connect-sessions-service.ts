import { createHash, timingSafeEqual } from 'node:crypto';
import type {
  connectSessionSchema,
  createConnectSessionRequestSchema,
  hostedConnectionRequestSchema,
} from '@onramp/contracts';
import { type Catalog, getPartition, type PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account } from '../../domain/account.ts';
import { auditEntryOf, type Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { isReturnUrlAllowed, returnUrlProblem, returnUrlWith } from '../../domain/return-urls.ts';
import type { TenantLimits } from '../../domain/tenant.ts';
import { decodeCursor, toPage } from '../../http/pagination.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { isId, newId } from '../../ids.ts';
import type { AuditLog } from '../../ports/audit-log.ts';
import type { BrandingSource } from '../../ports/branding.ts';
import type { HubIdentity } from '../../ports/hubs.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { toAccountResponse } from '../accounts/account-view.ts';
import type { AccountsService, CreateAccountInput } from '../accounts/accounts-service.ts';
import type { PermissionsVerify } from '../accounts/permissions-verify.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import { partitionOffers } from '../partitions/partition-offers.ts';
import { lockCollections } from '../tenants/collection-caps.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import {
  createConnectSessionsRepository,
  type SessionAllowed,
  type StoredSession,
} from './connect-sessions-repository.ts';

export type CreateConnectSessionInput = z.output<typeof createConnectSessionRequestSchema>;
export type HostedConnectionInput = z.output<typeof hostedConnectionRequestSchema>;
export type ConnectSessionView = z.input<typeof connectSessionSchema>;
type Outcome = 'connected' | 'fixed' | 'cancelled' | 'expired';

/** Live (open or active, unexpired) sessions a tenant may have at once. */
export const MAX_LIVE_SESSIONS = 1000;

export interface ConnectSessionsServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  hubs: Partial<Record<PartitionId, HubIdentity>>;
  webIdentity?: WebIdentityIssuer | undefined;
  /** Where the link points; without it, the origin the platform's request came to. */
  publicUrl?: string | undefined;
  /** Default lifetime of a link, in minutes (ONRAMP_CONNECT_SESSION_MINUTES). */
  connectSessionMinutes?: number | undefined;
  audit: Pick<AuditLog, 'append'>;
  events?: EventPublisher | undefined;
  tenants: { find(id: string): Promise<{ limits: TenantLimits } | undefined> };
  accounts: Pick<
    AccountsService,
    'find' | 'getAccount' | 'create' | 'validate' | 'replaceCredentials' | 'onConnectedFromSession'
  >;
  connections: Pick<ConnectionsService, 'createConnection' | 'updateConnection' | 'find'>;
  permissionsVerify: Pick<PermissionsVerify, 'verify'>;
  branding: BrandingSource;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function sameSecret(presented: string, storedHash: string | null): boolean {
  if (!storedHash) return false;
  const a = Buffer.from(sha256(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** 404, the same for an unknown id, another tenant's, a wrong secret or a missing cookie. */
export const unknownSession = () => notFound('This connect session');

function fieldProblem(
  code: 'validation_failed' | 'not_found' | 'conflict' | 'limit_reached',
  field: string,
  reason: string,
  message: string,
  hint?: string,
): AppError {
  return new AppError(code, message, [{ field, code: reason, message, ...(hint ? { hint } : {}) }]);
}

/**
 * Hosted connect sessions (issue 17): the platform's side (create, list, read, cancel) and the
 * browser's (open once, then act within what the session allows). The session's compare-and-set
 * moves are the only way its state changes, so a link cannot be opened twice, and a session completes
 * once, with the account created in the same transaction.
 */
export function createConnectSessionsService(deps: ConnectSessionsServiceDeps) {
  const sessions = createConnectSessionsRepository(deps.db, deps.clock);
  const now = () => deps.clock().toISOString();
  const secret = () => Buffer.from(deps.randomBytes(32)).toString('base64url');

  function isExpired(session: StoredSession): boolean {
    return (session.state === 'open' || session.state === 'active') && session.expiresAt <= now();
  }

  function stateOf(session: StoredSession): ConnectSessionView['state'] {
    return isExpired(session) ? 'expired' : session.state;
  }

  function outcomeOf(session: StoredSession): Outcome | null {
    return isExpired(session) ? 'expired' : session.outcome;
  }

  function view(session: StoredSession): ConnectSessionView {
    return {
      id: session.id,
      tenantId: session.tenantId,
      reference: session.reference,
      state: stateOf(session),
      outcome: outcomeOf(session),
      kind: session.kind,
      partitions: session.allowed.partitions,
      methods: session.allowed.methods,
      bundles: session.allowed.bundles,
      regions: session.allowed.regions,
      accountName: session.allowed.accountName,
      returnUrl: session.returnUrl,
      accountId: session.accountId,
      connectionId: session.connectionId,
      expiresAt: session.expiresAt,
      openedAt: session.openedAt,
      completedAt: session.completedAt,
      createdAt: session.createdAt,
      createdBy: session.createdBy,
    };
  }

  function audit(
    caller: Caller,
    action: string,
    session: StoredSession,
    details: Record<string, unknown>,
    trx?: Kysely<Database>,
  ) {
    return deps.audit.append(
      auditEntryOf(
        caller,
        action,
        { type: 'connect_session', id: session.id },
        { reference: session.reference, ...details },
      ),
      trx,
    );
  }

  async function limitsOf(tenantId: string): Promise<TenantLimits> {
    const tenant = await deps.tenants.find(tenantId);
    if (!tenant) throw notFound('Tenant');
    return tenant.limits;
  }

  async function offersOf(tenantId: string) {
    return partitionOffers(await limitsOf(tenantId), deps.hubs, deps.webIdentity);
  }

  /** Why a session no longer takes changes (409 naming it), or nothing while it is live. */
  function endedProblem(session: StoredSession): AppError | undefined {
    const state = stateOf(session);
    if (state === 'open' || state === 'active') return undefined;
    const messages = {
      completed: ['session_completed', 'This link was used and its AWS account is set up.'],
      cancelled: ['session_cancelled', 'This link was cancelled and no longer works.'],
      expired: ['session_expired', 'This link expired and no longer works.'],
    } as const;
    const [code, message] = messages[state];
    return fieldProblem(
      'conflict',
      'session',
      code,
      message,
      'Return to the product you came from and start again there.',
    );
  }

  function ensureLive(session: StoredSession): void {
    const problem = endedProblem(session);
    if (problem) throw problem;
    if (session.state !== 'active')
      throw fieldProblem('conflict', 'session', 'not_opened', 'Open the session’s link first.');
  }

  /** The session's completion, as the webhook and the audit log record it, in `trx`. */
  async function recordCompletion(
    caller: Caller,
    session: StoredSession,
    account: Account,
    outcome: 'connected' | 'fixed',
    trx: Kysely<Database>,
  ): Promise<void> {
    if (
      !(await sessions.finish(
        session.tenantId,
        session.id,
        { state: 'completed', outcome },
        account.id,
        trx,
      ))
    ) {
      const current = await sessions.find(session.tenantId, session.id, trx);
      throw (
        (current && endedProblem(current)) ??
        fieldProblem('conflict', 'session', 'session_moved', 'This session changed meanwhile.')
      );
    }
    const completed = await sessions.find(session.tenantId, session.id, trx);
    await audit(
      caller,
      'connect_session.completed',
      session,
      { outcome, accountId: account.id },
      trx,
    );
    if (deps.events && completed) {
      await deps.events.publish(
        {
          tenantId: session.tenantId,
          type: 'connect_session.completed',
          data: {
            session: view(completed),
            account: toAccountResponse(account, deps.webIdentity),
          },
        },
        trx,
      );
    }
  }

  // A stack's call-back (or any account creation) that connects a session's set-up completes the
  // session in the account's transaction; a session no longer live rolls the account back.
  deps.accounts.onConnectedFromSession(async (caller, account, connection, trx) => {
    if (!connection.connectSessionId) return;
    const session = await sessions.find(connection.tenantId, connection.connectSessionId, trx);
    if (!session) return;
    // A stack's call-back acts for the session; a tenant's user or token stays who it is.
    const actor: Caller =
      caller.actorType === 'system'
        ? { ...caller, actorType: 'connect_session', actorId: session.id }
        : caller;
    await recordCompletion(actor, session, account, 'connected', trx);
  });

  /** Which bundles a session lets the customer take in `partition`: the choice applied to `given`. */
  function bundlesFor(
    allowed: SessionAllowed,
    partition: PartitionId,
    given: readonly string[] | 'default' | 'all' | undefined,
  ): string[] {
    const choice = allowed.bundles;
    if ('fixed' in choice) {
      if (Array.isArray(given) && !sameSet(given, choice.fixed))
        throw fieldProblem(
          'validation_failed',
          'bundles',
          'not_allowed',
          'The permissions of this session are set: they cannot be changed.',
        );
      return [...choice.fixed];
    }
    if (!Array.isArray(given)) {
      const offered = new Set(deps.catalog.availableBundles(partition).map((b) => b.id));
      const defaults = new Set(deps.catalog.defaultBundles(partition).map((b) => b.id));
      const inPartition = choice.choose.filter((id) => offered.has(id));
      const start = choice.preselected ?? inPartition.filter((id) => defaults.has(id));
      return start.length > 0 ? [...start] : inPartition;
    }
    const outside = given.filter((id) => !choice.choose.includes(id));
    if (outside.length > 0)
      throw fieldProblem(
        'validation_failed',
        'bundles',
        'not_allowed',
        `This session does not offer ${outside.slice(0, 5).join(', ')}.`,
        `Choose among ${choice.choose.slice(0, 20).join(', ')}.`,
      );
    return [...given];
  }

  function regionsFor(allowed: SessionAllowed, given: readonly string[] | undefined): string[] {
    const choice = allowed.regions;
    if ('fixed' in choice) {
      if (given !== undefined && !sameSet(given, choice.fixed))
        throw fieldProblem(
          'validation_failed',
          'regions',
          'not_allowed',
          'The regions of this session are set: they cannot be changed.',
        );
      return [...choice.fixed];
    }
    if (given === undefined) return [...(choice.preselected ?? choice.choose)];
    // No region at all would mean every region: more than the session offers.
    const outside = given.filter((r) => !choice.choose.includes(r));
    if (given.length === 0 || outside.length > 0)
      throw fieldProblem(
        'validation_failed',
        'regions',
        'not_allowed',
        given.length === 0
          ? 'Choose at least one region.'
          : `This session does not offer ${outside.slice(0, 5).join(', ')}.`,
        `Choose among ${choice.choose.join(', ')}.`,
      );
    return [...given];
  }

  /** The partition and method a customer asks for, within the session and what the tenant may use. */
  async function ensureOffered(
    session: StoredSession,
    partition: PartitionId,
    method: 'role' | 'oidc_role' | 'access_keys',
  ): Promise<void> {
    const offer = (await hostedPartitions(session)).find((p) => p.partition === partition);
    if (!offer)
      throw fieldProblem(
        'validation_failed',
        'partition',
        'not_allowed',
        `This session does not offer ${getPartition(partition).displayName}.`,
      );
    if (!offer.methods.includes(method))
      throw fieldProblem(
        'validation_failed',
        'method',
        'not_allowed',
        `This session does not offer this way of connecting in ${offer.displayName}.`,
        offer.reason ?? undefined,
      );
  }

  /** The partitions a session offers, each with the methods it allows there and why not others. */
  async function hostedPartitions(session: StoredSession) {
    const offers = await offersOf(session.tenantId);
    return offers
      .filter((o) => session.allowed.partitions.includes(o.partition))
      .map((o) => ({
        partition: o.partition,
        displayName: o.displayName,
        methods: o.methods.filter((m) => session.allowed.methods.includes(m)),
        reason: o.reason,
      }))
      .filter((o) => o.methods.length > 0);
  }

  function hostedCaller(session: StoredSession, meta: { requestId: string; sourceIp: string }) {
    return {
      tenantId: session.tenantId,
      actorType: 'connect_session' as const,
      actorId: session.id,
      ...meta,
    };
  }

  /** A `connect` session's account request, held to the session's choices. */
  async function constrainAccount(
    session: StoredSession,
    input: CreateAccountInput,
  ): Promise<CreateAccountInput> {
    if (session.kind !== 'connect')
      throw fieldProblem(
        'conflict',
        'session',
        'fix_session',
        'This session fixes an existing account: send new credentials or { "verify": true }.',
      );
    const name = session.allowed.accountName ?? input.name;
    if (input.method === 'access_keys') {
      await ensureOffered(session, input.partition, 'access_keys');
      return {
        ...input,
        ...(name !== undefined ? { name } : {}),
        bundles: bundlesFor(session.allowed, input.partition, input.bundles),
        regions: regionsFor(
          session.allowed,
          input.regions && input.regions.length > 0 ? input.regions : undefined,
        ),
      } as CreateAccountInput;
    }
    // A role is the session's own set-up's, or nothing: another connection id is unknown here.
    if (!session.connectionId || input.connectionId !== session.connectionId)
      throw fieldProblem(
        'not_found',
        'connectionId',
        'not_found',
        'This session has no such role set-up.',
        'Start the role set-up of this session first.',
      );
    return { ...input, ...(name !== undefined ? { name } : {}) } as CreateAccountInput;
  }

  return {
    view,
    stateOf,
    endedProblem,
    hostedPartitions,
    hostedCaller,

    // ---- the platform's side ------------------------------------------------------------------

    async create(
      caller: Caller,
      input: CreateConnectSessionInput,
      origin: string,
    ): Promise<ConnectSessionView> {
      const problem = returnUrlProblem(input.returnUrl);
      if (problem)
        throw fieldProblem(
          'validation_failed',
          'returnUrl',
          'invalid_url',
          `The return URL ${problem}.`,
        );
      if (!isReturnUrlAllowed(input.returnUrl, await deps.branding.returnUrls()))
        throw fieldProblem(
          'validation_failed',
          'returnUrl',
          'not_allowed',
          'The return URL is not on the operator’s allow-list.',
          'Ask the operator to add its origin (ONRAMP_CONNECT_RETURN_URLS or the settings page).',
        );
      const offers = await offersOf(caller.tenantId);
      let account: Account | undefined;
      if (input.account !== undefined) {
        account = isId('account', input.account)
          ? await deps.accounts.find(caller.tenantId, input.account)
          : undefined;
        if (!account)
          throw fieldProblem(
            'not_found',
            'account',
            'not_found',
            'There is no such account in this tenant.',
          );
        if (account.organizationId)
          throw fieldProblem(
            'conflict',
            'account',
            'managed_by_organization',
            `This account is a member of organization ${account.organizationId}, which manages its role.`,
          );
      }
      const allowed = account
        ? fixAllowed(account, input)
        : connectAllowed(deps.catalog, offers, input);
      const id = newId('connectSession');
      const link = secret();
      const minutes = input.expiresInMinutes ?? deps.connectSessionMinutes ?? 60;
      const expiresAt = new Date(deps.clock().getTime() + minutes * 60_000).toISOString();
      const session = await deps.db.transaction().execute(async (trx) => {
        await lockCollections(trx, deps.dialect, caller.tenantId);
        if ((await sessions.countLive(caller.tenantId, trx)) >= MAX_LIVE_SESSIONS)
          throw fieldProblem(
            'limit_reached',
            'connectSessions',
            'limit_reached',
            `This tenant has ${MAX_LIVE_SESSIONS} connect sessions whose links still work.`,
            'Cancel sessions you no longer need, or wait for them to expire.',
          );
        const created = await sessions.create(
          caller.tenantId,
          {
            id,
            reference: input.reference ?? null,
            kind: account ? 'fix' : 'connect',
            allowed,
            returnUrl: input.returnUrl,
            accountId: account?.id ?? null,
            linkHash: sha256(link),
            createdBy: `${caller.actorType}:${caller.actorId ?? ''}`,
            expiresAt,
          },
          trx,
        );
        await audit(
          caller,
          'connect_session.created',
          created,
          {
            kind: created.kind,
            accountId: created.accountId,
            expiresAt,
            returnUrl: input.returnUrl,
          },
          trx,
        );
        return created;
      });
      const base = (deps.publicUrl ?? origin).replace(/\/+$/, '');
      // The secret rides in the fragment: browsers never send it to a server, a log or a Referer.
      return { ...view(session), url: `${base}/connect/${session.id}#${link}` };
    },

    async list(
      tenantId: string,
      query: {
        limit: number;
        cursor?: string | undefined;
        state?: ConnectSessionView['state'] | undefined;
        reference?: string | undefined;
      },
    ): Promise<{ sessions: ConnectSessionView[]; next: string | null }> {
      const rows = await sessions.list(tenantId, {
        limit: query.limit,
        state: query.state,
        reference: query.reference,
        ...(query.cursor !== undefined
          ? { before: decodeCursor(query.cursor, (k) => isId('connectSession', k)) }
          : {}),
      });
      const page = toPage(rows, query.limit, (s) => s.id);
      return { sessions: page.items.map(view), next: page.next };
    },

    async get(tenantId: string, id: string): Promise<StoredSession> {
      const session = isId('connectSession', id) ? await sessions.find(tenantId, id) : undefined;
      if (!session) throw unknownSession();
      return session;
    },

    /** Cancels a live session (the platform's, or the customer's); 409 once it ended. */
    async cancel(caller: Caller, session: StoredSession): Promise<StoredSession> {
      const ended = endedProblem(session);
      if (ended) throw ended;
      await deps.db.transaction().execute(async (trx) => {
        if (
          !(await sessions.finish(
            session.tenantId,
            session.id,
            { state: 'cancelled', outcome: 'cancelled' },
            null,
            trx,
          ))
        ) {
          const current = await sessions.find(session.tenantId, session.id, trx);
          throw (current && endedProblem(current)) ?? unknownSession();
        }
        await audit(caller, 'connect_session.cancelled', session, {}, trx);
      });
      return (await sessions.find(session.tenantId, session.id)) ?? session;
    },

    // ---- the browser's side -------------------------------------------------------------------

    /**
     * Trades the link's secret for this browser's own secret (the cookie), once. The same browser
     * (its cookie matches) may open it again; any other is refused, as is any browser once the
     * session ended.
     */
    async open(
      id: string,
      token: string,
      cookie: string | undefined,
      meta: { requestId: string; sourceIp: string },
    ): Promise<{ session: StoredSession; browserSecret: string | undefined }> {
      const found = isId('connectSession', id) ? await sessions.findForBrowser(id) : undefined;
      if (!found || !sameSecret(token, found.linkHash)) throw unknownSession();
      const ended = endedProblem(found);
      if (ended) throw ended;
      if (found.state === 'active') {
        if (cookie && sameSecret(cookie, found.browserHash))
          return { session: found, browserSecret: undefined };
        throw linkUsed();
      }
      const browserSecret = secret();
      const csrf = secret();
      if (!(await sessions.markOpened(found.tenantId, found.id, sha256(browserSecret), csrf))) {
        const current = await sessions.findForBrowser(id);
        throw (current && endedProblem(current)) ?? linkUsed();
      }
      const opened = (await sessions.findForBrowser(id)) ?? found;
      await audit(hostedCaller(opened, meta), 'connect_session.opened', opened, {});
      return { session: opened, browserSecret };
    },

    /** The session a browser holds: its cookie must be the one `open` gave; else 404. */
    async forBrowser(id: string, cookie: string | undefined): Promise<StoredSession> {
      if (!cookie || !isId('connectSession', id)) throw unknownSession();
      const session = await sessions.findForBrowser(id);
      if (!session || !sameSecret(cookie, session.browserHash)) throw unknownSession();
      return session;
    },

    ensureLive,

    /** The session's one role set-up: made once; asked again, the same one. */
    async createConnection(
      session: StoredSession,
      input: HostedConnectionInput,
      meta: { requestId: string; sourceIp: string },
    ): Promise<Connection> {
      ensureLive(session);
      if (session.kind !== 'connect')
        throw fieldProblem(
          'conflict',
          'session',
          'fix_session',
          'This session fixes an existing account; it makes no new role set-up.',
        );
      if (session.connectionId) {
        const existing = await deps.connections.find(session.tenantId, session.connectionId);
        if (existing) return existing;
      }
      await ensureOffered(session, input.partition, input.method);
      const caller = hostedCaller(session, meta);
      const connection = await deps.connections.createConnection(
        caller,
        {
          name: session.allowed.accountName ?? session.reference ?? 'AWS account',
          description: '',
          partition: input.partition,
          method: input.method,
          bundles: bundlesFor(session.allowed, input.partition, input.bundles),
          regions: regionsFor(session.allowed, input.regions),
          connectSessionId: session.id,
        },
        async (made, trx) => {
          if (!(await sessions.setConnection(session.tenantId, session.id, made.id, trx)))
            throw fieldProblem(
              'conflict',
              'session',
              'session_moved',
              'This session started its role set-up meanwhile (another tab?): reload.',
            );
          await audit(
            caller,
            'connect_session.connection_created',
            session,
            {
              connectionId: made.id,
            },
            trx,
          );
        },
      );
      if (input.setupMethod)
        return deps.connections.updateConnection(caller, connection.id, {
          setupMethod: input.setupMethod,
        });
      return connection;
    },

    async updateConnection(
      session: StoredSession,
      input: Partial<HostedConnectionInput>,
      meta: { requestId: string; sourceIp: string },
    ): Promise<Connection> {
      ensureLive(session);
      const current = session.connectionId
        ? await deps.connections.find(session.tenantId, session.connectionId)
        : undefined;
      if (!current) throw notFound('This session’s role set-up');
      const partition = input.partition ?? current.partition;
      const method = input.method ?? current.method;
      if (input.partition !== undefined || input.method !== undefined)
        await ensureOffered(session, partition, method);
      const partitionChanged = partition !== current.partition;
      return deps.connections.updateConnection(hostedCaller(session, meta), current.id, {
        partition,
        method,
        ...(input.bundles !== undefined || partitionChanged
          ? { bundles: bundlesFor(session.allowed, partition, input.bundles) }
          : {}),
        ...(input.regions !== undefined
          ? { regions: regionsFor(session.allowed, input.regions) }
          : {}),
        ...(input.setupMethod !== undefined ? { setupMethod: input.setupMethod } : {}),
      });
    },

    /** The session's role set-up, or 404 when it has none yet. */
    async connectionOf(session: StoredSession): Promise<Connection> {
      const connection = session.connectionId
        ? await deps.connections.find(session.tenantId, session.connectionId)
        : undefined;
      if (!connection) throw notFound('This session’s role set-up');
      return connection;
    },

    /** A selection the customer previews, held to the session's choices. */
    async constrainSelection(
      session: StoredSession,
      selection: {
        partition: PartitionId;
        bundles: string[] | 'default' | 'all';
        regions?: string[] | undefined;
      },
      method: 'role' | 'oidc_role' | 'access_keys',
    ): Promise<{ partition: PartitionId; bundles: string[]; regions: string[] }> {
      await ensureOffered(session, selection.partition, method);
      return {
        partition: selection.partition,
        bundles: bundlesFor(session.allowed, selection.partition, selection.bundles),
        regions: regionsFor(
          session.allowed,
          selection.regions && selection.regions.length > 0 ? selection.regions : undefined,
        ),
      };
    },

    async validate(session: StoredSession, input: CreateAccountInput, signal?: AbortSignal) {
      ensureLive(session);
      return deps.accounts.validate(session.tenantId, await constrainAccount(session, input), {
        ...(signal ? { signal } : {}),
      });
    },

    /** Connects the account (at most one) or applies the fix, and completes the session. */
    async complete(
      session: StoredSession,
      body: Record<string, unknown>,
      meta: { requestId: string; sourceIp: string },
    ): Promise<StoredSession> {
      ensureLive(session);
      const caller = hostedCaller(session, meta);
      if (session.kind === 'connect') {
        const input = await constrainAccount(session, body as CreateAccountInput);
        await deps.accounts
          .create(caller, input, {
            inTransaction: (account, trx) =>
              recordCompletion(caller, session, account, 'connected', trx),
          })
          .catch(throwWithoutOtherAccounts);
        return (await sessions.find(session.tenantId, session.id)) ?? session;
      }
      const accountId = session.accountId;
      if (!accountId) throw new Error(`fix session ${session.id} has no account`);
      if ('verify' in body) {
        await deps.permissionsVerify.verify(caller, accountId);
      } else if ('method' in body && !('connectionId' in body) && !('partition' in body)) {
        // AWS takes seconds to validate: a session cancelled or expired meanwhile keeps the old
        // credentials, and one that is still live completes with the new ones, in one transaction.
        const replaced = await deps.accounts
          .replaceCredentials(
            caller,
            accountId,
            body as Parameters<AccountsService['replaceCredentials']>[2],
            {
              inTransaction: async (account, trx) => {
                if (account.status === 'valid')
                  return recordCompletion(caller, session, account, 'fixed', trx);
                if (!(await sessions.stillActive(session.tenantId, session.id, trx))) {
                  const current = await sessions.find(session.tenantId, session.id, trx);
                  throw (
                    (current && endedProblem(current)) ??
                    fieldProblem(
                      'conflict',
                      'session',
                      'session_moved',
                      'This session changed meanwhile.',
                    )
                  );
                }
              },
            },
          )
          .catch(throwWithoutOtherAccounts);
        if (replaced.status === 'valid')
          return (await sessions.find(session.tenantId, session.id)) ?? session;
      } else {
        throw fieldProblem(
          'validation_failed',
          'body',
          'fix_session',
          'This session fixes an existing account: send its new keys or role ARN, or { "verify": true } once the permission update is applied.',
        );
      }
      const account = await deps.accounts.getAccount(session.tenantId, accountId);
      // Still degraded or invalid: the session stays open and the page says what is wrong.
      if (account.status !== 'valid') {
        await audit(caller, 'connect_session.fix_incomplete', session, {
          accountId,
          status: account.status,
        });
        return session;
      }
      await deps.db
        .transaction()
        .execute((trx) => recordCompletion(caller, session, account, 'fixed', trx));
      return (await sessions.find(session.tenantId, session.id)) ?? session;
    },

    /** Where the browser goes once the session ended, or null while it is live. */
    redirectOf(session: StoredSession): string | null {
      const outcome = outcomeOf(session);
      return outcome ? returnUrlWith(session.returnUrl, session.id, outcome) : null;
    },
  };
}

export type ConnectSessionsService = ReturnType<typeof createConnectSessionsService>;

/**
 * A credential another account of the tenant already uses is refused without naming that account:
 * the session's customer sees nothing else of the tenant (its other customers' accounts).
 */
function throwWithoutOtherAccounts(error: unknown): never {
  const taken =
    error instanceof AppError
      ? error.errors.find((e) => e.code === 'already_connected')
      : undefined;
  if (!taken) throw error;
  throw fieldProblem(
    'conflict',
    taken.field,
    'already_connected',
    'These credentials are already connected here, as another account.',
    'Use other credentials, or return to the product you came from to fix the account they belong to.',
  );
}

function linkUsed(): AppError {
  return fieldProblem(
    'conflict',
    'session',
    'link_used',
    'This link was opened already, in another browser. A link works once.',
    'Return to the product you came from and ask for a new link.',
  );
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}

/** A fix session's choices follow its account. */
function fixAllowed(account: Account, input: CreateConnectSessionInput): SessionAllowed {
  return {
    partitions: [account.partition],
    methods: [account.method],
    bundles: { fixed: [...account.bundles] },
    regions: { fixed: [...account.regions] },
    accountName: input.accountName ?? account.name,
  };
}

/** A connect session's choices, each checked against what the tenant may use and the catalog. */
function connectAllowed(
  catalog: Catalog,
  offers: ReturnType<typeof partitionOffers>,
  input: CreateConnectSessionInput,
): SessionAllowed {
  const offered = offers.map((o) => o.partition);
  const partitions = input.partitions ?? offered;
  const refused = partitions.filter((p) => !offered.includes(p));
  if (refused.length > 0 || partitions.length === 0)
    throw fieldProblem(
      'validation_failed',
      'partitions',
      'not_allowed',
      refused.length > 0
        ? `This tenant may not connect accounts in ${refused.join(', ')}.`
        : 'This tenant may connect accounts in no partition.',
    );
  const methodsOffered = new Set(
    offers.filter((o) => partitions.includes(o.partition)).flatMap((o) => o.methods),
  );
  const methods = input.methods ?? [...methodsOffered];
  const badMethods = methods.filter((m) => !methodsOffered.has(m));
  if (badMethods.length > 0 || methods.length === 0)
    throw fieldProblem(
      'validation_failed',
      'methods',
      'not_allowed',
      badMethods.length > 0
        ? `${badMethods.join(', ')} is not offered to this tenant in ${partitions.join(', ')}.`
        : 'No way of connecting is offered to this tenant there.',
    );
  const available = new Set(
    partitions.flatMap((p) => catalog.availableBundles(p).map((b) => b.id)),
  );
  const bundles = input.bundles ?? { choose: [...available] };
  const listed = 'fixed' in bundles ? bundles.fixed : bundles.choose;
  const unknown = listed.filter((id) => !available.has(id));
  if (unknown.length > 0)
    throw fieldProblem(
      'validation_failed',
      'bundles',
      'unknown_bundle',
      `${unknown.slice(0, 5).join(', ')}: not a bundle of the catalog offered in ${partitions.join(', ')}.`,
    );
  if ('choose' in bundles && bundles.preselected?.some((id) => !bundles.choose.includes(id)))
    throw fieldProblem(
      'validation_failed',
      'bundles.preselected',
      'not_allowed',
      'Preselected bundles must be among those to choose from.',
    );
  const regionIds = new Set(partitions.flatMap((p) => getPartition(p).regions.map((r) => r.id)));
  const regions = input.regions ?? { fixed: [] };
  const regionList = 'fixed' in regions ? regions.fixed : regions.choose;
  const badRegions = regionList.filter((r) => !regionIds.has(r));
  if (badRegions.length > 0)
    throw fieldProblem(
      'validation_failed',
      'regions',
      'unknown_region',
      `${badRegions.slice(0, 5).join(', ')}: not a region of ${partitions.join(', ')}.`,
    );
  if ('choose' in regions && regions.preselected?.some((r) => !regions.choose.includes(r)))
    throw fieldProblem(
      'validation_failed',
      'regions.preselected',
      'not_allowed',
      'Preselected regions must be among those to choose from.',
    );
  return {
    partitions,
    methods,
    bundles,
    regions,
    accountName: input.accountName ?? null,
  };
}
