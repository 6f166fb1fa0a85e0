import type { cloudFormationCallbackRequestSchema } from '@onramp/contracts';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Envelope } from '../../adapters/crypto/envelope.ts';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account, AccountCheckRecord } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { AppError } from '../../http/problems.ts';
import { newId } from '../../ids.ts';
import { type AuditLog, untrustedText } from '../../ports/audit-log.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { PermissionsVerify } from '../accounts/permissions-verify.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import { createCheckHistory } from '../health/check-history.ts';
import { applyCheck } from '../health/health-service.ts';
import type { EventPublisher } from '../webhooks/webhooks-service.ts';
import {
  CALLBACK_TOKEN_FIELD,
  type CallbackToken,
  createCallbackTokensRepository,
} from './callback-tokens-repository.ts';

export type CloudFormationCallback = z.output<typeof cloudFormationCallbackRequestSchema>;

/** Where the callback functions of stacks call, under Onramp's public URL. */
export const CALLBACK_PATH = '/v1/callbacks/cloudformation';

export const DEFAULT_CALLBACK_TOKEN_HOURS = 24;

/**
 * Refused callbacks per source address and window. A stack's function is refused rarely (an expired
 * token, a template deployed twice), a stranger trying tokens always: past this, a refusal is a 429
 * and no longer audited, so nobody fills the append-only audit log. Other addresses and accepted
 * callbacks from this one are not affected (stacks of many customers may share AWS's addresses).
 */
export const CALLBACK_REFUSALS = 10;
export const CALLBACK_REFUSALS_WINDOW_SECONDS = 15 * 60;

/**
 * How often a stack's call-backs may have an account's permissions verified: at most one verify
 * starts per account in this many seconds, on every replica. The call-back's token is in every
 * template of the connection, so whoever can download one could otherwise have Onramp ask AWS (and
 * write the audit log) as often as they like; a stack's own Update comes once.
 */
export const CALLBACK_VERIFY_INTERVAL_SECONDS = 60;

/** What the status detail of an account says once the stack that created its role is gone. */
export const STACK_DELETED_MESSAGE = 'The CloudFormation stack that created this role was deleted.';

/** Why a token was issued, for the audit log. */
export type IssueReason = 'created' | 'external_id_regenerated' | 'expired' | 'used' | 'missing';

/**
 * Why a callback was refused: logged and audited, never answered. Every refusal answers the same 404,
 * so a caller cannot tell a wrong token from an expired or a spent one.
 */
export type RefusalReason =
  | 'unknown_token'
  | 'expired'
  | 'used_for_another_role'
  | 'account_deleted'
  | 'connection_deleted'
  | 'connected_to_another_role'
  | 'another_stack';

export class CallbackRefusedError extends AppError {
  constructor(readonly reason: RefusalReason) {
    super('not_found', 'The platform expects no such callback. Download a new template.');
  }
}

interface CallbacksDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  envelope: Envelope;
  audit: Pick<AuditLog, 'append'>;
  /** Connects a reported role, reads accounts, and takes a stack's deletion as their health. */
  accounts: Pick<AccountsService, 'create' | 'find' | 'recordHealth'>;
  /** Where the set-ups a token belongs to are read (features/connections). */
  connections: Pick<ConnectionsService, 'getConnection'>;
  /**
   * Checks an account's permissions again and records them (features/accounts): what a stack's
   * Update asks for, once the stack has updated the role's policies.
   */
  permissions?: Pick<PermissionsVerify, 'verify'> | undefined;
  /** The webhook outbox: a stack's deletion that changes an account's health is an event. */
  events?: EventPublisher | undefined;
  publicUrl?: string | undefined;
  /** How long an unused token stays good; 24 hours unless configured. */
  callbackTokenHours?: number | undefined;
}

/**
 * CloudFormation call-backs: the tokens templates carry, and what a stack's callback function reports
 * (the role it created, or that it is being deleted). A token connects one role; after that it stays
 * good for that role's stack (a retried Create, an Update, the Delete) while the connection is
 * connected, so it is not single-use. A token is issued when a connection is created and when its
 * external ID is regenerated, and renewed when a template of a pending set-up is asked for after it
 * expired or was spent; only its hash is stored for the lookup, and the token itself sealed, to render
 * it into the connection's templates (the stack's own updates carry it too).
 */
export function createCallbacksService(deps: CallbacksDeps) {
  const tokens = createCallbackTokensRepository(deps.db, deps.clock);
  const history = createCheckHistory(deps);
  const refusals = createRateLimiter(deps.db, deps.clock);
  /** Whether this call-back may verify the account now (see CALLBACK_VERIFY_INTERVAL_SECONDS). */
  const mayRecheck = (tenantId: string, accountId: string) =>
    refusals.claim(`callback-verify:${tenantId}:${accountId}`, CALLBACK_VERIFY_INTERVAL_SECONDS);
  const ttlMs = (deps.callbackTokenHours ?? DEFAULT_CALLBACK_TOKEN_HOURS) * 3600_000;
  const origin = deps.publicUrl?.replace(/\/+$/, '');
  const now = () => deps.clock().toISOString();
  const isLive = (token: CallbackToken) => token.expiresAt > now();

  function bindingOf(tenantId: string, connectionId: string) {
    return { tenantId, ownerId: connectionId, field: CALLBACK_TOKEN_FIELD };
  }

  function audit(
    caller: Caller | { tenantId: null; requestId: string; sourceIp: string },
    action: string,
    target: { type: string; id: string } | undefined,
    details: Record<string, unknown>,
    executor?: Kysely<Database>,
  ) {
    return deps.audit.append(
      {
        tenantId: caller.tenantId,
        actorType: 'system',
        actorId: 'actorId' in caller ? caller.actorId : null,
        action,
        ...(target ? { targetType: target.type, targetId: target.id } : {}),
        requestId: caller.requestId,
        sourceIp: caller.sourceIp,
        details,
      },
      executor,
    );
  }

  /**
   * Issues a new token for the connection, sealing it beside its hash in one transaction. With
   * `previousHash` (renewal) only if nobody renewed it meanwhile; then undefined.
   */
  async function issue(
    caller: Caller,
    connection: Connection,
    reason: IssueReason,
    previousHash?: string | null,
  ): Promise<string | undefined> {
    const token = `onrcb_${Buffer.from(deps.randomBytes(32)).toString('base64url')}`;
    const expiresAt = new Date(deps.clock().getTime() + ttlMs).toISOString();
    const sealed = deps.envelope.seal(token, bindingOf(caller.tenantId, connection.id));
    const issued = await deps.db.transaction().execute(async (trx) => {
      const replaced = await tokens.replace(
        caller.tenantId,
        connection.id,
        { tokenHash: hashToken(token), expiresAt },
        previousHash,
        trx,
      );
      if (!replaced) return false;
      await tokens.putSealedToken(caller.tenantId, connection.id, sealed, trx);
      await deps.audit.append(
        {
          tenantId: caller.tenantId,
          actorType: caller.actorType,
          actorId: caller.actorId,
          action: 'connection.callback_token_issued',
          targetType: 'connection',
          targetId: connection.id,
          requestId: caller.requestId,
          sourceIp: caller.sourceIp,
          details: { name: connection.name, reason, expiresAt },
        },
        trx,
      );
      return true;
    });
    return issued ? token : undefined;
  }

  /** The token a template of this connection may carry now, opened; undefined when there is none. */
  async function renderableToken(connection: Connection): Promise<CallbackToken | undefined> {
    const row = await tokens.findForConnection(connection.tenantId, connection.id);
    if (!row) return undefined;
    // A pending set-up needs an unused, unexpired token; a connected one keeps the token it used, so
    // its template, deployed again (a stack update), gets the same answer.
    const usable = row.usedAt ? connection.status === 'connected' : isLive(row);
    return usable ? row : undefined;
  }

  async function openToken(connection: Connection): Promise<string | undefined> {
    const sealed = await tokens.findSealedToken(connection.tenantId, connection.id);
    return sealed
      ? deps.envelope.open(sealed, bindingOf(connection.tenantId, connection.id))
      : undefined;
  }

  /**
   * Refuses a callback: audited with the reason (never the token), answered with the same 404. What
   * the caller sent is kept only cut short and hashed: whoever sends a wrong token is a stranger.
   * Past CALLBACK_REFUSALS from one address in a window, a 429 without an audit entry (one entry says
   * the limit was reached).
   */
  async function refuse(
    meta: { requestId: string; sourceIp: string },
    reason: RefusalReason,
    input: CloudFormationCallback,
    row: CallbackToken | undefined,
  ): Promise<never> {
    const limit = await refusals.hit(
      `callback-refused:${limitedAddress(meta.sourceIp)}`,
      CALLBACK_REFUSALS,
      CALLBACK_REFUSALS_WINDOW_SECONDS,
    );
    if (!limit.allowed) {
      if (limit.count === CALLBACK_REFUSALS + 1) {
        await audit(
          { tenantId: null, ...meta },
          'connection.callback_refusals_limited',
          undefined,
          {
            refusals: CALLBACK_REFUSALS,
            windowSeconds: CALLBACK_REFUSALS_WINDOW_SECONDS,
          },
        );
      }
      throw new AppError(
        'rate_limited',
        `Too many refused callbacks from this address; try again in ${limit.retryAfter} seconds.`,
        [],
        { 'retry-after': String(limit.retryAfter) },
      );
    }
    await audit(
      row
        ? { tenantId: row.tenantId, actorType: 'system', actorId: null, ...meta }
        : { tenantId: null, ...meta },
      'connection.callback_refused',
      row ? { type: 'connection', id: row.connectionId } : undefined,
      {
        reason,
        requestType: input.requestType,
        roleArn: untrustedText(input.roleArn),
        stackId: untrustedText(input.stackId),
      },
    );
    throw new CallbackRefusedError(reason);
  }

  /** The account a connection is already connected to through this very role, if it is. */
  async function connectedThrough(
    tenantId: string,
    connectionId: string,
    roleArn: string,
  ): Promise<Account | undefined> {
    const connection = await deps.connections.getConnection(tenantId, connectionId);
    if (connection.status !== 'connected' || !connection.accountId) return undefined;
    const account = await deps.accounts.find(tenantId, connection.accountId);
    return account?.roleArn === roleArn ? account : undefined;
  }

  /**
   * A stack update reached its call-back after the role's policies (the custom resource depends on
   * them, and carries their fingerprint so it is called when they change): the update is verified
   * as the tenant would ask for it. The stack has updated whatever Onramp answers, so a check that
   * could not be made is audited and left to the next health check rather than failing the stack
   * (a failed custom resource would roll the policies back).
   */
  async function recheck(caller: Caller, input: CloudFormationCallback, account: Account) {
    if (!deps.permissions) return;
    try {
      await deps.permissions.verify(caller, account.id, { source: 'stack_callback' });
    } catch (error) {
      await audit(
        caller,
        'account.permissions_verify_failed',
        { type: 'account', id: account.id },
        {
          requestType: input.requestType,
          stackId: input.stackId,
          code: error instanceof AppError ? error.code : 'internal',
          detail: error instanceof AppError ? error.message : 'The platform failed unexpectedly.',
        },
      );
    }
  }

  async function connect(
    meta: { requestId: string; sourceIp: string },
    input: CloudFormationCallback,
    row: CallbackToken,
  ): Promise<{ accountId: string }> {
    const caller: Caller = { tenantId: row.tenantId, actorType: 'system', actorId: null, ...meta };
    const target = { type: 'connection', id: row.connectionId };
    const accepted = (accountId: string, repeated: boolean) =>
      audit(caller, 'connection.callback_accepted', target, {
        requestType: input.requestType,
        roleArn: input.roleArn,
        stackId: input.stackId,
        accountId,
        repeated,
      });

    if (row.usedAt) {
      // The same stack asking again (a retried Create, an Update) gets the same answer; the token
      // cannot connect a second role.
      if (row.roleArn !== input.roleArn || !row.accountId)
        return refuse(meta, 'used_for_another_role', input, row);
      const account = await deps.accounts.find(row.tenantId, row.accountId);
      if (!account) return refuse(meta, 'account_deleted', input, row);
      if (input.requestType === 'Update') {
        // Only the stack that reported the role updates it (a token copied into another stack, or
        // sent by hand, is refused like any other bad call-back).
        if (row.stackId && input.stackId !== row.stackId)
          return refuse(meta, 'another_stack', input, row);
        // Verified at most once a minute: a call-back past that is answered as a success (failing
        // the custom resource would roll the stack's policies back) and leaves no trace; the verify
        // already made, or the next health check, has the account's permissions.
        if (!(await mayRecheck(row.tenantId, account.id))) return { accountId: account.id };
      }
      await accepted(account.id, true);
      if (input.requestType === 'Update') await recheck(caller, input, account);
      return { accountId: account.id };
    }
    if (!isLive(row)) return refuse(meta, 'expired', input, row);

    let connection: Connection;
    try {
      connection = await deps.connections.getConnection(row.tenantId, row.connectionId);
    } catch {
      return refuse(meta, 'connection_deleted', input, row);
    }
    // Connected meanwhile by hand (the tenant pasted the ARN while the stack ran): the same role is
    // the same answer; another role is not this token's to replace.
    let account =
      connection.status === 'connected'
        ? await connectedThrough(row.tenantId, row.connectionId, input.roleArn)
        : undefined;
    if (!account && connection.status === 'connected')
      return refuse(meta, 'connected_to_another_role', input, row);
    // Connected by hand before this stack reported (or a stack update that added the call-back):
    // the stack's policies are what the account should now be checked against.
    const existed = account;
    if (!account) {
      try {
        // A role CloudFormation has just created may not be usable for some seconds (IAM is
        // eventually consistent): validation waits for it instead of failing the stack.
        // The role was made from Onramp's own template, so actions still missing are an SCP denying
        // them or a policy not yet propagated: failing would roll the stack back and leave the tenant
        // nothing to fix, so it is saved degraded with the list (the next check or update clears it).
        // An identity or external-ID failure still refuses it.
        // The account's method is its connection's: a keyless stack's role is an `oidc_role` account,
        // validated with a token of Onramp's issuer instead of the hub and an external ID.
        account = await deps.accounts.create(
          caller,
          {
            method: connection.method,
            connectionId: row.connectionId,
            roleArn: input.roleArn,
            acceptMissingPermissions: true,
          },
          { waitForPropagation: true, roleOrigin: 'stack_callback' },
        );
      } catch (error) {
        const raced =
          error instanceof AppError && error.code === 'conflict'
            ? await connectedThrough(row.tenantId, row.connectionId, input.roleArn)
            : undefined;
        if (!raced) {
          // Not a refusal of the token: the stack shows why (validation, limits, a taken name).
          await audit(caller, 'connection.callback_failed', target, {
            requestType: input.requestType,
            roleArn: input.roleArn,
            stackId: input.stackId,
            code: error instanceof AppError ? error.code : 'internal',
            detail: error instanceof AppError ? error.message : 'The platform failed unexpectedly.',
          });
          throw error;
        }
        account = raced;
      }
    }
    const marked = await tokens.markUsed(row.tenantId, row.id, {
      accountId: account.id,
      roleArn: input.roleArn,
      stackId: input.stackId,
    });
    if (!marked) {
      // Another callback with this token won the race: fine if it connected the same role.
      const winner = await tokens.findByHash(row.tokenHash);
      if (winner?.roleArn !== input.roleArn || winner.accountId !== account.id)
        return refuse(meta, 'used_for_another_role', input, row);
    }
    await accepted(account.id, false);
    if (existed && (await mayRecheck(row.tenantId, existed.id)))
      await recheck(caller, input, existed);
    return { accountId: account.id };
  }

  async function stackDeleted(
    meta: { requestId: string; sourceIp: string },
    input: CloudFormationCallback,
    row: CallbackToken,
  ): Promise<{ accountId: string | null }> {
    const caller: Caller = { tenantId: row.tenantId, actorType: 'system', actorId: null, ...meta };
    const target = { type: 'connection', id: row.connectionId };
    if (!row.usedAt) {
      // Never connected (a failed Create rolling back, or a stack given up on): nothing to undo.
      // An expired token is refused like an unknown one, whatever the request.
      if (!isLive(row)) return refuse(meta, 'expired', input, row);
      await audit(caller, 'connection.callback_accepted', target, {
        requestType: 'Delete',
        roleArn: input.roleArn,
        stackId: input.stackId,
        accountId: null,
      });
      return { accountId: null };
    }
    const account = row.accountId
      ? await deps.accounts.find(row.tenantId, row.accountId)
      : undefined;
    // Only the role this token connected, and only while the account still uses it: an account whose
    // role was replaced since has nothing to do with this stack any more.
    if (!account || account.roleArn !== row.roleArn || input.roleArn !== row.roleArn) {
      await audit(caller, 'connection.callback_accepted', target, {
        requestType: 'Delete',
        roleArn: input.roleArn,
        stackId: input.stackId,
        accountId: null,
      });
      return { accountId: null };
    }
    const isDisconnected = (a: Account) =>
      a.status === 'invalid' && a.statusDetail.errors.some((e) => e.code === 'stack_deleted');
    if (!isDisconnected(account)) {
      await deps.db.transaction().execute(async (trx) => {
        // Read again inside the transaction: the health it changes from is the one it replaces.
        const before = await deps.accounts.find(row.tenantId, account.id, trx);
        if (!before || isDisconnected(before)) return;
        const at = now();
        // Recorded like a health check, so the account's checks tell its whole story (and a
        // platform listening for health changes hears of it), though AWS was not asked.
        const record: AccountCheckRecord = {
          id: newId('accountCheck'),
          accountId: account.id,
          at,
          status: 'invalid',
          previousStatus: before.status,
          changed: before.status !== 'invalid',
          stale: false,
          checks: [
            {
              name: 'CloudFormation stack',
              status: 'failed',
              detail: `${STACK_DELETED_MESSAGE} Onramp can no longer act in this account through ${account.roleArn}.`,
              durationMs: 0,
            },
          ],
          findings: [],
          errors: [
            {
              field: 'roleArn',
              code: 'stack_deleted',
              message: STACK_DELETED_MESSAGE,
              hint: 'Deploy the template again and replace the role, or delete this account.',
            },
          ],
          durationMs: 0,
          trigger: 'stack_deleted',
        };
        // Known now, not stale: the stack itself said so.
        if (!(await applyCheck({ ...deps, history }, trx, row.tenantId, before, record))) return;
        await audit(
          caller,
          'account.disconnected',
          { type: 'account', id: account.id },
          {
            name: account.name,
            reason: STACK_DELETED_MESSAGE,
            roleArn: account.roleArn,
            stackId: input.stackId,
            connectionId: row.connectionId,
            status: record.status,
            previousStatus: record.previousStatus,
            checkId: record.id,
          },
          trx,
        );
      });
    }
    return { accountId: account.id };
  }

  return {
    /** Issues the connection's token (a new connection, a new external ID): replaces any other. */
    issue: (caller: Caller, connection: Connection, reason: IssueReason) =>
      issue(caller, connection, reason),

    /**
     * The callback a template of this connection carries: Onramp's callback URL and a token, renewed
     * when it expired or was spent while the set-up is pending. Undefined without a public URL (no
     * stack could reach Onramp) or for a connected set-up without its token.
     */
    async callbackFor(
      caller: Caller,
      connection: Connection,
    ): Promise<{ url: string; token: string } | undefined> {
      if (!origin) return undefined;
      const url = `${origin}${CALLBACK_PATH}`;
      const current = await renderableToken(connection);
      const opened = current ? await openToken(connection) : undefined;
      if (opened) return { url, token: opened };
      if (connection.status !== 'pending') return undefined;
      const row = await tokens.findForConnection(connection.tenantId, connection.id);
      const reason: IssueReason = !row ? 'missing' : row.usedAt ? 'used' : 'expired';
      const token = await issue(caller, connection, reason, row?.tokenHash ?? null);
      if (token) return { url, token };
      // Another request renewed it first: use the one it issued.
      const renewed = (await renderableToken(connection)) ? await openToken(connection) : undefined;
      return renewed ? { url, token: renewed } : undefined;
    },

    /** The stack that reported the connection's role (its ID, with region and name), if one did. */
    async stackOf(tenantId: string, connectionId: string): Promise<string | undefined> {
      const row = await tokens.findForConnection(tenantId, connectionId);
      return row?.usedAt && row.stackId ? row.stackId : undefined;
    },

    /** Purges the sealed token of a deleted connection (its row goes with the connection). */
    async forget(tenantId: string, connectionId: string): Promise<void> {
      await tokens.deleteSealedTokens(tenantId, connectionId);
    },

    /**
     * A stack's report. Create/Update connect the role as the connection's account (idempotent for
     * the same role); Delete marks that account invalid. Refusals throw CallbackRefusedError.
     */
    async handle(
      meta: { requestId: string; sourceIp: string },
      input: CloudFormationCallback,
    ): Promise<{ accountId: string | null }> {
      const row = await tokens.findByHash(hashToken(input.token));
      if (!row) return refuse(meta, 'unknown_token', input, undefined);
      return input.requestType === 'Delete'
        ? stackDeleted(meta, input, row)
        : connect(meta, input, row);
    },
  };
}

export type CallbacksService = ReturnType<typeof createCallbacksService>;
