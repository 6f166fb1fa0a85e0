import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOG_REDACT } from '../../http/logging.ts';
import { createWebhookDeliverer, type WebhookDeliverer } from '../../jobs/webhook-deliverer.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
} from '../../testing/harness.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../testing/webhook-receiver.ts';
import { verifySignature } from '../webhooks/webhook-signature.ts';
import { CALLBACK_ATTEMPTS, CALLBACK_WINDOW_SECONDS } from './callbacks-routes.ts';
import { CALLBACK_REFUSALS, CALLBACK_REFUSALS_WINDOW_SECONDS } from './callbacks-service.ts';

const PUBLIC_URL = 'https://onramp.example.com';
const CALLBACK_URL = `${PUBLIC_URL}/v1/callbacks/cloudformation`;
const HOUR = 3600_000;

let sequence = 0;
const awsAccount = () => String(400000000000 + ++sequence * 7 + Math.floor(Math.random() * 7));
/** Each test calls from its own address, so the rate limit of one never spills into another. */
const newAddress = () => `198.51.100.${(++sequence % 250) + 1}`;

/** Sends a callback as a stack's function does: no session, no API token, from an address. */
async function sendCallback(
  h: Harness,
  body: Record<string, unknown>,
  address: string,
): Promise<TestResponse> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/callbacks/cloudformation',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(body),
    remoteAddress: address,
  });
  const type = String(response.headers['content-type'] ?? '');
  return {
    status: response.statusCode,
    headers: response.headers,
    text: response.body,
    body: type.includes('json') && response.body ? JSON.parse(response.body) : response.body,
  };
}

/** A problem without what differs per request, to compare two refusals. */
const withoutRequest = (body: Record<string, unknown>) => {
  const { requestId: _requestId, ...rest } = body;
  return rest;
};

describe.each(TEST_DIALECTS)('CloudFormation callbacks on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let receiver: WebhookReceiver;
  let deliverer: WebhookDeliverer;
  let offsetMs = 0;
  let address = newAddress();

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    h = await createHarness(dialect, {
      publicUrl: PUBLIC_URL,
      clock: () => new Date(Date.now() + offsetMs),
      // The receiver listens on 127.0.0.1.
      webhookSettings: { allowPrivate: true },
    });
    a = await h.tenant();
    deliverer = createWebhookDeliverer(h.services, { owner: `callbacks-${dialect}` });
  });
  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });
  beforeEach(() => {
    offsetMs = 0;
    address = newAddress();
  });

  const callback = (body: Record<string, unknown>, from = address) => sendCallback(h, body, from);

  const createConnection = async (extra: Record<string, unknown> = {}) => {
    const response = await a.admin.request('POST', '/v1/connections', {
      name: `Stack ${++sequence}`,
      partition: 'aws',
      ...extra,
    });
    expectStatus(response, 201);
    return response.body as { id: string; externalId: string; name: string };
  };

  /** The token as the template carries it: the only place a tenant (or a stack) gets it from. */
  const tokenOf = async (connection: { id: string }): Promise<string> => {
    const response = await a.admin.request(
      'GET',
      `/v1/connections/${connection.id}/cloudformation?format=json`,
    );
    expectStatus(response, 200);
    const template = JSON.parse(response.text);
    expect(template.Resources.Callback.Properties.CallbackUrl).toBe(CALLBACK_URL);
    return template.Parameters.CallbackToken.Default as string;
  };

  /** What the stack creates: the role, trusting the hub with the connection's external ID. */
  const deployRole = (connection: { externalId: string }) => {
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, connection.externalId);
    return roleArn;
  };

  const stackId = (name: string) =>
    `arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/0f1e2d3c`;

  const auditOf = (targetId: string) =>
    h.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('target_id', '=', targetId)
      .orderBy('seq')
      .execute();

  const refusals = async (reason: string) =>
    (
      await h.database.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', 'connection.callback_refused')
        .execute()
    ).filter((row) => JSON.parse(row.details).reason === reason);

  it('connects the role the stack reports: the account exists and the connection is connected', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    expect(token).toMatch(/^onrcb_[A-Za-z0-9_-]{43}$/);
    const roleArn = deployRole(c);

    const response = await callback({
      requestType: 'Create',
      token,
      roleArn,
      stackId: stackId('first'),
    });
    expectStatus(response, 200);
    expect(response.body).toEqual({ accountId: expect.stringMatching(/^acct_/) });
    const { accountId } = response.body;

    const connection = await a.viewer.request('GET', `/v1/connections/${c.id}`);
    expect(connection.body).toMatchObject({ status: 'connected', accountId });
    const account = await a.viewer.request('GET', `/v1/accounts/${accountId}`);
    expectStatus(account, 200);
    expect(account.body).toMatchObject({
      name: c.name,
      method: 'role',
      roleArn,
      connectionId: c.id,
    });
    expect(h.aws.calls.some((call) => call.op === 'assumeRole' && call.target === roleArn)).toBe(
      true,
    );

    const created = (await auditOf(accountId)).find((e) => e.action === 'account.created');
    expect(created).toMatchObject({ tenant_id: a.id, actor_type: 'system', actor_id: null });
    const accepted = (await auditOf(c.id)).filter(
      (e) => e.action === 'connection.callback_accepted',
    );
    expect(accepted).toHaveLength(1);
    expect(JSON.parse(accepted[0]?.details ?? '{}')).toMatchObject({
      requestType: 'Create',
      roleArn,
      stackId: stackId('first'),
      accountId,
      repeated: false,
    });
    expect(accepted[0]).toMatchObject({
      actor_type: 'system',
      source_ip: address,
      request_id: response.headers['x-request-id'],
    });
    const rows = await h.database.db.selectFrom('audit_log').select('details').execute();
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('answers the same stack again with the same account, and refuses the token for another role', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const first = await callback({ requestType: 'Create', token, roleArn, stackId: 's' });
    expectStatus(first, 200);

    for (const requestType of ['Create', 'Update']) {
      const again = await callback({ requestType, token, roleArn, stackId: 's' });
      expectStatus(again, 200);
      expect(again.body).toEqual(first.body);
    }
    const accounts = await h.database.db
      .selectFrom('accounts')
      .select('id')
      .where('connection_id', '=', c.id)
      .execute();
    expect(accounts).toHaveLength(1);

    const otherRole = deployRole(c);
    const refused = await callback({
      requestType: 'Update',
      token,
      roleArn: otherRole,
      stackId: 's',
    });
    expectProblem(refused, 404);
    const unknown = await callback({
      requestType: 'Update',
      token: `onrcb_${'x'.repeat(43)}`,
      roleArn: otherRole,
      stackId: 's',
    });
    expect(withoutRequest(refused.body)).toEqual(withoutRequest(unknown.body));
    expect((await refusals('used_for_another_role')).map((r) => r.target_id)).toContain(c.id);
    const account = await a.viewer.request('GET', `/v1/accounts/${first.body.accountId}`);
    expect(account.body.roleArn).toBe(roleArn);
  });

  const verifiesOf = async (accountId: string) => {
    const checks = await a.admin.request('GET', `/v1/accounts/${accountId}/checks`);
    expectStatus(checks, 200);
    return checks.body.checks.filter(
      (check: { trigger: string }) => check.trigger === 'permissions_updated',
    ).length;
  };

  it('refuses a stack Update from another stack than the one that reported the role', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const created = await callback({
      requestType: 'Create',
      token,
      roleArn,
      stackId: stackId('mine'),
    });
    expectStatus(created, 200);

    const other = await callback({
      requestType: 'Update',
      token,
      roleArn,
      stackId: stackId('copy'),
    });
    expectProblem(other, 404);
    expect((await refusals('another_stack')).map((r) => r.target_id)).toContain(c.id);
    expect(await verifiesOf(created.body.accountId)).toBe(0);
    // The stack that reported it is still answered, and its Update verifies the account.
    const own = await callback({ requestType: 'Update', token, roleArn, stackId: stackId('mine') });
    expectStatus(own, 200);
    expect(await verifiesOf(created.body.accountId)).toBe(1);
  });

  it('verifies an account at most once a minute from call-backs: twenty Updates at once are all answered, one verifies', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const report = { token, roleArn, stackId: stackId('busy') };
    const created = await callback({ requestType: 'Create', ...report });
    expectStatus(created, 200);
    const { accountId } = created.body;
    const auditCount = async () => (await auditOf(c.id)).length + (await auditOf(accountId)).length;
    const auditBefore = await auditCount();

    // From many addresses, so the per-address limit is not what stops them.
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        callback({ requestType: 'Update', ...report }, newAddress()),
      ),
    );
    for (const answer of answers) {
      expectStatus(answer, 200);
      expect(answer.body).toEqual({ accountId });
    }
    expect(await verifiesOf(accountId)).toBe(1);
    const entries = [...(await auditOf(c.id)), ...(await auditOf(accountId))];
    expect(
      entries.filter(
        (e) =>
          e.action === 'connection.callback_accepted' &&
          JSON.parse(e.details).requestType === 'Update',
      ),
    ).toHaveLength(1);
    expect(entries.filter((e) => e.action === 'account.permissions_verify_failed')).toEqual([]);
    // One accepted call-back, and what its verify wrote (at most the account's own entries).
    expect((await auditCount()) - auditBefore).toBeLessThanOrEqual(2);

    // A minute later the stack's next update verifies again.
    offsetMs += 61_000;
    expectStatus(await callback({ requestType: 'Update', ...report }, newAddress()), 200);
    expect(await verifiesOf(accountId)).toBe(2);
  });

  it('refuses an expired token exactly as it refuses a wrong one, and says why only in the audit log', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);

    offsetMs = 24 * HOUR + 60_000;
    const expired = await callback({ requestType: 'Create', token, roleArn, stackId: 's' });
    expectProblem(expired, 404);
    const wrong = await callback({
      requestType: 'Create',
      token: `${token.slice(0, -2)}zz`,
      roleArn,
      stackId: 's',
    });
    expectProblem(wrong, 404);
    expect(withoutRequest(expired.body)).toEqual(withoutRequest(wrong.body));
    expect(expired.text).not.toContain('expire');

    const connection = await h.database.db
      .selectFrom('connections')
      .select(['status', 'account_id'])
      .where('id', '=', c.id)
      .executeTakeFirstOrThrow();
    expect(connection).toEqual({ status: 'pending', account_id: null });
    const [reason] = await refusals('expired').then((rows) =>
      rows.filter((r) => r.target_id === c.id),
    );
    expect(reason).toMatchObject({ tenant_id: a.id, source_ip: address });
    expect(JSON.stringify(await refusals('unknown_token'))).not.toContain(token.slice(0, -2));
  });

  it('renews an expired token when the template is downloaded again', async () => {
    const c = await createConnection();
    const old = await tokenOf(c);
    // Downloading again while it is good keeps it.
    expect(await tokenOf(c)).toBe(old);

    // Expire it in the database (moving the clock would expire the test users' sessions too).
    await h.database.db
      .updateTable('callback_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('connection_id', '=', c.id)
      .execute();
    const renewed = await tokenOf(c);
    expect(renewed).not.toBe(old);
    const roleArn = deployRole(c);
    expectProblem(
      await callback({ requestType: 'Create', token: old, roleArn, stackId: 's' }),
      404,
    );
    expectStatus(
      await callback({ requestType: 'Create', token: renewed, roleArn, stackId: 's' }),
      200,
    );
    const issued = (await auditOf(c.id)).filter(
      (e) => e.action === 'connection.callback_token_issued',
    );
    expect(issued.map((e) => JSON.parse(e.details).reason)).toEqual(['created', 'expired']);
  });

  it('retires the token with the external ID it went with', async () => {
    const c = await createConnection();
    const old = await tokenOf(c);
    const regenerated = await a.admin.request('POST', `/v1/connections/${c.id}/external-id`);
    expectStatus(regenerated, 200);
    const fresh = await tokenOf(c);
    expect(fresh).not.toBe(old);
    const roleArn = deployRole(regenerated.body);
    expectProblem(
      await callback({ requestType: 'Create', token: old, roleArn, stackId: 's' }),
      404,
    );
    expectStatus(
      await callback({ requestType: 'Create', token: fresh, roleArn, stackId: 's' }),
      200,
    );
  });

  it('tells the stack why when the role does not validate, and keeps the token for another try', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    // The stack reports a role that does not trust Onramp's hub with this external ID.
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, 'onramp-some-other-external-id');
    const refused = await callback({ requestType: 'Create', token, roleArn, stackId: 's' });
    expectProblem(refused, 422, 'roleArn');
    expect(refused.body.detail).toMatch(/\S/);
    const failed = (await auditOf(c.id)).find((e) => e.action === 'connection.callback_failed');
    expect(JSON.parse(failed?.details ?? '{}')).toMatchObject({
      code: 'validation_failed',
      roleArn,
    });

    const fixed = deployRole(c);
    expectStatus(
      await callback({ requestType: 'Create', token, roleArn: fixed, stackId: 's' }),
      200,
    );
  });

  it('saves the account degraded, with the list, when an SCP denies actions the template grants', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    // The role has the template's policy; the organization denies two of its actions above it.
    h.aws.setPermissions(roleArn, { scpDenies: ['ec2:RunInstances', 'ec2:TerminateInstances'] });
    const response = await callback({ requestType: 'Create', token, roleArn, stackId: 'scp' });
    expectStatus(response, 200);
    const account = await a.viewer.request('GET', `/v1/accounts/${response.body.accountId}`);
    expect(account.body).toMatchObject({
      status: 'degraded',
      roleOrigin: 'stack_callback',
      findings: [
        {
          bundleId: 'kubernetes-clusters',
          bundleName: 'Clusters on EC2',
          missing: [],
          deniedByScp: ['ec2:RunInstances', 'ec2:TerminateInstances'],
        },
        {
          bundleId: 'nodes-ec2',
          bundleName: 'Manage EC2 nodes',
          missing: [],
          deniedByScp: ['ec2:RunInstances', 'ec2:TerminateInstances'],
        },
      ],
    });
    const connection = await a.viewer.request('GET', `/v1/connections/${c.id}`);
    expect(connection.body).toMatchObject({ status: 'connected' });
    const created = (await auditOf(response.body.accountId)).find(
      (e) => e.action === 'account.created',
    );
    expect(JSON.parse(created?.details ?? '{}')).toMatchObject({
      status: 'degraded',
      acceptedMissingPermissions: [
        { bundle: 'kubernetes-clusters', missing: 0, deniedByScp: 2 },
        { bundle: 'nodes-ec2', missing: 0, deniedByScp: 2 },
      ],
    });
  });

  it('still refuses a role the stack reports that does not require the external ID', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = `arn:aws:iam::${awsAccount()}:role/OnrampRole`;
    h.aws.addRole(roleArn, null);
    h.aws.setPermissions(roleArn, { scpDenies: ['ec2:RunInstances'] });
    const refused = await callback({ requestType: 'Create', token, roleArn, stackId: 'open' });
    expectProblem(refused, 422, 'roleArn');
    const connection = await a.viewer.request('GET', `/v1/connections/${c.id}`);
    expect(connection.body.status).not.toBe('connected');
  });

  it('adopts the account when the tenant pasted the same role while the stack ran', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const pasted = await a.admin.request('POST', '/v1/accounts', {
      method: 'role',
      connectionId: c.id,
      roleArn,
    });
    expectStatus(pasted, 201);
    const response = await callback({ requestType: 'Create', token, roleArn, stackId: 's' });
    expectStatus(response, 200);
    expect(response.body.accountId).toBe(pasted.body.id);
  });

  it('marks the account invalid when its stack is deleted, with the reason, audited', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const created = await callback({ requestType: 'Create', token, roleArn, stackId: 'gone' });
    expectStatus(created, 200);
    const { accountId } = created.body;

    // Long after the token's day: a stack is deleted whenever its owner decides.
    offsetMs = 90 * 24 * HOUR;
    const deleted = await callback({ requestType: 'Delete', token, roleArn, stackId: 'gone' });
    expectStatus(deleted, 200);
    expect(deleted.body).toEqual({ accountId });
    offsetMs = 0;

    const account = await a.viewer.request('GET', `/v1/accounts/${accountId}`);
    expect(account.body.status).toBe('invalid');
    expect(account.body.checks).toEqual([
      expect.objectContaining({
        status: 'failed',
        detail: expect.stringContaining(
          'The CloudFormation stack that created this role was deleted',
        ),
      }),
    ]);
    const row = await h.database.db
      .selectFrom('accounts')
      .select('status_detail')
      .where('id', '=', accountId)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(row.status_detail).errors).toEqual([
      expect.objectContaining({ field: 'roleArn', code: 'stack_deleted' }),
    ]);
    const disconnected = (await auditOf(accountId)).filter(
      (e) => e.action === 'account.disconnected',
    );
    expect(disconnected).toHaveLength(1);
    expect(disconnected[0]).toMatchObject({ tenant_id: a.id, actor_type: 'system' });
    expect(JSON.parse(disconnected[0]?.details ?? '{}')).toMatchObject({
      reason: 'The CloudFormation stack that created this role was deleted.',
      roleArn,
      stackId: 'gone',
      connectionId: c.id,
    });

    // CloudFormation retrying the Delete changes nothing more.
    const again = await callback({ requestType: 'Delete', token, roleArn, stackId: 'gone' });
    expectStatus(again, 200);
    expect(
      (await auditOf(accountId)).filter((e) => e.action === 'account.disconnected'),
    ).toHaveLength(1);
  });

  it('records a stack’s deletion as a check of the account, and tells webhooks its health changed', async () => {
    const t = await h.tenant();
    const webhook = await t.admin.request('POST', '/v1/webhooks', {
      url: receiver.url(`/stack-deleted/${dialect}`),
      events: ['account.health_changed'],
    });
    expectStatus(webhook, 201);
    const connection = await t.admin.request('POST', '/v1/connections', {
      name: `Stack ${++sequence}`,
      partition: 'aws',
    });
    expectStatus(connection, 201);
    const template = await t.admin.request(
      'GET',
      `/v1/connections/${connection.body.id}/cloudformation?format=json`,
    );
    const token = JSON.parse(template.text).Parameters.CallbackToken.Default as string;
    const roleArn = deployRole(connection.body);
    const created = await callback({ requestType: 'Create', token, roleArn, stackId: 'watched' });
    expectStatus(created, 200);
    const { accountId } = created.body;
    // A check on demand first, so the list has an older record to come after.
    const manual = await t.admin.request('POST', `/v1/accounts/${accountId}/check`);
    expectStatus(manual, 200);
    expect(manual.body).toMatchObject({ status: 'valid', trigger: 'manual' });

    expectStatus(
      await callback({ requestType: 'Delete', token, roleArn, stackId: 'watched' }),
      200,
    );
    const checks = await t.viewer.request('GET', `/v1/accounts/${accountId}/checks`);
    expectStatus(checks, 200);
    expect(checks.body.checks.map((c: { trigger: string }) => c.trigger)).toEqual([
      'stack_deleted',
      'manual',
      'connect',
    ]);
    const [record] = checks.body.checks;
    expect(record).toMatchObject({
      id: expect.stringMatching(/^chk_/),
      status: 'invalid',
      previousStatus: 'valid',
      changed: true,
      stale: false,
      findings: [],
      errors: [
        expect.objectContaining({
          field: 'roleArn',
          code: 'stack_deleted',
          message: 'The CloudFormation stack that created this role was deleted.',
        }),
      ],
    });
    const account = await t.viewer.request('GET', `/v1/accounts/${accountId}`);
    expect(account.body.status).toBe('invalid');

    // The event was recorded with the change: the deliverer sends it, signed.
    await deliverer.runOnce();
    const events = receiver.received.filter((r) => r.path === `/stack-deleted/${dialect}`);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event?.json).toMatchObject({
      type: 'account.health_changed',
      tenantId: t.id,
      data: {
        account: { id: accountId, status: 'invalid' },
        previousStatus: 'valid',
        status: 'invalid',
        checkId: record.id,
        errors: [expect.objectContaining({ code: 'stack_deleted' })],
      },
    });
    expect(
      verifySignature(
        webhook.body.secret,
        {
          timestamp: String(event?.headers['onramp-webhook-timestamp']),
          signature: String(event?.headers['onramp-webhook-signature']),
        },
        event?.body ?? '',
        Math.floor(h.deps.clock().getTime() / 1000),
      ),
    ).toBe(true);

    // CloudFormation retrying the Delete records nothing more and sends nothing more.
    expectStatus(
      await callback({ requestType: 'Delete', token, roleArn, stackId: 'watched' }),
      200,
    );
    await deliverer.runOnce();
    const again = await t.viewer.request('GET', `/v1/accounts/${accountId}/checks`);
    expect(again.body.checks).toHaveLength(3);
    expect(receiver.received.filter((r) => r.path === `/stack-deleted/${dialect}`)).toHaveLength(1);
  });

  it('answers the Delete of a stack that never connected, and an unknown token without a hint', async () => {
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const rollback = await callback({ requestType: 'Delete', token, roleArn, stackId: 's' });
    expectStatus(rollback, 200);
    expect(rollback.body).toEqual({ accountId: null });
    expect(
      (
        await h.database.db
          .selectFrom('connections')
          .select('status')
          .where('id', '=', c.id)
          .executeTakeFirstOrThrow()
      ).status,
    ).toBe('pending');

    const unknownDelete = await callback({
      requestType: 'Delete',
      token: `onrcb_${'q'.repeat(43)}`,
      roleArn,
      stackId: 's',
    });
    expectProblem(unknownDelete, 404);
    const unknownCreate = await callback({
      requestType: 'Create',
      token: `onrcb_${'r'.repeat(43)}`,
      roleArn,
      stackId: 's',
    });
    expect(withoutRequest(unknownDelete.body)).toEqual(withoutRequest(unknownCreate.body));
    const [refusal] = (await refusals('unknown_token')).slice(-2);
    expect(refusal).toMatchObject({ tenant_id: null, target_id: null, actor_type: 'system' });
  });

  it('refuses bad input, naming the field', async () => {
    expectProblem(
      await callback({ requestType: 'Rollback', token: 't', roleArn: 'r', stackId: 's' }),
      400,
      'requestType',
    );
    expectProblem(await callback({ requestType: 'Create', roleArn: 'r' }), 400, 'token');
    expectProblem(await callback({ requestType: 'Create', token: 't' }), 400, 'roleArn');
  });

  /** Moves the clock just past the start of a limit window, so the test does not straddle two. */
  const atWindowStart = (windowMs: number) => {
    offsetMs = windowMs - (Date.now() % windowMs) + 1_000;
  };

  it('limits the callbacks of one address', async () => {
    atWindowStart(CALLBACK_WINDOW_SECONDS * 1000);
    // A stack asking again gets the same answer; from one address, only so often.
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    const report = { requestType: 'Update', token, roleArn, stackId: 's' };
    for (let i = 0; i < CALLBACK_ATTEMPTS; i++) expectStatus(await callback(report), 200);
    const limited = await callback(report);
    expectProblem(limited, 429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expectStatus(await callback(report, newAddress()), 200);
  });

  it('limits the refused callbacks of one address, audited once past the limit', async () => {
    atWindowStart(CALLBACK_REFUSALS_WINDOW_SECONDS * 1000);
    const junk = { requestType: 'Create', token: 'onrcb_junk', roleArn: 'r', stackId: 's' };
    const sent = await Promise.all(
      Array.from({ length: CALLBACK_REFUSALS + 10 }, () => callback(junk)),
    );
    const statuses = sent.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 404)).toHaveLength(CALLBACK_REFUSALS);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    for (const r of sent.filter((r) => r.status === 429)) {
      expectProblem(r, 429);
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    }
    const fromHere = await h.database.db
      .selectFrom('audit_log')
      .select('action')
      .where('source_ip', '=', address)
      .execute();
    expect(fromHere.map((e) => e.action).sort()).toEqual(
      [
        ...Array(CALLBACK_REFUSALS).fill('connection.callback_refused'),
        'connection.callback_refusals_limited',
      ].sort(),
    );
    // A stack with a good token from that address is still answered; other addresses are not limited.
    const c = await createConnection();
    const token = await tokenOf(c);
    const roleArn = deployRole(c);
    expectStatus(await callback({ requestType: 'Create', token, roleArn, stackId: 's' }), 200);
    expectProblem(await callback(junk, newAddress()), 404);
  });

  it('keeps only a short, printable prefix and a hash of what a refused caller sent', async () => {
    const roleArn = `arn:aws:iam::123456789012:role/${'\u001b[31m\u202e'.repeat(100)}${'x'.repeat(1000)}`;
    const stack = `stack-${'y'.repeat(2000)}`;
    expectProblem(
      await callback({ requestType: 'Create', token: 'onrcb_nobody', roleArn, stackId: stack }),
      404,
    );
    const [entry] = await h.database.db
      .selectFrom('audit_log')
      .select('details')
      .where('source_ip', '=', address)
      .where('action', '=', 'connection.callback_refused')
      .execute();
    const details = JSON.parse(entry?.details ?? '{}');
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(details).toMatchObject({
      reason: 'unknown_token',
      roleArn: { length: roleArn.trim().length, sha256: sha256(roleArn.trim()) },
      stackId: { preview: `${stack.slice(0, 64)}…`, length: stack.length, sha256: sha256(stack) },
    });
    expect(details.roleArn.preview).toMatch(/^arn:aws:iam::123456789012:role\/[\x20-\x7e]{33}…$/);
    expect(entry?.details.length).toBeLessThan(600);
  });

  it('needs no session or API token, and the OpenAPI says so', async () => {
    const spec = await h.anonymous.request('GET', '/openapi.json');
    expectStatus(spec, 200);
    const operation = spec.body.paths['/v1/callbacks/cloudformation'].post;
    expect(operation.security).toEqual([]);
    expect(spec.body.paths['/v1/connections'].post.security).toBeUndefined();
  });
});

describe('callback tokens', () => {
  it('are stored only as a hash and sealed: not in the database files, the audit log or the logs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-callbacks-'));
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const h = await createHarness(
      'sqlite',
      { publicUrl: PUBLIC_URL, logger: { level: 'trace', stream, redact: LOG_REDACT } },
      { sqlitePath: join(dir, 'onramp.db') },
    );
    const tenant = await h.tenant();
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await tenant.admin.request('POST', '/v1/connections', {
        name: `Sealed ${i}`,
        partition: 'aws',
      });
      expectStatus(c, 201);
      const template = await tenant.admin.request(
        'GET',
        `/v1/connections/${c.body.id}/cloudformation?format=yaml`,
      );
      const token = /CallbackToken:[\s\S]*?Default: (onrcb_\S+)/.exec(template.text)?.[1] ?? '';
      expect(token).toMatch(/^onrcb_/);
      tokens.push(token);
      const roleArn = `arn:aws:iam::12345678905${i}:role/OnrampRole`;
      h.aws.addRole(roleArn, c.body.externalId);
      const body = { requestType: 'Create', token, roleArn, stackId: `stack-${i}` };
      expectStatus(await sendCallback(h, body, '203.0.113.9'), 200);
      expectStatus(await sendCallback(h, { ...body, requestType: 'Delete' }, '203.0.113.9'), 200);
      expectProblem(
        await sendCallback(h, { ...body, token: `${token}x`, roleArn: 'x' }, '203.0.113.9'),
        404,
      );
      const row = await h.database.db
        .selectFrom('callback_tokens')
        .selectAll()
        .where('connection_id', '=', c.body.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    }
    const audit = await h.database.db.selectFrom('audit_log').selectAll().execute();
    await h.close();
    const files = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1'));
    expect(lines.length).toBeGreaterThan(10);
    for (const token of tokens) {
      for (const file of files)
        expect(file.includes(token), 'a token is in plaintext in the database files').toBe(false);
      expect(lines.join('').includes(token), 'a log line carries a token').toBe(false);
      expect(JSON.stringify(audit).includes(token), 'the audit log carries a token').toBe(false);
    }
    // The test would notice: the tokens' sealed form is there.
    expect(files.join('').includes('callbackToken')).toBe(true);
    expect(lines.join('')).toContain('CloudFormation callback refused');
  });
});
