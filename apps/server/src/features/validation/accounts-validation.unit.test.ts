import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeAws, type FakeAws } from '../../testing/fake-aws.ts';
import { type ValidationDeps, validateCredentials } from './accounts-validation.ts';

/** The validation pipeline against a fake of the AwsGateway port: no HTTP, no database. */
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/OnrampRole`;
const EXTERNAL_ID = 'onramp-external-id-for-the-unit-test-0001';
const actions = createIamDataActionIndex();

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), { actions });
});

describe('the validation pipeline', () => {
  let aws: FakeAws;
  let deps: ValidationDeps;
  const permissions = () => ({
    bundles: [...catalog.bundles.values()].filter((b) => b.isDefault),
    regions: [],
  });

  beforeEach(() => {
    aws = createFakeAws();
    deps = {
      aws: aws.gateway,
      hubs: { aws: { principalArn: 'arn:aws:iam::111122223333:role/onramp-hub' } },
      actions,
      sleep: async () => {},
    };
  });

  it('passes keys whose identity and permissions check out, step by step', async () => {
    const keys = aws.addUser('aws', ACCOUNT);
    const report = await validateCredentials(
      deps,
      { method: 'access_keys', partition: 'aws', ...keys },
      { permissions: permissions() },
    );
    expect(report.valid).toBe(true);
    expect(report.status).toBe('valid');
    expect(report.identity?.accountId).toBe(ACCOUNT);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ['shape', 'passed'],
      ['identity', 'passed'],
      ['permissions', 'passed'],
    ]);
  });

  it('maps AWS refusing the keys to a field error, and skips what needed them', async () => {
    const report = await validateCredentials(deps, {
      method: 'access_keys',
      partition: 'aws',
      accessKeyId: 'AKIAABCDEFGHIJKLMNOP',
      secretAccessKey: 'a'.repeat(40),
    });
    expect(report.valid).toBe(false);
    expect(report.status).toBe('invalid');
    expect(report.errors[0]).toMatchObject({ field: 'accessKeyId', code: 'InvalidClientTokenId' });
    expect(report.checks.find((c) => c.name === 'permissions')?.status).toBe('skipped');
  });

  it('refuses root keys', async () => {
    const keys = aws.addRootKeys('aws', ACCOUNT);
    const report = await validateCredentials(deps, {
      method: 'access_keys',
      partition: 'aws',
      ...keys,
    });
    expect(report.valid).toBe(false);
    expect(report.checks.find((c) => c.name === 'identity')?.status).toBe('failed');
  });

  it('refuses a role its trust policy lets anyone assume without the external ID', async () => {
    aws.addRole(ROLE, null);
    const report = await validateCredentials(deps, {
      method: 'role',
      partition: 'aws',
      roleArn: ROLE,
      externalId: EXTERNAL_ID,
    });
    expect(report.valid).toBe(false);
    expect(report.errors.map((e) => [e.field, e.code])).toContainEqual([
      'roleArn',
      'external_id_not_required',
    ]);
  });

  it('passes a role that requires its external ID', async () => {
    aws.addRole(ROLE, EXTERNAL_ID);
    const report = await validateCredentials(
      deps,
      { method: 'role', partition: 'aws', roleArn: ROLE, externalId: EXTERNAL_ID },
      { permissions: permissions() },
    );
    expect(report.valid).toBe(true);
    expect(report.credentials).toEqual({ method: 'role', roleArn: ROLE });
    expect(report.checks.find((c) => c.name === 'external_id_required')?.status).toBe('passed');
  });

  it('finds missing actions per bundle and makes the account degraded, not invalid', async () => {
    const keys = aws.addUser('aws', ACCOUNT);
    aws.setPermissions(`arn:aws:iam::${ACCOUNT}:user/onramp`, {
      allows: ['iam:SimulatePrincipalPolicy', 'iam:GetUser', 'sts:GetCallerIdentity'],
    });
    const report = await validateCredentials(
      deps,
      { method: 'access_keys', partition: 'aws', ...keys },
      { permissions: permissions() },
    );
    expect(report.status).toBe('degraded');
    expect(report.findings.length).toBeGreaterThan(0);
    expect(report.findings[0]?.missing.length).toBeGreaterThan(0);
    // The step's detail is a summary; each feature's actions are in its own error, not a wall of names.
    const lacking = report.findings.filter((f) => f.missing.length || f.deniedByScp.length);
    const total = new Set(lacking.flatMap((f) => [...f.missing, ...f.deniedByScp])).size;
    expect(lacking.length).toBeGreaterThan(1);
    expect(total).toBeGreaterThan(1000);
    const detail = report.checks.find((c) => c.name === 'permissions')?.detail;
    expect(detail).toBe(
      `Some actions of the chosen bundles are not allowed (simulated with iam:SimulatePrincipalPolicy): ${lacking.length} features lack ${total.toLocaleString('en-US')} actions in all; each is listed with its feature.`,
    );
    const first = lacking[0];
    expect(detail).not.toContain(first?.missing[0]);
    expect(report.errors).toContainEqual(
      expect.objectContaining({
        field: `permissions.${first?.bundleId}`,
        code: 'missing_actions',
        message: expect.stringContaining(first?.missing[0] ?? '?'),
      }),
    );
  });

  it('refuses credentials of another AWS account when replacing', async () => {
    const keys = aws.addUser('aws', '210987654321');
    const report = await validateCredentials(
      deps,
      { method: 'access_keys', partition: 'aws', ...keys },
      { expectedAccountId: ACCOUNT },
    );
    expect(report.valid).toBe(false);
    expect(report.errors[0]).toMatchObject({ code: 'account_mismatch' });
  });
});
