import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LoopbackAws,
  persistLoopback,
  restoreLoopback,
  snapshotLoopback,
  startLoopbackAws,
} from './index.ts';
import {
  ALLOW_ALL,
  CUSTOMER_ACCOUNT,
  failure,
  HUB_ACCOUNT,
  s3Client,
  stsClient,
} from './test-support.ts';

const started: LoopbackAws[] = [];
async function loopback(): Promise<LoopbackAws> {
  const aws = await startLoopbackAws();
  started.push(aws);
  return aws;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((aws) => aws.stop()));
});

/** A small world in GovCloud: a hub user, a customer role trusting it, a managed policy, a bucket. */
function build(aws: LoopbackAws) {
  const hub = aws.createUser('aws-us-gov', HUB_ACCOUNT, 'hub', { policies: [ALLOW_ALL] });
  const policy = aws.createManagedPolicy('aws-us-gov', CUSTOMER_ACCOUNT, {
    name: 'reader',
    document: ALLOW_ALL,
  });
  const role = aws.createRole('aws-us-gov', CUSTOMER_ACCOUNT, {
    roleName: 'OnrampRole',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: hub.arn },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'ext-1234' } },
        },
      ],
    },
    managedPolicyArns: [policy.arn],
  });
  aws.createBucket('aws-us-gov', 'templates', { ownerAccountId: HUB_ACCOUNT });
  aws.state
    .of('aws-us-gov')
    .buckets.get('templates')
    ?.objects.set('t.yaml', {
      body: Buffer.from('Resources: {}\n'),
      etag: '"e"',
      contentType: 'application/yaml',
      lastModified: new Date('2026-03-01T00:00:00Z'),
      metadata: {},
      headers: {},
      checksums: {},
    });
  return { hub, role, policy };
}

describe('a loopback AWS snapshot', () => {
  it('brings back users, keys, roles, policies and buckets in a new loopback, where the SDK uses them', async () => {
    const first = await loopback();
    const { hub, role, policy } = build(first);
    const text = snapshotLoopback(first);

    const second = await loopback();
    restoreLoopback(second, text);
    const sts = stsClient(second, 'us-gov-west-1', hub.credentials);
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(hub.arn);
    const assumed = await sts.send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: 'dev-session',
        ExternalId: 'ext-1234',
      }),
    );
    expect(assumed.AssumedRoleUser?.Arn).toContain(':assumed-role/OnrampRole/dev-session');
    // The trust policy came back too: the wrong external ID is still refused.
    const refused = await failure(
      sts.send(
        new AssumeRoleCommand({
          RoleArn: role.arn,
          RoleSessionName: 'dev-session',
          ExternalId: 'ext-wrong',
        }),
      ),
    );
    expect(refused.name).toBe('AccessDenied');
    expect(second.state.findPolicy('aws-us-gov', policy.arn)?.name).toBe('reader');
    const object = await s3Client(second, 'us-gov-west-1', hub.credentials).send(
      new GetObjectCommand({ Bucket: 'templates', Key: 't.yaml' }),
    );
    expect(await object.Body?.transformToString()).toBe('Resources: {}\n');
    // Another partition stays apart: the GovCloud key means nothing in aws.
    expect(
      (
        await failure(
          stsClient(second, 'us-east-1', hub.credentials).send(new GetCallerIdentityCommand({})),
        )
      ).name,
    ).toBe('InvalidClientTokenId');
  });

  it('is kept in a file: saved on change, restored by the next loopback', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'loopback-snapshot-')), 'loopback-aws.json');
    const first = await loopback();
    const kept = persistLoopback(first, file, { intervalMs: 60_000 });
    expect(kept.restored).toBe(false);
    const { hub } = build(first);
    kept.stop();
    expect(readFileSync(file, 'utf8')).toContain(hub.accessKeyId);

    const second = await loopback();
    const again = persistLoopback(second, file, { intervalMs: 60_000 });
    expect(again.restored).toBe(true);
    const me = await stsClient(second, 'us-gov-west-1', hub.credentials).send(
      new GetCallerIdentityCommand({}),
    );
    expect(me.Arn).toBe(hub.arn);
    again.stop();
  });

  it('refuses what is not a snapshot, and changes nothing', async () => {
    const aws = await loopback();
    const { hub } = build(aws);
    const file = join(mkdtempSync(join(tmpdir(), 'loopback-snapshot-')), 'bad.json');
    writeFileSync(file, '{"format":"something else"}');
    expect(() => restoreLoopback(aws, readFileSync(file, 'utf8'))).toThrow(/not a loopback/);
    expect(aws.state.of('aws-us-gov').keys.has(hub.accessKeyId)).toBe(true);
  });
});
