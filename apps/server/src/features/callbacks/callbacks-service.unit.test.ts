import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppError } from '../../http/problems.ts';
import { createUnitWorld, recordingEvents, type UnitWorld } from '../../testing/fakes.ts';
import {
  CALLBACK_PATH,
  CALLBACK_REFUSALS,
  CallbackRefusedError,
  createCallbacksService,
  STACK_DELETED_MESSAGE,
} from './callbacks-service.ts';

/**
 * The callbacks service on its own: the real accounts and connections services over SQLite in
 * memory and a fake AWS, an outbox of its own and an audit log that are lists. No HTTP, no
 * PostgreSQL.
 */
const HOUR = 3600_000;
const META = { requestId: 'req_stack', sourceIp: '198.51.100.7' };
const STACK = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/onramp/1';

describe('callbacks service', () => {
  let w: UnitWorld;
  let outbox: ReturnType<typeof recordingEvents>;
  beforeEach(async () => {
    w = await createUnitWorld();
    outbox = recordingEvents();
  });
  afterEach(() => w.drop());

  const service = (publicUrl: string | null = 'https://onramp.example.com/') =>
    createCallbacksService({
      ...w.deps,
      audit: w.audit.log,
      accounts: w.accounts,
      connections: w.connections,
      events: outbox.publisher,
      publicUrl: publicUrl ?? undefined,
      callbackTokenHours: 24,
    });

  /** A pending set-up with its role in the fake AWS, and the token its template carries. */
  async function stackSetUp() {
    const { connection, roleArn } = await w.roleSetUp();
    const callbacks = service();
    const token = (await callbacks.issue(w.caller, connection, 'created')) as string;
    return { callbacks, connection, roleArn, token };
  }

  const refusalOf = (error: unknown) => {
    expect(error).toBeInstanceOf(CallbackRefusedError);
    const refused = error as CallbackRefusedError;
    return { status: refused.status, message: refused.message, reason: refused.reason };
  };

  it('a Create connects the reported role as the set-up’s account', async () => {
    const { callbacks, connection, roleArn, token } = await stackSetUp();
    const answer = await callbacks.handle(META, {
      requestType: 'Create',
      token,
      roleArn,
      stackId: STACK,
    });
    const account = await w.accounts.getAccount(w.caller.tenantId, answer.accountId as string);
    expect(account).toMatchObject({ roleArn, roleOrigin: 'stack_callback', status: 'valid' });
    expect(await w.connections.getConnection(w.caller.tenantId, connection.id)).toMatchObject({
      status: 'connected',
      accountId: account.id,
    });
    const accepted = w.audit.entries.find((e) => e.action === 'connection.callback_accepted');
    expect(accepted).toMatchObject({ actorType: 'system', requestId: META.requestId });
    expect(accepted?.details).toMatchObject({ accountId: account.id, repeated: false });
    expect(JSON.stringify(w.audit.entries)).not.toContain(token);
  });

  it('a token connects once: the same stack again gets the same answer, another role nothing', async () => {
    const { callbacks, roleArn, token } = await stackSetUp();
    const first = await callbacks.handle(META, {
      requestType: 'Create',
      token,
      roleArn,
      stackId: STACK,
    });
    const again = await callbacks.handle(META, {
      requestType: 'Update',
      token,
      roleArn,
      stackId: STACK,
    });
    expect(again).toEqual(first);
    expect(w.audit.entries.at(-1)?.details).toMatchObject({ repeated: true });

    const otherRole = 'arn:aws:iam::123456789012:role/someone-else';
    w.aws.addRole(otherRole, null);
    const refused = await callbacks
      .handle(META, { requestType: 'Create', token, roleArn: otherRole, stackId: STACK })
      .catch((e: unknown) => e);
    expect(refusalOf(refused).reason).toBe('used_for_another_role');
    const accounts = await w.accounts.list(w.caller.tenantId, { limit: 10 });
    expect(accounts.accounts).toHaveLength(1);
  });

  it('an Update of the stack that reported the role verifies the account’s permissions', async () => {
    const { roleArn, token } = await stackSetUp();
    const verified: { accountId: string; source: string | undefined }[] = [];
    let failure: Error | undefined;
    const callbacks = createCallbacksService({
      ...w.deps,
      audit: w.audit.log,
      accounts: w.accounts,
      connections: w.connections,
      events: outbox.publisher,
      publicUrl: 'https://onramp.example.com/',
      permissions: {
        verify: async (_caller, accountId, options) => {
          verified.push({ accountId, source: options?.source });
          if (failure) throw failure;
          return undefined as never;
        },
      },
    });
    const input = { token, roleArn, stackId: STACK };
    const { accountId } = await callbacks.handle(META, { requestType: 'Create', ...input });
    // A Create (first or retried) connects; only an Update is the stack changing the policies.
    await callbacks.handle(META, { requestType: 'Create', ...input });
    expect(verified).toEqual([]);
    await callbacks.handle(META, { requestType: 'Update', ...input });
    expect(verified).toEqual([{ accountId, source: 'stack_callback' }]);
    // Another Update within the minute is answered, and verifies nothing.
    expect(await callbacks.handle(META, { requestType: 'Update', ...input })).toEqual({
      accountId,
    });
    expect(verified).toHaveLength(1);
    // A verification that fails does not fail the stack (it would roll the policies back).
    w.time.now = new Date(w.time.now.getTime() + 61_000);
    failure = new Error('AWS is down');
    const answer = await callbacks.handle(META, { requestType: 'Update', ...input });
    expect(answer).toEqual({ accountId });
    expect(w.audit.entries.at(-1)).toMatchObject({
      action: 'account.permissions_verify_failed',
      targetId: accountId,
      details: { requestType: 'Update', code: 'internal' },
    });
    expect(JSON.stringify(w.audit.entries)).not.toContain(token);
    await callbacks.handle(META, { requestType: 'Delete', ...input });
    expect(verified).toHaveLength(2);
  });

  it('an unknown, an expired and a spent token are the same refusal', async () => {
    const { callbacks, roleArn, token } = await stackSetUp();
    const unknown = await callbacks
      .handle(META, { requestType: 'Create', token: 'onrcb_guess', roleArn, stackId: STACK })
      .catch((e: unknown) => e);

    const spent = await stackSetUp();
    await spent.callbacks.handle(META, {
      requestType: 'Create',
      token: spent.token,
      roleArn: spent.roleArn,
      stackId: STACK,
    });
    const reused = await spent.callbacks
      .handle(META, { requestType: 'Create', token: spent.token, roleArn, stackId: STACK })
      .catch((e: unknown) => e);

    w.time.now = new Date(w.time.now.getTime() + 25 * HOUR);
    const expired = await callbacks
      .handle(META, { requestType: 'Create', token, roleArn, stackId: STACK })
      .catch((e: unknown) => e);

    const refusals = [unknown, expired, reused].map(refusalOf);
    expect(refusals.map((r) => r.reason)).toEqual([
      'unknown_token',
      'expired',
      'used_for_another_role',
    ]);
    // What the caller hears is the same 404 whatever the reason.
    expect(new Set(refusals.map((r) => `${r.status} ${r.message}`)).size).toBe(1);
    expect(refusals[0]?.status).toBe(404);
    // The audit log keeps each reason, and never a token.
    const audited = w.audit.entries.filter((e) => e.action === 'connection.callback_refused');
    expect(audited.map((e) => e.details?.reason)).toEqual([
      'unknown_token',
      'used_for_another_role',
      'expired',
    ]);
    expect(audited[0]?.tenantId).toBeNull();
    expect(JSON.stringify(w.audit.entries)).not.toContain(token);
    expect(JSON.stringify(w.audit.entries)).not.toContain('onrcb_guess');
  });

  it('an address refused too often is told to wait, and no longer fills the audit log', async () => {
    const callbacks = service();
    const attempt = () =>
      callbacks
        .handle(META, { requestType: 'Create', token: 'onrcb_x', roleArn: 'x', stackId: '' })
        .then(
          () => expect.unreachable('a wrong token was accepted'),
          (e: unknown) => e as AppError,
        );
    for (let i = 0; i < CALLBACK_REFUSALS; i++) expect((await attempt()).status).toBe(404);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toMatch(/^\d+$/);
    await attempt();
    expect(w.audit.actions().filter((a) => a === 'connection.callback_refused')).toHaveLength(
      CALLBACK_REFUSALS,
    );
    expect(
      w.audit.actions().filter((a) => a === 'connection.callback_refusals_limited'),
    ).toHaveLength(1);
  });

  it('the stack’s Delete marks its account invalid, as a check with trigger stack_deleted', async () => {
    const { callbacks, roleArn, token } = await stackSetUp();
    const { accountId } = await callbacks.handle(META, {
      requestType: 'Create',
      token,
      roleArn,
      stackId: STACK,
    });
    const deleted = await callbacks.handle(META, {
      requestType: 'Delete',
      token,
      roleArn,
      stackId: STACK,
    });
    expect(deleted).toEqual({ accountId });
    const account = await w.accounts.getAccount(w.caller.tenantId, accountId as string);
    expect(account.status).toBe('invalid');
    expect(account.statusDetail.errors).toEqual([
      expect.objectContaining({
        field: 'roleArn',
        code: 'stack_deleted',
        message: STACK_DELETED_MESSAGE,
      }),
    ]);
    const checks = await w.database.db
      .selectFrom('account_checks')
      .select(['trigger', 'status', 'previous_status'])
      .where('account_id', '=', account.id)
      .orderBy('seq', 'desc')
      .execute();
    expect(checks[0]).toEqual({
      trigger: 'stack_deleted',
      status: 'invalid',
      previous_status: 'valid',
    });
    expect(outbox.events).toEqual([
      expect.objectContaining({
        type: 'account.health_changed',
        inTransaction: true,
        data: expect.objectContaining({ previousStatus: 'valid', status: 'invalid' }),
      }),
    ]);
    expect(w.audit.actions()).toContain('account.disconnected');

    // Told again (a retried Delete): nothing more happens.
    await callbacks.handle(META, { requestType: 'Delete', token, roleArn, stackId: STACK });
    expect(outbox.events).toHaveLength(1);
    expect(w.audit.actions().filter((a) => a === 'account.disconnected')).toHaveLength(1);
  });

  it('a Delete of a stack that never connected changes nothing', async () => {
    const { callbacks, roleArn, token } = await stackSetUp();
    const answer = await callbacks.handle(META, {
      requestType: 'Delete',
      token,
      roleArn,
      stackId: STACK,
    });
    expect(answer).toEqual({ accountId: null });
    expect(outbox.events).toEqual([]);
    expect((await w.accounts.list(w.caller.tenantId, { limit: 10 })).accounts).toEqual([]);
  });

  it('a template’s callback: the issued token, renewed once expired, none without a public URL', async () => {
    const { callbacks, connection, token } = await stackSetUp();
    expect(await callbacks.callbackFor(w.caller, connection)).toEqual({
      url: `https://onramp.example.com${CALLBACK_PATH}`,
      token,
    });
    w.time.now = new Date(w.time.now.getTime() + 25 * HOUR);
    const renewed = await callbacks.callbackFor(w.caller, connection);
    expect(renewed?.token).toMatch(/^onrcb_/);
    expect(renewed?.token).not.toBe(token);
    const issued = w.audit.entries.filter((e) => e.action === 'connection.callback_token_issued');
    expect(issued.map((e) => e.details?.reason)).toEqual(['created', 'expired']);
    expect(await service(null).callbackFor(w.caller, connection)).toBeUndefined();
  });
});
