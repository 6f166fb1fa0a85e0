/**
 * The gateway main.ts uses: the SDK gateway loaded on its first call. It must answer, fail and be
 * cancelled exactly as the SDK gateway does, against the loopback AWS through the real SDK.
 */
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import { createLazySdkAwsGateway } from './lazy-aws-gateway.ts';

describe('the lazily loaded SDK gateway', () => {
  let aws: LoopbackAws;
  beforeAll(async () => {
    aws = await startLoopbackAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('identifies keys on its first call, and on calls made together before the SDK has loaded', async () => {
    const gateway = createLazySdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 1 });
    const user = aws.createUser('aws', '222233334444', 'lazy-first');
    const keys = { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
    const identities = await Promise.all([1, 2, 3].map(() => gateway.identifyKeys('aws', keys)));
    for (const identity of identities)
      expect(identity).toMatchObject({ accountId: '222233334444' });
    expect(identities[0]?.arn).toMatch(/:user\/lazy-first$/);
  });

  it('passes AWS refusals through as the same AwsProblem, naming the field', async () => {
    const gateway = createLazySdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 1 });
    const error = await gateway
      .identifyKeys('aws', {
        accessKeyId: 'AKIAUNKNOWNUNKNOWN00',
        secretAccessKey: 'not-a-real-secret-0000000000000000000000',
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsProblem);
    expect(error).toMatchObject({ field: 'accessKeyId' });
  });

  it('has every method of the gateway port, each answering a promise', () => {
    const gateway = createLazySdkAwsGateway({ hubs: {}, endpoint: aws.url });
    expect(typeof gateway.assumeRole).toBe('function');
    expect(typeof gateway.describeOrganizationalUnit).toBe('function');
    expect(typeof gateway.getSigninToken).toBe('function');
  });
});
