import { EMPTY_RULES } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../adapters/crypto/secrets.ts';
import { newId } from '../../ids.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, type Harness, type TestTenant } from '../../testing/harness.ts';
import { createAccountsRepository } from '../accounts/accounts-repository.ts';
import {
  createOrganizationsRepository,
  type MemberInput,
  type OrganizationsRepository,
} from './organizations-repository.ts';

const ROOT = 'r-ab12';
const OU_A = 'ou-ab12-aaaaaaaa';
const OU_B = 'ou-ab12-bbbbbbbb';
const OU_A1 = 'ou-ab12-aaaa1111';

describe.each(TEST_DIALECTS)('organizations repository on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  let repo: OrganizationsRepository;
  let clockNow = new Date('2026-12-01T10:00:00.000Z');
  let prefixCounter = 0;

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
    repo = createOrganizationsRepository(h.database.db, () => clockNow);
  });
  afterAll(async () => {
    await h?.close();
  });

  async function createOrg(tenantId: string, token = `onrorg_${newId('secret')}`) {
    prefixCounter += 1;
    return repo.create(tenantId, {
      id: newId('organization'),
      name: `Org ${prefixCounter}`,
      description: '',
      partition: 'aws',
      bundles: ['cost-inventory'],
      regions: [],
      rules: EMPTY_RULES,
      deployment: 'service_managed',
      deploymentRegion: 'us-east-1',
      memberRoleName: 'OnrampMemberRole-x',
      managementRoleName: 'OnrampOrganizationRole-x',
      externalIdPrefix: `onramp-test-${dialect}-${prefixCounter}-${Date.now()}`,
      managementAccountId: null,
      tokenHash: hashToken(token),
      sealedToken: h.deps.envelope.seal(token, {
        tenantId,
        ownerId: 'unused',
        field: 'enrollment_token',
      }),
    });
  }

  it('finds an organization by its token, the previous one only within its grace period', async () => {
    const org = await createOrg(a.id, 'onrorg_first');
    expect((await repo.findByTokenHash(hashToken('onrorg_first')))?.organization.id).toBe(org.id);
    const until = new Date(clockNow.getTime() + 7 * 86400_000).toISOString();
    const rotated = await repo.rotateToken(a.id, org.id, {
      from: hashToken('onrorg_first'),
      tokenHash: hashToken('onrorg_second'),
      sealed: h.deps.envelope.seal('onrorg_second', {
        tenantId: a.id,
        ownerId: org.id,
        field: 'enrollment_token',
      }),
      previousUntil: until,
    });
    expect(rotated).toBe(true);
    // A second rotation from the replaced token loses: only one winner of two at once.
    const again = await repo.rotateToken(a.id, org.id, {
      from: hashToken('onrorg_first'),
      tokenHash: hashToken('onrorg_third'),
      sealed: h.deps.envelope.seal('x', { tenantId: a.id, ownerId: org.id, field: 'e' }),
      previousUntil: until,
    });
    expect(again).toBe(false);
    expect(await repo.findByTokenHash(hashToken('onrorg_second'))).toMatchObject({
      token: 'current',
    });
    expect(await repo.findByTokenHash(hashToken('onrorg_first'))).toMatchObject({
      token: 'previous',
    });
    expect(
      await repo.findByTokenHash(
        hashToken('onrorg_first'),
        new Date(Date.parse(until) + 1).toISOString(),
      ),
    ).toBeUndefined();
    expect(await repo.findByTokenHash(hashToken('onrorg_third'))).toBeUndefined();
  });

  it('another tenant finds nothing, and the update is a compare-and-set on updated_at', async () => {
    const org = await createOrg(a.id);
    expect(await repo.find(b.id, org.id)).toBeUndefined();
    expect(await repo.update(b.id, org.id, { name: 'Stolen' }, org.updatedAt)).toBe(false);
    expect(await repo.update(a.id, org.id, { name: 'Renamed' }, org.updatedAt)).toBe(true);
    // The second writer read the same version: it loses.
    expect(await repo.update(a.id, org.id, { name: 'Lost' }, org.updatedAt)).toBe(false);
    expect((await repo.find(a.id, org.id))?.name).toBe('Renamed');
  });

  it('counts 5,000 members by state and health in one query, and the tree from their paths', async () => {
    const org = await createOrg(a.id);
    await repo.putUnits(a.id, org.id, [
      { id: ROOT, name: 'Root', parentId: null, path: [ROOT] },
      { id: OU_A, name: 'A', parentId: ROOT, path: [ROOT, OU_A] },
      { id: OU_A1, name: 'A1', parentId: OU_A, path: [ROOT, OU_A, OU_A1] },
      { id: OU_B, name: 'B', parentId: ROOT, path: [ROOT, OU_B] },
    ]);
    const accounts = createAccountsRepository(h.database.db, () => clockNow);
    const members: MemberInput[] = [];
    const paths = [[ROOT, OU_A], [ROOT, OU_A, OU_A1], [ROOT, OU_B], [ROOT]];
    for (let i = 0; i < 5000; i++) {
      const awsAccountId = String(300000000000 + i);
      const connected = i % 10 === 0;
      members.push({
        awsAccountId,
        name: `acct-${i}`,
        email: `acct-${i}@example.com`,
        path: paths[i % 4] as string[],
        state: connected ? 'connected' : i % 10 === 1 ? 'excluded' : 'discovered',
      });
    }
    // 500 connected members with accounts, every other one degraded.
    const started = performance.now();
    await h.database.db.transaction().execute(async (trx) => {
      await repo.putMembers(a.id, org.id, members, trx);
    });
    const seeded = performance.now() - started;
    for (const m of members.filter((x) => x.state === 'connected')) {
      const n = Number(m.awsAccountId) % 1000;
      const account = await accounts.create(a.id, {
        name: `member ${m.awsAccountId} ${org.id}`,
        description: '',
        partition: 'aws',
        method: 'role',
        awsAccountId: m.awsAccountId,
        principalArn: `arn:aws:iam::${m.awsAccountId}:role/M-${org.id}`,
        roleArn: `arn:aws:iam::${m.awsAccountId}:role/M-${org.id}`,
        externalId: `x-${m.awsAccountId}`,
        connectionId: null,
        accessKeyId: null,
        bundles: [],
        regions: [],
        status: n % 20 === 0 ? 'valid' : 'degraded',
        statusDetail: { checks: [], errors: [], findings: [] },
        lastCheckedAt: null,
        organizationId: org.id,
      });
      await repo.putMembers(a.id, org.id, [
        { awsAccountId: m.awsAccountId, state: 'connected', accountId: account.id },
      ]);
    }
    const t0 = performance.now();
    const counts = (await repo.countsOf(a.id, [org.id])).get(org.id);
    const countMs = performance.now() - t0;
    expect(counts?.counts).toEqual({
      discovered: 4000,
      enrolling: 0,
      connected: 500,
      failed: 0,
      excluded: 500,
      left: 0,
    });
    expect(counts?.health).toEqual({ valid: 250, degraded: 250, invalid: 0, unverified: 0 });
    expect(counts?.outdated).toBe(0);
    const t1 = performance.now();
    const places = await repo.memberPlaces(a.id, org.id);
    const placesMs = performance.now() - t1;
    expect(places).toHaveLength(5000);
    // Generous bounds: a regression to a query per member would take seconds.
    expect(countMs, `counting took ${countMs} ms`).toBeLessThan(3000);
    expect(placesMs, `reading places took ${placesMs} ms`).toBeLessThan(3000);
    console.info(
      `[${dialect}] 5,000 members: seed ${seeded.toFixed(0)} ms, counts ${countMs.toFixed(0)} ms, places ${placesMs.toFixed(0)} ms`,
    );

    // Another tenant sees nothing of it.
    expect((await repo.countsOf(b.id, [org.id])).get(org.id)?.counts.discovered).toBe(0);
    expect(await repo.memberPlaces(b.id, org.id)).toEqual([]);

    // Members under OU A (its child A1 included), filtered and paged.
    const underA = await repo.members(a.id, org.id, { unit: OU_A, limit: 5000 });
    expect(underA.members).toHaveLength(2500);
    const page1 = await repo.members(a.id, org.id, {
      unit: OU_A,
      state: 'connected',
      limit: 200,
    });
    expect(page1.members.every((m) => m.path.includes(OU_A) && m.state === 'connected')).toBe(true);
    expect(page1.more).toBe(true);
    const page2 = await repo.members(a.id, org.id, {
      unit: OU_A,
      state: 'connected',
      limit: 200,
      after: page1.members.at(-1)?.awsAccountId as string,
    });
    expect(page1.members.length + page2.members.length).toBe(250);
    expect(page2.more).toBe(false);
    const degraded = await repo.members(a.id, org.id, { health: 'degraded', limit: 1000 });
    expect(degraded.members).toHaveLength(250);
    expect(degraded.members.every((m) => m.health === 'degraded')).toBe(true);
    const byEmail = await repo.members(a.id, org.id, { q: 'ACCT-4999@', limit: 10 });
    expect(byEmail.members.map((m) => m.awsAccountId)).toEqual(['300000004999']);
    const byDashedId = await repo.members(a.id, org.id, { q: '3000-0000-4999', limit: 10 });
    expect(byDashedId.members.map((m) => m.awsAccountId)).toEqual(['300000004999']);
    // A LIKE wildcard in the text is taken literally.
    expect((await repo.members(a.id, org.id, { q: '%', limit: 10 })).members).toEqual([]);
  }, 120_000);

  it('applies state changes only to members still in the state they were read in', async () => {
    const org = await createOrg(a.id);
    await repo.putMembers(a.id, org.id, [
      { awsAccountId: '400000000001', state: 'discovered' },
      { awsAccountId: '400000000002', state: 'connected' },
    ]);
    const applied = await repo.applyStateChanges(a.id, org.id, [
      {
        awsAccountId: '400000000001',
        from: 'discovered',
        to: 'excluded',
        reason: { code: 'rules', message: 'excluded' },
      },
      // Read as discovered, but the worker connected it meanwhile: left alone.
      {
        awsAccountId: '400000000002',
        from: 'discovered',
        to: 'excluded',
        reason: { code: 'rules', message: 'excluded' },
      },
    ]);
    expect(applied.map((c) => c.awsAccountId)).toEqual(['400000000001']);
    expect((await repo.findMember(a.id, org.id, '400000000001'))?.state).toBe('excluded');
    expect((await repo.findMember(a.id, org.id, '400000000002'))?.state).toBe('connected');
  });

  it('deletes the organization with its units, members and sealed token', async () => {
    const org = await createOrg(a.id);
    await repo.putUnits(a.id, org.id, [{ id: ROOT, name: 'Root', parentId: null, path: [ROOT] }]);
    await repo.putMembers(a.id, org.id, [{ awsAccountId: '400000000009', state: 'discovered' }]);
    expect(await repo.findSealedToken(a.id, org.id)).toBeDefined();
    expect(await repo.delete(b.id, org.id)).toBe(false);
    expect(await repo.delete(a.id, org.id)).toBe(true);
    expect(await repo.findSealedToken(a.id, org.id)).toBeUndefined();
    expect(await repo.units(a.id, org.id)).toEqual([]);
    expect(await repo.memberPlaces(a.id, org.id)).toEqual([]);
    clockNow = new Date(clockNow.getTime() + 1000);
  });
});
