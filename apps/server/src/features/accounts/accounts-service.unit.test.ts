import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../http/problems.ts';
import { createUnitWorld, type UnitWorld } from '../../testing/fakes.ts';

/**
 * The accounts service on its own: SQLite in memory, the real connections service, a fake AWS, and
 * an audit log and an outbox that are lists. No HTTP, no PostgreSQL.
 */
const DAY_MS = 24 * 60 * 60 * 1000;

describe('accounts service', () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await createUnitWorld({ externalIdGraceDays: 7 });
  });
  afterEach(() => w.drop());

  const keysInput = (keys: { accessKeyId: string; secretAccessKey: string }, name = 'Keys') => ({
    method: 'access_keys' as const,
    name,
    description: '',
    partition: 'aws' as const,
    bundles: 'default' as const,
    regions: [],
    ...keys,
  });

  it('creates a role account from its connection: its role, external ID and name', async () => {
    const { connection, roleArn } = await w.roleSetUp('Prod');
    const account = await w.accounts.create(w.caller, {
      method: 'role',
      connectionId: connection.id,
      roleArn,
    });
    expect(account).toMatchObject({
      tenantId: w.caller.tenantId,
      name: 'Prod',
      method: 'role',
      roleArn,
      principalArn: roleArn,
      externalId: connection.externalId,
      connectionId: connection.id,
      awsAccountId: '123456789012',
      roleOrigin: 'pasted_arn',
      status: 'valid',
    });
    const connected = await w.connections.getConnection(w.caller.tenantId, connection.id);
    expect(connected).toMatchObject({ status: 'connected', accountId: account.id });
    const created = w.audit.entries.find((e) => e.action === 'account.created');
    expect(created).toMatchObject({ targetId: account.id, inTransaction: true });
    expect(w.events.events).toEqual([
      expect.objectContaining({ type: 'account.created', inTransaction: true }),
    ]);
  });

  it('creates a keys account, its secret sealed and readable only through the service', async () => {
    const keys = w.aws.addUser('aws', '210987654321', 'deployer');
    const account = await w.accounts.create(w.caller, keysInput(keys));
    expect(account).toMatchObject({
      method: 'access_keys',
      accessKeyId: keys.accessKeyId,
      principalArn: 'arn:aws:iam::210987654321:user/deployer',
      roleArn: null,
    });
    expect(await w.accounts.readAccessKeys(w.caller.tenantId, account.id)).toEqual(keys);
    const stored = await w.database.db.selectFrom('secrets').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(keys.secretAccessKey);
    // Another tenant cannot open it, even knowing the id.
    const other = await w.otherTenant();
    expect(await w.accounts.readAccessKeys(other.tenantId, account.id)).toBeUndefined();
  });

  it('refuses a principal the tenant already connected: 409 naming the account', async () => {
    const { account, roleArn } = await w.connectRole('First');
    const second = await w.roleSetUp('Second');
    const refused = await w.accounts
      .create(w.caller, { method: 'role', connectionId: second.connection.id, roleArn })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).status).toBe(409);
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'roleArn',
      code: 'already_connected',
    });
    expect((refused as AppError).extensions.existingAccount).toEqual({
      id: account.id,
      name: 'First',
    });

    const keys = w.aws.addUser('aws', '210987654321');
    await w.accounts.create(w.caller, keysInput(keys, 'Keys'));
    const again = await w.accounts
      .create(w.caller, keysInput(keys, 'Keys again'))
      .catch((e: unknown) => e);
    expect((again as AppError).status).toBe(409);
    expect((again as AppError).errors[0]?.field).toBe('accessKeyId');
    expect(w.events.types().filter((t) => t === 'account.created')).toHaveLength(2);
  });

  it('another tenant may connect the same principal', async () => {
    const keys = w.aws.addUser('aws', '210987654321');
    await w.accounts.create(w.caller, keysInput(keys));
    const other = await w.otherTenant();
    const theirs = await w.accounts.create(other, keysInput(keys));
    expect(theirs.tenantId).toBe(other.tenantId);
  });

  it('updates a name, refuses a taken one, and audits and publishes the change', async () => {
    const { account } = await w.connectRole('Prod');
    await w.connectRole('Staging', '123456789013');
    const renamed = await w.accounts.update(w.caller, account.id, { name: 'Production' });
    expect(renamed.name).toBe('Production');
    const entry = w.audit.entries.find((e) => e.action === 'account.updated');
    expect(entry).toMatchObject({ targetId: account.id, inTransaction: true });
    expect(entry?.details).toMatchObject({ changed: ['name'], name: 'Production' });
    expect(w.events.types().at(-1)).toBe('account.updated');

    const taken = await w.accounts
      .update(w.caller, account.id, { name: 'Staging' })
      .catch((e: unknown) => e);
    expect((taken as AppError).errors[0]).toMatchObject({ field: 'name', code: 'duplicate_name' });
    // Nothing to change: nothing written.
    const before = w.audit.entries.length;
    await w.accounts.update(w.caller, account.id, { name: 'Production' });
    expect(w.audit.entries.length).toBe(before);
  });

  it('a change of permissions checks the account again and publishes its new health', async () => {
    const { account, roleArn, connection } = await w.connectRole('Prod');
    w.aws.setPermissions(roleArn, { allows: ['sts:GetCallerIdentity'] });
    const updated = await w.accounts.update(w.caller, account.id, { regions: ['eu-west-1'] });
    expect(updated.status).toBe('degraded');
    expect(updated.regions).toEqual(['eu-west-1']);
    expect(w.events.types().slice(-2)).toEqual(['account.updated', 'account.health_changed']);
    expect(w.events.events.at(-1)?.data).toMatchObject({
      previousStatus: 'valid',
      status: 'degraded',
    });
    // The set-up follows its account's selection.
    expect((await w.connections.getConnection(w.caller.tenantId, connection.id)).regions).toEqual([
      'eu-west-1',
    ]);
  });

  it('replaces keys only once they validate; the old ones stay otherwise', async () => {
    const keys = w.aws.addUser('aws', '210987654321');
    const account = await w.accounts.create(w.caller, keysInput(keys));
    const wrong = await w.accounts
      .replaceCredentials(w.caller, account.id, {
        method: 'access_keys',
        accessKeyId: keys.accessKeyId,
        secretAccessKey: 'not the secret',
      })
      .catch((e: unknown) => e);
    expect((wrong as AppError).code).toBe('validation_failed');
    expect(await w.accounts.readAccessKeys(w.caller.tenantId, account.id)).toEqual(keys);

    const fresh = w.aws.addUser('aws', '210987654321');
    const replaced = await w.accounts.replaceCredentials(w.caller, account.id, {
      method: 'access_keys',
      ...fresh,
    });
    expect(replaced.accessKeyId).toBe(fresh.accessKeyId);
    expect(await w.accounts.readAccessKeys(w.caller.tenantId, account.id)).toEqual(fresh);
    const entry = w.audit.entries.find((e) => e.action === 'account.credentials_rotated');
    expect(entry?.details).toMatchObject({
      previousAccessKeyId: keys.accessKeyId,
      accessKeyId: fresh.accessKeyId,
    });
    expect(JSON.stringify(entry)).not.toContain(fresh.secretAccessKey);
    expect(w.events.types().at(-1)).toBe('account.credentials_rotated');
  });

  it('two replaces at once leave a key and the secret that belongs to it', async () => {
    const keys = w.aws.addUser('aws', '210987654321');
    const account = await w.accounts.create(w.caller, keysInput(keys));
    const a = w.aws.addUser('aws', '210987654321');
    const b = w.aws.addUser('aws', '210987654321');
    const results = await Promise.allSettled([
      w.accounts.replaceCredentials(w.caller, account.id, { method: 'access_keys', ...a }),
      w.accounts.replaceCredentials(w.caller, account.id, { method: 'access_keys', ...b }),
    ]);
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    const stored = await w.accounts.readAccessKeys(w.caller.tenantId, account.id);
    expect([a, b]).toContainEqual(stored);
    expect((await w.accounts.getAccount(w.caller.tenantId, account.id)).accessKeyId).toBe(
      stored?.accessKeyId,
    );
  });

  it('refuses new credentials of the other method', async () => {
    const { account } = await w.connectRole('Prod');
    const refused = await w.accounts
      .replaceCredentials(w.caller, account.id, {
        method: 'access_keys',
        accessKeyId: 'AKIAEXAMPLE',
        secretAccessKey: 'x',
      })
      .catch((e: unknown) => e);
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'method',
      code: 'method_mismatch',
    });
  });

  it('removes an account, its secret, and frees its connection', async () => {
    const { account, connection } = await w.connectRole('Prod');
    const keys = w.aws.addUser('aws', '210987654321');
    const keyed = await w.accounts.create(w.caller, keysInput(keys));
    const changed: string[] = [];
    w.accounts.onAccountChange((id) => changed.push(id));

    await w.accounts.remove(w.caller, account.id);
    await w.accounts.remove(w.caller, keyed.id);
    expect(await w.accounts.find(w.caller.tenantId, account.id)).toBeUndefined();
    expect(await w.accounts.readAccessKeys(w.caller.tenantId, keyed.id)).toBeUndefined();
    expect(await w.database.db.selectFrom('secrets').selectAll().execute()).toEqual([]);
    expect((await w.connections.getConnection(w.caller.tenantId, connection.id)).status).toBe(
      'pending',
    );
    expect(w.audit.entries.filter((e) => e.action === 'account.deleted')).toHaveLength(2);
    expect(w.events.types().filter((t) => t === 'account.deleted')).toHaveLength(2);
    expect(changed).toEqual([account.id, keyed.id]);
    const again = await w.accounts.remove(w.caller, account.id).catch((e: unknown) => e);
    expect((again as AppError).status).toBe(404);
  });

  it('another tenant’s account is not found', async () => {
    const { account } = await w.connectRole('Prod');
    const other = await w.otherTenant();
    const refused = await w.accounts
      .update(other, account.id, { name: 'Mine' })
      .catch((e: unknown) => e);
    expect((refused as AppError).status).toBe(404);
    const removal = await w.accounts.remove(other, account.id).catch((e: unknown) => e);
    expect((removal as AppError).status).toBe(404);
    expect(await w.accounts.find(w.caller.tenantId, account.id)).toBeDefined();
  });

  it('regenerates an external ID, switches once the role accepts it, drops the old after its grace', async () => {
    const { account, roleArn } = await w.connectRole('Prod');
    const old = account.externalId as string;
    const regenerated = await w.accounts.regenerateAccountExternalId(w.caller, account.id);
    expect(regenerated.externalId).not.toBe(old);
    expect(regenerated.previousExternalId).toBe(old);
    expect(regenerated.previousExternalIdUntil).toBe(
      new Date(w.time.now.getTime() + 7 * DAY_MS).toISOString(),
    );
    expect(w.audit.actions().at(-1)).toBe('account.external_id_regenerated');
    expect(w.events.events.at(-1)).toMatchObject({
      type: 'account.external_id_changed',
      data: { phase: 'regenerated' },
    });
    // The IDs themselves never leave in an event.
    expect(JSON.stringify(w.events.events)).not.toContain(regenerated.externalId);

    // The role still trusts only the old ID: Onramp keeps using it.
    expect(await w.accounts.advanceExternalId(w.caller.tenantId, account.id)).toBe(old);

    w.aws.addRole(roleArn, regenerated.externalId);
    expect(await w.accounts.advanceExternalId(w.caller.tenantId, account.id)).toBe(
      regenerated.externalId,
    );
    expect(w.audit.actions().at(-1)).toBe('account.external_id_switched');
    expect(w.events.events.at(-1)?.data).toMatchObject({ phase: 'switched' });
    const during = await w.connections.getConnection(w.caller.tenantId, regenerated.id);
    expect(during.previousExternalId).toBe(old);

    w.time.now = new Date(w.time.now.getTime() + 8 * DAY_MS);
    await w.accounts.advanceExternalId(w.caller.tenantId, account.id);
    const after = await w.connections.getConnection(w.caller.tenantId, regenerated.id);
    expect(after.previousExternalId).toBeNull();
    expect(w.audit.actions().at(-1)).toBe('account.external_id_previous_dropped');
    expect(w.events.events.at(-1)?.data).toMatchObject({ phase: 'previous_dropped' });
  });

  it('a keys account has no external ID to regenerate', async () => {
    const keys = w.aws.addUser('aws', '210987654321');
    const account = await w.accounts.create(w.caller, keysInput(keys));
    const refused = await w.accounts
      .regenerateAccountExternalId(w.caller, account.id)
      .catch((e: unknown) => e);
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'method',
      code: 'no_external_id',
    });
  });
});
