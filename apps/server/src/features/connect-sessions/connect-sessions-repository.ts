import type { PartitionId } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { ConnectSessionsTable, Database } from '../../adapters/db/schema.ts';

/** What the platform allowed the customer to choose, as stored in `allowed` (JSON). */
export interface SessionAllowed {
  partitions: PartitionId[];
  methods: ('role' | 'oidc_role' | 'access_keys')[];
  bundles: { fixed: string[] } | { choose: string[]; preselected?: string[] | undefined };
  regions: { fixed: string[] } | { choose: string[]; preselected?: string[] | undefined };
  accountName: string | null;
}

/** A session as stored: its state is the stored one (`expired` is worked out by the service). */
export interface StoredSession {
  id: string;
  tenantId: string;
  reference: string | null;
  kind: 'connect' | 'fix';
  state: ConnectSessionsTable['state'];
  outcome: ConnectSessionsTable['outcome'];
  allowed: SessionAllowed;
  returnUrl: string;
  accountId: string | null;
  connectionId: string | null;
  linkHash: string;
  browserHash: string | null;
  csrfToken: string | null;
  createdBy: string;
  expiresAt: string;
  openedAt: string | null;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

function toSession(row: ConnectSessionsTable): StoredSession {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    reference: row.reference,
    kind: row.kind,
    state: row.state,
    outcome: row.outcome,
    allowed: JSON.parse(row.allowed) as SessionAllowed,
    returnUrl: row.return_url,
    accountId: row.account_id,
    connectionId: row.connection_id,
    linkHash: row.link_hash,
    browserHash: row.browser_hash,
    csrfToken: row.csrf_token,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    openedAt: row.opened_at,
    completedAt: row.completed_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Connect sessions of one tenant: every method takes the tenant first. State moves are
 * compare-and-sets on the state read (and, for live moves, on `expires_at`), so two requests racing
 * on one session never both win.
 */
export function createConnectSessionsRepository(db: Kysely<Database>, clock: () => Date) {
  const now = () => clock().toISOString();
  return {
    async create(
      tenantId: string,
      input: {
        id: string;
        reference: string | null;
        kind: 'connect' | 'fix';
        allowed: SessionAllowed;
        returnUrl: string;
        accountId: string | null;
        linkHash: string;
        createdBy: string;
        expiresAt: string;
      },
      executor: Kysely<Database> = db,
    ): Promise<StoredSession> {
      const at = now();
      const row: ConnectSessionsTable = {
        id: input.id,
        tenant_id: tenantId,
        reference: input.reference,
        kind: input.kind,
        state: 'open',
        outcome: null,
        allowed: JSON.stringify(input.allowed),
        return_url: input.returnUrl,
        account_id: input.accountId,
        connection_id: null,
        link_hash: input.linkHash,
        browser_hash: null,
        csrf_token: null,
        created_by: input.createdBy,
        expires_at: input.expiresAt,
        opened_at: null,
        completed_at: null,
        created_at: at,
        updated_at: at,
      };
      await executor.insertInto('connect_sessions').values(row).execute();
      return toSession(row);
    },

    async find(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<StoredSession | undefined> {
      const row = await executor
        .selectFrom('connect_sessions')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toSession(row) : undefined;
    },

    /**
     * The session a hosted request names, whatever its tenant: the browser's only credential is the
     * session's own cookie, checked by the caller against `browserHash`.
     */
    async findForBrowser(id: string): Promise<StoredSession | undefined> {
      const row = await db
        .selectFrom('connect_sessions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toSession(row) : undefined;
    },

    /** Newest first, read with `limit + 1` rows (see http/pagination.ts). */
    async list(
      tenantId: string,
      options: {
        limit: number;
        before?: string | undefined;
        state?: StoredSession['state'] | 'expired' | undefined;
        reference?: string | undefined;
      },
    ): Promise<StoredSession[]> {
      const at = now();
      let query = db
        .selectFrom('connect_sessions')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .orderBy('id', 'desc')
        .limit(options.limit + 1);
      if (options.before !== undefined) query = query.where('id', '<', options.before);
      if (options.reference !== undefined) query = query.where('reference', '=', options.reference);
      const state = options.state;
      if (state === 'expired')
        query = query.where('state', 'in', ['open', 'active']).where('expires_at', '<=', at);
      else if (state === 'open' || state === 'active')
        query = query.where('state', '=', state).where('expires_at', '>', at);
      else if (state !== undefined) query = query.where('state', '=', state);
      return (await query.execute()).map(toSession);
    },

    /** Sessions whose link still works (open or active, unexpired): what the tenant's cap counts. */
    async countLive(tenantId: string, executor: Kysely<Database> = db): Promise<number> {
      const row = await executor
        .selectFrom('connect_sessions')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('tenant_id', '=', tenantId)
        .where('state', 'in', ['open', 'active'])
        .where('expires_at', '>', now())
        .executeTakeFirst();
      return Number(row?.n ?? 0);
    },

    /** open → active, once: the first browser to present the link's secret holds the session. */
    async markOpened(
      tenantId: string,
      id: string,
      browserHash: string,
      csrfToken: string,
    ): Promise<boolean> {
      const at = now();
      const result = await db
        .updateTable('connect_sessions')
        .set({
          state: 'active',
          opened_at: at,
          browser_hash: browserHash,
          csrf_token: csrfToken,
          updated_at: at,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('state', '=', 'open')
        .where('opened_at', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /** The session's one role set-up, once: false when it has one already or is no longer active. */
    async setConnection(
      tenantId: string,
      id: string,
      connectionId: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      const result = await executor
        .updateTable('connect_sessions')
        .set({ connection_id: connectionId, updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('state', '=', 'active')
        .where('connection_id', 'is', null)
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Whether the session is still active and unexpired, in `executor`'s transaction: a write there
     * (its updated_at) holds the row until the transaction ends, so a cancel waits for it or wins first.
     */
    async stillActive(
      tenantId: string,
      id: string,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      const result = await executor
        .updateTable('connect_sessions')
        .set({ updated_at: at })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('state', '=', 'active')
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    /**
     * Ends a live session: active → completed (with its account), or open|active → cancelled.
     * False when it moved meanwhile or ran out of time.
     */
    async finish(
      tenantId: string,
      id: string,
      end: { state: 'completed' | 'cancelled'; outcome: 'connected' | 'fixed' | 'cancelled' },
      accountId: string | null,
      executor: Kysely<Database> = db,
    ): Promise<boolean> {
      const at = now();
      const result = await executor
        .updateTable('connect_sessions')
        .set({
          state: end.state,
          outcome: end.outcome,
          completed_at: at,
          updated_at: at,
          ...(accountId ? { account_id: accountId } : {}),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('state', 'in', end.state === 'completed' ? ['active'] : ['open', 'active'])
        .where('expires_at', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export type ConnectSessionsRepository = ReturnType<typeof createConnectSessionsRepository>;
