import { ListPoliciesCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import { ALLOW_ALL, failure, iamClient, s3Client, stsClient } from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

describe('fault injection', () => {
  it('throttling is retried by the SDK, and the calls log shows both attempts', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.throttleNext(1);
    const out = await stsClient(aws, 'us-east-1', user.credentials, { maxAttempts: 3 }).send(
      new GetCallerIdentityCommand({}),
    );
    expect(out.$metadata.attempts).toBe(2);
    expect(aws.calls.map((c) => [c.action, c.status, c.errorCode, c.callerArn])).toEqual([
      ['GetCallerIdentity', 400, 'Throttling', user.arn],
      ['GetCallerIdentity', 200, undefined, user.arn],
    ]);
    expect(aws.pendingFaults).toBe(0);
  });

  it('throttling without retries surfaces as Throttling', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice', { policies: [ALLOW_ALL] });
    aws.throttleNext(1, { action: 'iam:ListPolicies' });
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
    const error = await failure(
      iamClient(aws, 'us-east-1', user.credentials).send(new ListPoliciesCommand({})),
    );
    expect(error.name).toBe('Throttling');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe('Rate exceeded');
  });

  it('failNext(5) with maxAttempts 3 surfaces the error after three attempts', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.failNext(5, { status: 500 });
    const error = await failure(
      stsClient(aws, 'us-east-1', user.credentials, { maxAttempts: 3 }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(error.name).toBe('InternalFailure');
    expect(error.$fault).toBe('server');
    expect(error.$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
    expect(aws.calls).toHaveLength(3);
    expect(new Set(aws.calls.map((c) => c.requestId)).size).toBe(3);
    expect(aws.pendingFaults).toBe(2);
    aws.clearFaults();
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
  });

  it('503 answers ServiceUnavailable; S3 throttles with SlowDown; filters pick the service', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.createBucket('aws', 'bucket');
    aws.failNext(1, { status: 503, service: 's3' });
    aws.throttleNext(1, { service: 's3' });
    await stsClient(aws, 'us-east-1', user.credentials).send(new GetCallerIdentityCommand({}));
    const s3 = s3Client(aws, 'us-east-1', user.credentials);
    const unavailable = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: 'x' })),
    );
    expect(unavailable.name).toBe('ServiceUnavailable');
    const slow = await failure(
      s3.send(new PutObjectCommand({ Bucket: 'bucket', Key: 'k', Body: 'x' })),
    );
    expect(slow.name).toBe('SlowDown');
    expect(slow.$metadata.httpStatusCode).toBe(503);
  });

  it('adds latencyMs to every response', async () => {
    const slow = await startLoopbackAws({ latencyMs: 120 });
    try {
      const user = slow.createUser('aws', '123456789012', 'alice');
      const client = stsClient(slow, 'us-east-1', user.credentials);
      const started = performance.now();
      await client.send(new GetCallerIdentityCommand({}));
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
      slow.latencyMs = 0;
      const again = performance.now();
      await client.send(new GetCallerIdentityCommand({}));
      expect(performance.now() - again).toBeLessThan(100);
    } finally {
      await slow.stop();
    }
  });
});

describe('unsigned and malformed requests', () => {
  it('answers MissingAuthenticationToken to an unsigned Query request', async () => {
    const response = await fetch(aws.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(response.status).toBe(403);
    const text = await response.text();
    expect(text).toContain('<Code>MissingAuthenticationToken</Code>');
    expect(text).toContain('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">');
  });

  it('answers a tampered body with SignatureDoesNotMatch', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    const client = stsClient(aws, 'us-east-1', user.credentials);
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: string };
        // Same length, so Content-Length still holds; only the signature gives it away.
        if (typeof request.body === 'string')
          request.body = request.body.replace('Identity', 'Identitz');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    const error = await failure(client.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
  });
});

describe('misbehaving like real endpoints', () => {
  const REGIONS = { aws: 'us-east-1', 'aws-us-gov': 'us-gov-west-1', 'aws-cn': 'cn-north-1' };

  it('without the simulator, Simulate* answer 500 with an HTML page; other IAM calls work', async () => {
    const bare = await startLoopbackAws({ simulator: false });
    try {
      for (const [partition, region] of Object.entries(REGIONS) as [
        keyof typeof REGIONS,
        string,
      ][]) {
        const user = bare.createUser(partition, '123456789012', 'alice', {
          policies: [ALLOW_ALL],
        });
        const iam = iamClient(bare, region, user.credentials, { maxAttempts: 2 });
        const error = await failure(
          iam.send(
            new SimulatePrincipalPolicyCommand({
              PolicySourceArn: user.arn,
              ActionNames: ['ec2:RunInstances'],
            }),
          ),
        );
        // The SDK cannot parse the page: what reaches the caller is the status, not an AWS code.
        expect(error.$metadata).toMatchObject({ httpStatusCode: 500, attempts: 2 });
        await iam.send(new ListPoliciesCommand({}));
      }
      const simulated = bare.calls.filter((c) => c.action === 'SimulatePrincipalPolicy');
      expect(simulated.map((c) => [c.partition, c.status, c.errorCode])).toEqual([
        ['aws', 500, 'HTML 500'],
        ['aws', 500, 'HTML 500'],
        ['aws-us-gov', 500, 'HTML 500'],
        ['aws-us-gov', 500, 'HTML 500'],
        ['aws-cn', 500, 'HTML 500'],
        ['aws-cn', 500, 'HTML 500'],
      ]);
      const raw = await fetch(bare.url, { method: 'POST' });
      expect(raw.status).toBe(403);
      bare.simulator = true;
      const user = bare.createUser('aws', '123456789012', 'bob', { policies: [ALLOW_ALL] });
      const out = await iamClient(bare, 'us-east-1', user.credentials).send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: user.arn,
          ActionNames: ['ec2:RunInstances'],
        }),
      );
      expect(out.EvaluationResults?.[0]?.EvalDecision).toBe('allowed');
    } finally {
      await bare.stop();
    }
  });

  it('an HTML 5xx fault answers a page, not AWS XML', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.failNext(1, { status: 502, html: true, action: 'GetCallerIdentity' });
    const client = stsClient(aws, 'us-east-1', user.credentials);
    const error = await failure(client.send(new GetCallerIdentityCommand({})));
    expect(error.$metadata.httpStatusCode).toBe(502);
    expect(aws.calls.at(-1)).toMatchObject({ status: 502, errorCode: 'HTML 502' });
  });

  it('filters faults by partition, in each of the three', async () => {
    for (const partition of Object.keys(REGIONS) as (keyof typeof REGIONS)[]) {
      aws.clearFaults();
      aws.injectFault({ kind: 'error', partition, action: 'sts:GetCallerIdentity' });
      for (const [other, otherRegion] of Object.entries(REGIONS) as [
        keyof typeof REGIONS,
        string,
      ][]) {
        const user = aws.createUser(other, '123456789012', `u-${partition}-${other}`);
        const attempt = stsClient(aws, otherRegion, user.credentials).send(
          new GetCallerIdentityCommand({}),
        );
        if (other === partition) {
          expect((await failure(attempt)).name).toBe('InternalFailure');
        } else {
          await attempt;
        }
      }
      // Without `times`, a fault holds until it is cleared.
      expect(aws.pendingFaults).toBe(Number.POSITIVE_INFINITY);
    }
    aws.clearFaults();
    expect(aws.pendingFaults).toBe(0);
  });

  it('a timeout fault hangs until the client gives up, and the log says it closed', async () => {
    const user = aws.createUser('aws-us-gov', '123456789012', 'alice');
    aws.hangNext(1, { service: 'sts', partition: 'aws-us-gov' });
    const client = new STSClient({
      region: 'us-gov-west-1',
      endpoint: aws.url,
      credentials: user.credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: 200, throwOnRequestTimeout: true }),
    });
    const started = performance.now();
    const error = await failure(client.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('TimeoutError');
    expect(performance.now() - started).toBeLessThan(2000);
    await expect.poll(() => aws.inFlight).toBe(0);
    expect(aws.calls.at(-1)).toMatchObject({
      action: 'GetCallerIdentity',
      partition: 'aws-us-gov',
      status: 0,
      clientClosed: true,
      errorCode: 'Timeout',
    });
    // An abort cuts a hung request the same way.
    aws.hangNext(1, { action: 'GetCallerIdentity' });
    const controller = new AbortController();
    const pending = failure(
      stsClient(aws, 'us-gov-west-1', user.credentials).send(new GetCallerIdentityCommand({}), {
        abortSignal: controller.signal,
      }),
    );
    await expect.poll(() => aws.inFlight).toBe(1);
    controller.abort();
    expect((await pending).name).toBe('AbortError');
    await expect.poll(() => aws.inFlight).toBe(0);
    expect(aws.calls.at(-1)).toMatchObject({ clientClosed: true });
  });

  it('a timeout fault with hangMs answers late, and normally', async () => {
    const user = aws.createUser('aws-cn', '123456789012', 'alice');
    aws.hangNext(1, { hangMs: 150, partition: 'aws-cn' });
    const started = performance.now();
    const out = await stsClient(aws, 'cn-north-1', user.credentials).send(
      new GetCallerIdentityCommand({}),
    );
    expect(out.Arn).toBe(user.arn);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(aws.calls.at(-1)).toMatchObject({ status: 200, clientClosed: false });
  });
});
