import { readFileSync } from 'node:fs';
import { type Catalog, DEFAULT_CATALOG_URL, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFakeAws, type FakeAws } from '../../testing/fake-aws.ts';
import {
  createFakeWebIdentity,
  FAKE_ISSUER,
  type FakeWebIdentity,
} from '../../testing/fake-web-identity.ts';
import { type ValidationDeps, validateCredentials } from './accounts-validation.ts';

/** A keyless role's validation against fakes of the gateway and the issuer: no HTTP, no database. */
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/OnrampKeyless`;
const TENANT = 'ten_unit';
const CONNECTION = 'con_unit';
const SUBJECT = `tenant:${TENANT}:connection:${CONNECTION}`;
const actions = createIamDataActionIndex();
const input = {
  method: 'oidc_role',
  partition: 'aws',
  roleArn: ROLE,
  tenantId: TENANT,
  connectionId: CONNECTION,
} as const;

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), { actions });
});

describe('validating a keyless role', () => {
  let aws: FakeAws;
  let issuer: FakeWebIdentity;
  let deps: ValidationDeps;
  const permissions = () => ({
    bundles: [...catalog.bundles.values()].filter((b) => b.isDefault),
    regions: [],
  });
  const checks = (report: { checks: { name: string; status: string }[] }) =>
    report.checks.map((c) => [c.name, c.status]);

  beforeEach(() => {
    aws = createFakeAws();
    issuer = createFakeWebIdentity();
    // No hub anywhere: keyless roles need none.
    deps = { aws: aws.gateway, hubs: {}, webIdentity: issuer.port, actions, sleep: async () => {} };
    aws.addOidcProvider('aws', ACCOUNT, FAKE_ISSUER, ['sts.amazonaws.com']);
  });

  it('passes a role pinned to its connection’s subject and audience, with no hub', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    const report = await validateCredentials(deps, input, { permissions: permissions() });
    expect(report.errors).toEqual([]);
    expect(report).toMatchObject({
      valid: true,
      status: 'valid',
      credentials: { method: 'oidc_role', roleArn: ROLE },
    });
    expect(checks(report)).toEqual([
      ['shape', 'passed'],
      ['issuer', 'passed'],
      ['identity', 'passed'],
      ['subject_required', 'passed'],
      ['audience_required', 'passed'],
      ['permissions', 'passed'],
    ]);
    // The real token, then a token for a connection that does not exist, then another audience.
    expect(issuer.minted[0]).toMatchObject({ subject: SUBJECT, audience: 'sts.amazonaws.com' });
    const probes = issuer.minted.slice(1);
    expect(
      probes.some(
        (t) => t.subject !== SUBJECT && t.subject.startsWith(`tenant:${TENANT}:connection:con_`),
      ),
    ).toBe(true);
    expect(probes.some((t) => t.audience === 'sts.amazonaws.com.cn')).toBe(true);
    expect(
      aws.calls.some((c) => c.op.startsWith('assumeRole') && c.op !== 'assumeRoleWithWebIdentity'),
    ).toBe(false);
  });

  it('refuses a role without a subject condition on roleArn, with the exact condition to add', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: null,
    });
    const report = await validateCredentials(deps, input, { permissions: permissions() });
    expect(report.valid).toBe(false);
    expect(report.status).toBe('invalid');
    const error = report.errors.find((e) => e.code === 'subject_not_pinned');
    expect(error).toMatchObject({ field: 'roleArn' });
    expect(error?.hint).toContain(`"onramp.example.test/oidc:sub":"${SUBJECT}"`);
    expect(error?.hint).toContain('"onramp.example.test/oidc:aud":"sts.amazonaws.com"');
    // The check says what AWS did, then why that matters: each once.
    const check = report.checks.find((c) => c.name === 'subject_required');
    expect(check?.status).toBe('failed');
    expect(check?.detail.startsWith('AWS accepted a token for another connection. ')).toBe(true);
    expect(check?.detail.split('confused-deputy').length).toBe(2);
  });

  it('refuses a wildcard subject (StringLike tenant:…:*) on roleArn', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: `tenant:${TENANT}:*`,
    });
    const report = await validateCredentials(deps, input);
    expect(report.errors.map((e) => [e.field, e.code])).toEqual([
      ['roleArn', 'subject_not_pinned'],
    ]);
  });

  it('refuses a role without an audience condition when the provider lists another audience', async () => {
    aws.addOidcProvider('aws', ACCOUNT, FAKE_ISSUER, ['sts.amazonaws.com', 'sts.amazonaws.com.cn']);
    aws.addWebIdentityRole(ROLE, { issuer: FAKE_ISSUER, audience: null, subject: SUBJECT });
    const report = await validateCredentials(deps, input);
    expect(report.errors.map((e) => [e.field, e.code])).toEqual([
      ['roleArn', 'audience_not_pinned'],
    ]);
  });

  it('puts a missing provider, and a provider without the audience, on oidcProvider with what to create', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    const other = createFakeAws();
    other.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    other.addOidcProvider('aws', ACCOUNT, 'https://token.actions.githubusercontent.com', [
      'sts.amazonaws.com',
    ]);
    const missing = await validateCredentials({ ...deps, aws: other.gateway }, input);
    expect(missing.errors[0]).toMatchObject({
      field: 'oidcProvider',
      code: 'oidc_provider_missing',
    });
    expect(missing.errors[0]?.hint).toContain(
      `provider URL ${FAKE_ISSUER} and audience sts.amazonaws.com`,
    );
    expect(missing.status).toBe('invalid');

    aws.addOidcProvider('aws', ACCOUNT, FAKE_ISSUER, ['sigstore']);
    const audience = await validateCredentials(deps, input);
    expect(audience.errors[0]).toMatchObject({
      field: 'oidcProvider',
      code: 'oidc_audience_not_allowed',
    });
    expect(audience.errors[0]?.hint).toContain(
      `arn:aws:iam::${ACCOUNT}:oidc-provider/onramp.example.test/oidc`,
    );
  });

  it('puts a role that trusts another subject on roleArn with the trust statement to write', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: `tenant:${TENANT}:connection:con_other`,
    });
    const report = await validateCredentials(deps, input);
    expect(report.errors[0]).toMatchObject({ field: 'roleArn', code: 'AccessDenied' });
    expect(report.errors[0]?.hint).toContain('sts:AssumeRoleWithWebIdentity');
    expect(report.errors[0]?.hint).toContain(SUBJECT);
    expect(checks(report).slice(3)).toEqual([
      ['subject_required', 'skipped'],
      ['audience_required', 'skipped'],
      ['permissions', 'skipped'],
    ]);
  });

  it('treats an unreachable issuer as AWS not answering: a 502, never an invalid account', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    aws.webFaults.issuerUnreachable = true;
    const refusal = await validateCredentials(deps, input).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ code: 'upstream_unavailable' });
    expect(String((refusal as Error).message)).toContain('reachable from AWS');
  });

  it('retries once with a fresh token when AWS calls the first expired; twice is clock skew', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    aws.webFaults.expiredTokens = 1;
    const once = await validateCredentials(deps, input);
    expect(once.valid).toBe(true);
    aws.webFaults.expiredTokens = 2;
    const twice = await validateCredentials(deps, input).catch((e: unknown) => e);
    expect(twice).toMatchObject({ code: 'upstream_unavailable' });
    expect(String((twice as Error).message)).toContain('clock skew');
  });

  it('refuses on method when no issuer is configured, and leaves a re-check undecided', async () => {
    const none = createFakeWebIdentity({
      issuer: null,
      unavailableReason: 'ONRAMP_PUBLIC_URL is http://localhost:8080.',
    });
    const report = await validateCredentials({ ...deps, webIdentity: none.port }, input);
    expect(report.errors[0]).toMatchObject({ field: 'method', code: 'issuer_not_configured' });
    expect(report.errors[0]?.message).toContain('http://localhost:8080');
    const recheck = await validateCredentials({ ...deps, webIdentity: none.port }, input, {
      expectedAccountId: ACCOUNT,
    }).catch((e: unknown) => e);
    expect(recheck).toMatchObject({ code: 'upstream_unavailable' });
  });

  it('checks permissions with the role’s own session and says so when it cannot simulate (no hub fallback)', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    aws.setPermissions(ROLE, { canSimulate: false });
    const report = await validateCredentials(deps, input, { permissions: permissions() });
    expect(report.valid).toBe(true);
    expect(report.status).toBe('unverified');
    expect(report.checks.find((c) => c.name === 'permissions')?.detail).toContain(
      'without a hub identity',
    );
  });

  it('refuses a role of another account when re-checking', async () => {
    aws.addWebIdentityRole(ROLE, {
      issuer: FAKE_ISSUER,
      audience: 'sts.amazonaws.com',
      subject: SUBJECT,
    });
    const report = await validateCredentials(deps, input, { expectedAccountId: '210987654321' });
    expect(report.errors[0]).toMatchObject({ field: 'roleArn', code: 'account_mismatch' });
  });
});
