/**
 * A hung AWS endpoint cannot hang a request: each attempt ends at the request timeout (the SDK only
 * warns unless told to throw), and a whole call, retries included, at the call's deadline. Against the
 * loopback AWS, whose `timeout` fault never answers.
 */
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import { createSdkAwsGateway } from './sdk-aws-gateway.ts';

describe('timeouts of the SDK gateway', () => {
  let aws: LoopbackAws;
  beforeAll(async () => {
    aws = await startLoopbackAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });
  beforeEach(() => {
    aws.clearFaults();
    aws.clearCalls();
  });

  const keysIn = (partition: 'aws' | 'aws-us-gov' | 'aws-cn') => {
    const user = aws.createUser(
      partition,
      '222233334444',
      `u${Math.random().toString(36).slice(2)}`,
    );
    return { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
  };

  it('ends each hung attempt at the request timeout, retries, and says AWS did not answer', async () => {
    const gateway = createSdkAwsGateway({
      hubs: {},
      endpoint: aws.url,
      maxAttempts: 2,
      requestTimeoutMs: 300,
      callTimeoutMs: 60_000,
    });
    aws.injectFault({ kind: 'timeout', partition: 'aws-us-gov' });
    const started = performance.now();
    const error = await gateway.identifyKeys('aws-us-gov', keysIn('aws-us-gov')).catch((e) => e);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(AwsProblem);
    expect(error).toMatchObject({ kind: 'upstream', field: 'accessKeyId' });
    expect(error.message).toMatch(/did not answer in time/);
    await expect.poll(() => aws.inFlight).toBe(0);
    expect(aws.calls.map((c) => [c.action, c.clientClosed])).toEqual([
      ['GetCallerIdentity', true],
      ['GetCallerIdentity', true],
    ]);
  });

  it('ends a call at its deadline whatever attempts remain', async () => {
    const gateway = createSdkAwsGateway({
      hubs: {},
      endpoint: aws.url,
      maxAttempts: 10,
      requestTimeoutMs: 60_000,
      callTimeoutMs: 500,
    });
    aws.injectFault({ kind: 'timeout', partition: 'aws-cn' });
    const started = performance.now();
    const error = await gateway.identifyKeys('aws-cn', keysIn('aws-cn')).catch((e) => e);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toMatchObject({ kind: 'upstream', code: 'upstream_timeout' });
    await expect.poll(() => aws.inFlight).toBe(0);
  });

  it('a caller that aborts cuts the call at once', async () => {
    const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
    aws.injectFault({ kind: 'timeout', partition: 'aws' });
    const controller = new AbortController();
    const call = gateway.identifyKeys('aws', keysIn('aws'), { signal: controller.signal });
    await expect.poll(() => aws.inFlight).toBe(1);
    controller.abort();
    const error = await call.catch((e) => e);
    expect(error).toMatchObject({ kind: 'upstream', code: 'cancelled' });
    await expect.poll(() => aws.inFlight).toBe(0);
    expect(aws.calls).toHaveLength(1);
  });
});
