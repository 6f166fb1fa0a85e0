import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppDeps } from '../../deps.ts';
import type { Caller } from '../../domain/caller.ts';
import { AppError } from '../../http/problems.ts';
import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { createUnitWorld, recordingAuditLog, type UnitWorld } from '../../testing/fakes.ts';
import { createMetricsRegistry } from '../metrics/metrics-registry.ts';
import { UPSTREAM_RETRY_AFTER_SECONDS } from '../validation/accounts-validation.ts';
import { createCredentialsService, ROLE_CHAINING_MAX_SECONDS } from './credentials-service.ts';

/**
 * The credentials service on its own: the real accounts service over SQLite in memory and a fake
 * AWS, an accounts port that counts its reads, an audit log that is a list. No HTTP, no PostgreSQL.
 */
describe('credentials service', () => {
  let w: UnitWorld;
  let audit: ReturnType<typeof recordingAuditLog>;
  let reads: { tenantId: string; id: string }[];
  let aws: AwsGateway;
  beforeEach(async () => {
    w = await createUnitWorld();
    audit = recordingAuditLog();
    reads = [];
    aws = w.aws.gateway;
  });
  afterEach(() => w.drop());

  const service = (hubs: AppDeps['hubs'] = w.deps.hubs) =>
    createCredentialsService({
      aws,
      hubs,
      catalog: w.deps.catalog,
      clock: w.deps.clock,
      metrics: createMetricsRegistry(),
      audit: audit.log,
      accounts: {
        getAccount: (tenantId, id) => {
          reads.push({ tenantId, id });
          return w.accounts.getAccount(tenantId, id);
        },
        readAccessKeys: w.accounts.readAccessKeys,
        onAccountChange: w.accounts.onAccountChange,
      },
    });
  const token = (caller: Caller, id: string): Caller => ({
    ...caller,
    actorType: 'token',
    actorId: id,
  });

  it('vends a role session, capped at an hour when the hub is a role (chaining)', async () => {
    const { account, roleArn } = await w.connectRole();
    const vended = await service().vend(w.caller, account.id, { durationSeconds: 4 * 3600 });
    expect(vended.cache).toBe('miss');
    expect(vended.credentials.accessKeyId).toMatch(/^ASIA/);
    expect(vended.credentials.sessionToken).toBeTruthy();
    const asked = w.aws.assumeRoleInputs.at(-1);
    expect(asked).toMatchObject({
      roleArn,
      externalId: account.externalId,
      durationSeconds: ROLE_CHAINING_MAX_SECONDS,
    });
    expect(asked?.sessionName).toBe('onramp-usr_unit');
    const entry = audit.entries.at(-1);
    expect(entry).toMatchObject({ action: 'account.credentials_vended', targetId: account.id });
    expect(entry?.details).toMatchObject({ durationSeconds: 3600, cache: 'miss', bundles: null });
    expect(JSON.stringify(audit.entries)).not.toContain(vended.credentials.secretAccessKey);
  });

  it('asks for the duration requested when the hub is an IAM user (no chaining)', async () => {
    const { account } = await w.connectRole();
    const userHub = { aws: { principalArn: 'arn:aws:iam::111122223333:user/onramp-hub' } };
    await service(userHub).vend(w.caller, account.id, { durationSeconds: 4 * 3600 });
    expect(w.aws.assumeRoleInputs.at(-1)?.durationSeconds).toBe(4 * 3600);
    await service(userHub).vend(w.caller, account.id, {});
    expect(w.aws.assumeRoleInputs.at(-1)?.durationSeconds).toBe(3600);
  });

  it('serves a session again from the cache, to the same requester only', async () => {
    const { account } = await w.connectRole();
    const credentials = service();
    const first = await credentials.vend(w.caller, account.id, {});
    const again = await credentials.vend(w.caller, account.id, {});
    expect(again).toEqual({ credentials: first.credentials, cache: 'hit' });
    const other = await credentials.vend(token(w.caller, 'tok_other'), account.id, {});
    expect(other.cache).toBe('miss');
    expect(other.credentials.accessKeyId).not.toBe(first.credentials.accessKeyId);
    // A change of the account (a second later) retires what was cached for it.
    w.time.now = new Date(w.time.now.getTime() + 1000);
    await w.accounts.update(w.caller, account.id, { name: 'Renamed' });
    expect((await credentials.vend(w.caller, account.id, {})).cache).toBe('miss');
  });

  it('AWS not answering is a retryable 502, and nothing is cached', async () => {
    const { account } = await w.connectRole();
    const real = w.aws.gateway;
    let down = true;
    aws = {
      ...real,
      assumeRole: async (partition, input) => {
        if (down)
          throw new AwsProblem('upstream', 'aws', 'upstream_unavailable', 'STS answered 503.');
        return real.assumeRole(partition, input);
      },
    };
    const credentials = service();
    const refused = await credentials.vend(w.caller, account.id, {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBe(502);
    expect((refused as AppError).extensions.retryable).toBe(true);
    expect((refused as AppError).headers['retry-after']).toBe(String(UPSTREAM_RETRY_AFTER_SECONDS));
    expect((refused as AppError).message).toMatch(/no credentials were issued/);
    expect(audit.entries).toEqual([]);

    // AWS is back: the next request asks it again.
    down = false;
    const before = w.aws.assumeRoleInputs.length;
    expect((await credentials.vend(w.caller, account.id, {})).cache).toBe('miss');
    expect(w.aws.assumeRoleInputs.length).toBe(before + 1);
  });

  it('AWS refusing the duration is a 422 on durationSeconds', async () => {
    const { account } = await w.connectRole();
    aws = {
      ...w.aws.gateway,
      assumeRole: async () => {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'duration_refused',
          'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
          undefined,
          'ValidationError',
        );
      },
    };
    const refused = await service()
      .vend(w.caller, account.id, { durationSeconds: 1800 })
      .catch((e: unknown) => e);
    expect((refused as AppError).status).toBe(422);
    expect((refused as AppError).errors[0]?.field).toBe('durationSeconds');
  });

  it('reads an account once for many vends, and never hands it to another tenant', async () => {
    const { account } = await w.connectRole();
    const credentials = service();
    await credentials.vend(w.caller, account.id, {});
    await credentials.vend(w.caller, account.id, {});
    expect(reads).toEqual([{ tenantId: w.caller.tenantId, id: account.id }]);

    // The account is cached by id, but another tenant asking for that id reads (and is refused).
    const other = await w.otherTenant();
    const refused = await credentials.vend(other, account.id, {}).catch((e: unknown) => e);
    expect((refused as AppError).status).toBe(404);
    expect(reads.at(-1)).toEqual({ tenantId: other.tenantId, id: account.id });
  });

  it('vends a keys account’s session token with its stored keys; narrowing needs a role', async () => {
    const keys = w.aws.addUser('aws', '210987654321');
    const account = await w.accounts.create(w.caller, {
      method: 'access_keys',
      name: 'Keys',
      description: '',
      partition: 'aws',
      bundles: 'default',
      regions: [],
      ...keys,
    });
    const vended = await service().vend(w.caller, account.id, { durationSeconds: 7200 });
    expect(vended.credentials.accessKeyId).toMatch(/^ASIA/);
    expect(w.aws.calls.at(-1)).toMatchObject({ op: 'getSessionToken', target: keys.accessKeyId });
    const narrowed = await service()
      .vend(w.caller, account.id, { bundles: [account.bundles[0] ?? 'x'] })
      .catch((e: unknown) => e);
    expect((narrowed as AppError).errors[0]).toMatchObject({
      field: 'bundles',
      code: 'narrowing_needs_role',
    });
  });
});
