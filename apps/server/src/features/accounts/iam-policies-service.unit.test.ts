import { readFileSync } from 'node:fs';
import {
  type Catalog,
  DEFAULT_CATALOG_URL,
  IAM_POLICY_ATTACHMENT_BUNDLE_ID,
  loadCatalog,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Account, NO_PERMISSION_STATE } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import { AppError, notFound } from '../../http/problems.ts';
import type { AccessKeys } from '../../ports/aws-gateway.ts';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import { createFakeAws, type FakeAws } from '../../testing/fake-aws.ts';
import type { AuditEntry } from '../audit/audit-repository.ts';
import { createIamPoliciesService } from './iam-policies-service.ts';

/** The IAM-policies service against a fake AwsGateway and a fake accounts service: no HTTP, no database. */
const AWS_ACCOUNT = '123456789012';
const USER_ARN = `arn:aws:iam::${AWS_ACCOUNT}:user/onramp`;
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';

let catalog: Catalog;
beforeAll(async () => {
  catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), {
    actions: createIamDataActionIndex(),
  });
});

function accountOf(keys: AccessKeys, bundles: string[]): Account {
  return {
    id: 'acc_unit',
    tenantId: 'ten_unit',
    name: 'Prod',
    description: '',
    partition: 'aws',
    method: 'access_keys',
    awsAccountId: AWS_ACCOUNT,
    principalArn: USER_ARN,
    roleArn: null,
    externalId: null,
    connectionId: null,
    accessKeyId: keys.accessKeyId,
    bundles,
    regions: [],
    status: 'valid',
    statusDetail: { checks: [], errors: [] },
    lastCheckedAt: null,
    staleSince: null,
    roleOrigin: null,
    permissions: NO_PERMISSION_STATE,
    bundleChoice: 'custom',
    organizationId: null,
    pausedReason: null,
    createdAt: '2026-03-01T10:00:00.000Z',
    updatedAt: '2026-03-01T10:00:00.000Z',
  };
}

describe('IAM-policies service', () => {
  let aws: FakeAws;
  let keys: AccessKeys;
  let account: Account;
  let audit: AuditEntry[];
  const caller: Caller = {
    tenantId: 'ten_unit',
    actorType: 'user',
    actorId: 'usr_unit',
    requestId: 'req_unit',
    sourceIp: '192.0.2.1',
  };

  const service = () =>
    createIamPoliciesService({
      aws: aws.gateway,
      catalog,
      clock: () => new Date(),
      audit: { append: async (entry) => void audit.push(entry) },
      accounts: {
        getAccount: async (tenantId, id) => {
          if (tenantId !== account.tenantId || id !== account.id) throw notFound('Account');
          return account;
        },
        readAccessKeys: async () => keys,
      },
    });

  beforeEach(() => {
    aws = createFakeAws();
    keys = aws.addUser('aws', AWS_ACCOUNT);
    account = accountOf(keys, [IAM_POLICY_ATTACHMENT_BUNDLE_ID]);
    audit = [];
  });

  it('lists a page of policies, each saying whether it is attached', async () => {
    aws.setPermissions(USER_ARN, { attached: [READ_ONLY] });
    const page = await service().list('ten_unit', 'acc_unit', { scope: 'aws', limit: 50 });
    expect(page.policies.length).toBeGreaterThan(0);
    expect(page.policies.find((p) => p.arn === READ_ONLY)?.attached).toBe(true);
    expect(page.policies.filter((p) => p.attached)).toHaveLength(1);
  });

  it('ranks a search: the exact name first', async () => {
    const page = await service().list('ten_unit', 'acc_unit', {
      scope: 'aws',
      q: 'readonlyaccess',
      limit: 5,
    });
    expect(page.policies[0]?.arn).toBe(READ_ONLY);
  });

  it('needs the attachment bundle, and says how to get it', async () => {
    account = accountOf(keys, []);
    const refused = await service()
      .list('ten_unit', 'acc_unit', { scope: 'aws', limit: 10 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'bundles',
      code: 'bundle_required',
    });
  });

  it('attaches and audits; refuses ARNs of another account before asking AWS', async () => {
    const result = await service().attach(caller, 'acc_unit', [READ_ONLY]);
    expect(result).toEqual({ attached: [READ_ONLY] });
    expect(audit.map((e) => e.action)).toEqual(['account.iam_policies_attached']);
    const calls = aws.calls.length;
    const refused = await service()
      .attach(caller, 'acc_unit', ['arn:aws:iam::999999999999:policy/Other'])
      .catch((e: unknown) => e);
    expect((refused as AppError).errors[0]).toMatchObject({
      field: 'policyArns[0]',
      code: 'wrong_account',
    });
    expect(aws.calls.length).toBe(calls);
  });

  it('names the policy AWS refused and those attached before it', async () => {
    const other = `arn:aws:iam::${AWS_ACCOUNT}:policy/team-boundary`;
    const gateway = aws.gateway;
    const attachPolicy = gateway.attachPolicy.bind(gateway);
    gateway.attachPolicy = async (partition, credentials, principal, arn) => {
      if (arn === other)
        throw new AwsProblem('rejected', 'policyArn', 'AccessDenied', 'Not allowed.');
      return attachPolicy(partition, credentials, principal, arn);
    };
    const refused = await service()
      .attach(caller, 'acc_unit', [READ_ONLY, other])
      .catch((e: unknown) => e);
    expect((refused as AppError).status).toBe(422);
    expect((refused as AppError).errors[0]?.field).toBe('policyArns[1]');
    expect((refused as AppError).message).toContain(`Attached before that: ${READ_ONLY}.`);
    // The partial attachment is audited: AWS keeps what it attached.
    expect(audit.at(-1)?.details).toMatchObject({ policyArns: [READ_ONLY] });
  });

  it('answers 502 when AWS does not answer', async () => {
    aws.gateway.listAttachedPolicyArns = async () => {
      throw new AwsProblem('upstream', 'accessKeyId', 'throttled', 'AWS is throttling.');
    };
    const failed = await service()
      .list('ten_unit', 'acc_unit', { scope: 'aws', limit: 10 })
      .catch((e: unknown) => e);
    expect((failed as AppError).code).toBe('upstream_unavailable');
  });
});
