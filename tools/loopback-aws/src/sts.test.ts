import { GetRoleCommand, ListPoliciesCommand } from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
} from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, type PartitionId, startLoopbackAws } from './index.ts';
import {
  ALLOW_ALL,
  CUSTOMER_ACCOUNT,
  failure,
  HUB_ACCOUNT,
  iamClient,
  stsClient,
} from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

/** Onramp's trust policy: the hub account as principal, the hub role pinned by condition. */
function onrampTrust(partition: PartitionId, hubRoleArn: string, externalId: string) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${HUB_ACCOUNT}:root` },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: { 'sts:ExternalId': externalId },
          ArnEquals: { 'aws:PrincipalArn': hubRoleArn },
        },
      },
    ],
  };
}

/** A hub user and role (allowed everything) and a customer role trusting the hub role. */
async function hubAndCustomer(partition: PartitionId, region: string) {
  const hubUser = aws.createUser(partition, HUB_ACCOUNT, 'hub-user', { policies: [ALLOW_ALL] });
  const hubRole = aws.createRole(partition, HUB_ACCOUNT, {
    roleName: 'onramp-hub',
    trustPolicy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:${partition}:iam::${HUB_ACCOUNT}:root` },
          Action: 'sts:AssumeRole',
        },
      ],
    },
    inlinePolicies: [ALLOW_ALL],
  });
  const customer = aws.createRole(partition, CUSTOMER_ACCOUNT, {
    roleName: 'OnrampAccess',
    path: '/onramp/',
    trustPolicy: onrampTrust(partition, hubRole.arn, 'ext-123456'),
    maxSessionDuration: 7200,
  });
  const asUser = stsClient(aws, region, hubUser.credentials);
  const hubSession = await asUser.send(
    new AssumeRoleCommand({ RoleArn: hubRole.arn, RoleSessionName: 'hub' }),
  );
  const c = hubSession.Credentials;
  const asHub = stsClient(aws, region, {
    accessKeyId: c?.AccessKeyId ?? '',
    secretAccessKey: c?.SecretAccessKey ?? '',
    sessionToken: c?.SessionToken,
  });
  return { hubUser, hubRole, customer, asUser, asHub };
}

describe('GetCallerIdentity', () => {
  it.each([
    ['aws', 'us-east-1'],
    ['aws', 'eu-west-1'],
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-us-gov', 'us-gov-east-1'],
    ['aws-cn', 'cn-north-1'],
    ['aws-cn', 'cn-northwest-1'],
  ] as const)('answers for valid keys in %s (%s)', async (partition, region) => {
    const user = aws.createUser(partition, '123456789012', 'alice', { path: '/team/' });
    const out = await stsClient(aws, region, user.credentials).send(
      new GetCallerIdentityCommand({}),
    );
    expect(out.Arn).toBe(`arn:${partition}:iam::123456789012:user/team/alice`);
    expect(out.Account).toBe('123456789012');
    expect(out.UserId).toBe(user.userId);
    expect(out.UserId).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(out.$metadata.requestId).toBe(aws.calls.at(-1)?.requestId);
    expect(user.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(user.secretAccessKey).toHaveLength(40);
    expect(aws.calls.at(-1)).toMatchObject({
      service: 'sts',
      action: 'GetCallerIdentity',
      partition,
      region,
      callerArn: out.Arn,
      status: 200,
    });
  });

  it('answers for root keys with the root ARN and the account as user ID', async () => {
    const root = aws.createRootKeys('aws', '123456789012');
    const out = await stsClient(aws, 'us-east-1', root.credentials).send(
      new GetCallerIdentityCommand({}),
    );
    expect(out).toMatchObject({
      Arn: 'arn:aws:iam::123456789012:root',
      UserId: '123456789012',
      Account: '123456789012',
    });
  });

  it('refuses a wrong secret with SignatureDoesNotMatch', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    const error = await failure(
      stsClient(aws, 'us-east-1', {
        accessKeyId: user.accessKeyId,
        // Another last character, whatever the real one is (a fixed 'x' matched it one time in 64).
        secretAccessKey: `${user.secretAccessKey.slice(0, -1)}${user.secretAccessKey.endsWith('x') ? 'y' : 'x'}`,
      }).send(new GetCallerIdentityCommand({})),
    );
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toContain('The request signature we calculated does not match');
  });

  it('refuses an unknown key with InvalidClientTokenId', async () => {
    const error = await failure(
      stsClient(aws, 'us-east-1', {
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      }).send(new GetCallerIdentityCommand({})),
    );
    expect(error.name).toBe('InvalidClientTokenId');
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toBe('The security token included in the request is invalid.');
  });

  it('does not know a commercial key in GovCloud or China', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    for (const region of ['us-gov-west-1', 'cn-north-1']) {
      const error = await failure(
        stsClient(aws, region, user.credentials).send(new GetCallerIdentityCommand({})),
      );
      expect(error.name).toBe('InvalidClientTokenId');
    }
    expect(aws.calls.map((c) => c.partition)).toEqual(['aws-us-gov', 'aws-cn']);
  });

  it('accepts fixed keys registered by the test, the same key in two partitions', async () => {
    const keys = {
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    };
    aws.createUser('aws', '123456789012', 'alice', { accessKey: keys });
    aws.createUser('aws-us-gov', '123456789012', 'alice', { accessKey: keys });
    const gov = await stsClient(aws, 'us-gov-east-1', keys).send(new GetCallerIdentityCommand({}));
    expect(gov.Arn).toBe('arn:aws-us-gov:iam::123456789012:user/alice');
  });

  it('refuses a deleted key, and a new key until it has propagated', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    aws.keyPropagationDelay('aws', user.accessKeyId, 300);
    const client = stsClient(aws, 'us-east-1', user.credentials);
    expect((await failure(client.send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
    await new Promise((r) => setTimeout(r, 350));
    await client.send(new GetCallerIdentityCommand({}));
    aws.deleteAccessKey('aws', user.accessKeyId);
    expect((await failure(client.send(new GetCallerIdentityCommand({})))).name).toBe(
      'InvalidClientTokenId',
    );
  });

  it('refuses a skewed clock, and the SDK corrects its clock from the Date header', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice');
    const client = stsClient(aws, 'us-east-1', user.credentials, {
      systemClockOffset: -30 * 60 * 1000,
    });
    const error = await failure(client.send(new GetCallerIdentityCommand({})));
    expect(error.name).toBe('SignatureDoesNotMatch');
    expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    await client.send(new GetCallerIdentityCommand({}));
    expect(Math.abs(client.config.systemClockOffset ?? 0)).toBeLessThan(5000);
  });
});

describe('AssumeRole', () => {
  it.each([
    ['aws', 'us-east-1'],
    ['aws-us-gov', 'us-gov-west-1'],
    ['aws-cn', 'cn-northwest-1'],
  ] as const)(
    'with the right external ID gives working credentials (%s)',
    async (partition, region) => {
      const { asHub, customer } = await hubAndCustomer(partition, region);
      const before = Date.now();
      const out = await asHub.send(
        new AssumeRoleCommand({
          RoleArn: customer.arn,
          RoleSessionName: 'onramp-check',
          ExternalId: 'ext-123456',
          DurationSeconds: 900,
        }),
      );
      const sessionArn = `arn:${partition}:sts::${CUSTOMER_ACCOUNT}:assumed-role/OnrampAccess/onramp-check`;
      expect(out.AssumedRoleUser).toEqual({
        Arn: sessionArn,
        AssumedRoleId: `${customer.roleId}:onramp-check`,
      });
      const c = out.Credentials;
      expect(c?.AccessKeyId).toMatch(/^ASIA/);
      expect(c?.Expiration).toBeInstanceOf(Date);
      const expiresIn = (c?.Expiration?.getTime() ?? 0) - before;
      expect(expiresIn).toBeGreaterThan(890_000);
      expect(expiresIn).toBeLessThan(910_000);
      const who = await stsClient(aws, region, {
        accessKeyId: c?.AccessKeyId ?? '',
        secretAccessKey: c?.SecretAccessKey ?? '',
        sessionToken: c?.SessionToken,
      }).send(new GetCallerIdentityCommand({}));
      expect(who.Arn).toBe(sessionArn);
      expect(who.Account).toBe(CUSTOMER_ACCOUNT);
      expect(who.UserId).toBe(`${customer.roleId}:onramp-check`);
    },
  );

  it('refuses a wrong or missing external ID with AccessDenied in AWS’s words', async () => {
    const { asHub, customer, hubRole } = await hubAndCustomer('aws', 'us-east-1');
    for (const externalId of ['guessed-id', undefined]) {
      const error = await failure(
        asHub.send(
          new AssumeRoleCommand({
            RoleArn: customer.arn,
            RoleSessionName: 'onramp-check',
            ...(externalId ? { ExternalId: externalId } : {}),
          }),
        ),
      );
      expect(error.name).toBe('AccessDenied');
      expect(error.$metadata.httpStatusCode).toBe(403);
      expect(error.message).toBe(
        `User: arn:aws:sts::${HUB_ACCOUNT}:assumed-role/onramp-hub/hub is not authorized to perform: sts:AssumeRole on resource: ${customer.arn}`,
      );
    }
    expect(hubRole.arn).toBe(`arn:aws:iam::${HUB_ACCOUNT}:role/onramp-hub`);
  });

  it('refuses another principal of the hub account that the trust policy does not pin', async () => {
    const { asUser, customer } = await hubAndCustomer('aws', 'us-east-1');
    const error = await failure(
      asUser.send(
        new AssumeRoleCommand({
          RoleArn: customer.arn,
          RoleSessionName: 'x1',
          ExternalId: 'ext-123456',
        }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toContain(`User: arn:aws:iam::${HUB_ACCOUNT}:user/hub-user is not`);
  });

  it('assumes a role whose trust policy has no external-ID condition without one', async () => {
    const hub = aws.createUser('aws', HUB_ACCOUNT, 'hub');
    const role = aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Open',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: 'sts:AssumeRole' }],
      },
    });
    const out = await stsClient(aws, 'eu-west-1', hub.credentials).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'no-ext' }),
    );
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/Open/no-ext`,
    );
  });

  it('requires the caller’s own identity policy to allow sts:AssumeRole once it has policies', async () => {
    const hub = aws.createUser('aws', HUB_ACCOUNT, 'hub', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:Get*', Resource: '*' }],
        },
      ],
    });
    const role = aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Trusting',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: 'sts:AssumeRole' }],
      },
    });
    const error = await failure(
      stsClient(aws, 'us-east-1', hub.credentials).send(
        new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'nope' }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('refuses a role that does not exist, or exists in another partition, like a refused one', async () => {
    const hub = aws.createUser('aws-us-gov', HUB_ACCOUNT, 'hub');
    aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Commercial',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
      },
    });
    const client = stsClient(aws, 'us-gov-west-1', hub.credentials);
    for (const roleArn of [
      `arn:aws-us-gov:iam::${CUSTOMER_ACCOUNT}:role/Missing`,
      `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/Commercial`,
    ]) {
      const error = await failure(
        client.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'x1' })),
      );
      expect(error.name).toBe('AccessDenied');
    }
  });

  it('validates the session name and duration like STS', async () => {
    const { asHub, customer } = await hubAndCustomer('aws', 'us-east-1');
    const short = await failure(
      asHub.send(new AssumeRoleCommand({ RoleArn: customer.arn, RoleSessionName: 'x' })),
    );
    expect(short.name).toBe('ValidationError');
    expect(short.message).toContain("at 'roleSessionName' failed to satisfy constraint");
    const spaces = await failure(
      asHub.send(new AssumeRoleCommand({ RoleArn: customer.arn, RoleSessionName: 'a b' })),
    );
    expect(spaces.name).toBe('ValidationError');
    const tooShort = await failure(
      asHub.send(
        new AssumeRoleCommand({
          RoleArn: customer.arn,
          RoleSessionName: 'ok',
          ExternalId: 'ext-123456',
          DurationSeconds: 600,
        }),
      ),
    );
    expect(tooShort.name).toBe('ValidationError');
  });

  it('caps a role-chained session at one hour', async () => {
    const { asHub, customer } = await hubAndCustomer('aws', 'us-east-1');
    const input = { RoleArn: customer.arn, RoleSessionName: 'chain', ExternalId: 'ext-123456' };
    const error = await failure(
      asHub.send(new AssumeRoleCommand({ ...input, DurationSeconds: 7200 })),
    );
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe(
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
    const ok = await asHub.send(new AssumeRoleCommand({ ...input, DurationSeconds: 3600 }));
    expect(ok.Credentials?.AccessKeyId).toMatch(/^ASIA/);
  });

  it('refuses more than the role’s MaxSessionDuration for a user caller', async () => {
    const { asUser, hubRole } = await hubAndCustomer('aws', 'us-east-1');
    const error = await failure(
      asUser.send(
        new AssumeRoleCommand({
          RoleArn: hubRole.arn,
          RoleSessionName: 'long',
          DurationSeconds: 7200,
        }),
      ),
    );
    expect(error.message).toBe(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  });

  it('answers AccessDenied while a new role propagates, then succeeds', async () => {
    const { asHub, customer } = await hubAndCustomer('aws', 'us-east-1');
    aws.propagationDelay(customer.arn, 400);
    const input = { RoleArn: customer.arn, RoleSessionName: 'wait', ExternalId: 'ext-123456' };
    const early = await failure(asHub.send(new AssumeRoleCommand(input)));
    expect(early.name).toBe('AccessDenied');
    await new Promise((r) => setTimeout(r, 450));
    const out = await asHub.send(new AssumeRoleCommand(input));
    expect(out.AssumedRoleUser?.Arn).toContain('assumed-role/OnrampAccess/wait');
  });

  it('never lets a root user assume a role', async () => {
    const root = aws.createRootKeys('aws', HUB_ACCOUNT);
    const role = aws.createRole('aws', HUB_ACCOUNT, {
      roleName: 'Any',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
      },
    });
    const error = await failure(
      stsClient(aws, 'us-east-1', root.credentials).send(
        new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'root' }),
      ),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe('Roles may not be assumed by root accounts.');
  });

  it('needs sts:TagSession in the trust policy when session tags are sent', async () => {
    const hub = aws.createUser('aws', HUB_ACCOUNT, 'hub');
    const trust = (actions: string[]) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: actions }],
    });
    const plain = aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Plain',
      trustPolicy: trust(['sts:AssumeRole']),
    });
    const tagging = aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Tagging',
      trustPolicy: trust(['sts:AssumeRole', 'sts:TagSession']),
    });
    const client = stsClient(aws, 'us-east-1', hub.credentials);
    const tags = { Tags: [{ Key: 'tenant', Value: 't-1' }], TransitiveTagKeys: ['tenant'] };
    const error = await failure(
      client.send(new AssumeRoleCommand({ RoleArn: plain.arn, RoleSessionName: 's1', ...tags })),
    );
    expect(error.message).toContain('sts:TagSession');
    const out = await client.send(
      new AssumeRoleCommand({ RoleArn: tagging.arn, RoleSessionName: 's1', ...tags }),
    );
    expect(out.PackedPolicySize).toBeGreaterThan(0);
  });

  it('narrows the session to its session policy', async () => {
    const hub = aws.createUser('aws', HUB_ACCOUNT, 'hub');
    const role = aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'Broad',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: 'sts:AssumeRole' }],
      },
      inlinePolicies: { everything: ALLOW_ALL },
    });
    const out = await stsClient(aws, 'us-east-1', hub.credentials).send(
      new AssumeRoleCommand({
        RoleArn: role.arn,
        RoleSessionName: 'narrow',
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:GetRole', Resource: '*' }],
        }),
      }),
    );
    const c = out.Credentials;
    const iam = iamClient(aws, 'us-east-1', {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken,
    });
    const got = await iam.send(new GetRoleCommand({ RoleName: 'Broad' }));
    expect(got.Role?.Arn).toBe(role.arn);
    const error = await failure(iam.send(new ListPoliciesCommand({})));
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe(
      `User: arn:aws:sts::${CUSTOMER_ACCOUNT}:assumed-role/Broad/narrow is not authorized to perform: iam:ListPolicies on resource: * because no session policy allows the iam:ListPolicies action`,
    );
  });

  it('refuses a session policy that is not JSON with MalformedPolicyDocument', async () => {
    const { asHub, customer } = await hubAndCustomer('aws', 'us-east-1');
    const error = await failure(
      asHub.send(
        new AssumeRoleCommand({
          RoleArn: customer.arn,
          RoleSessionName: 'bad',
          ExternalId: 'ext-123456',
          Policy: '{not json',
        }),
      ),
    );
    expect(error.name).toBe('MalformedPolicyDocumentException');
  });
});

describe('session credentials', () => {
  it('need their session token, and expire', async () => {
    const { asHub, customer } = await hubAndCustomer('aws', 'us-east-1');
    const out = await asHub.send(
      new AssumeRoleCommand({
        RoleArn: customer.arn,
        RoleSessionName: 's1',
        ExternalId: 'ext-123456',
      }),
    );
    const c = out.Credentials;
    const keys = { accessKeyId: c?.AccessKeyId ?? '', secretAccessKey: c?.SecretAccessKey ?? '' };
    const noToken = await failure(
      stsClient(aws, 'us-east-1', keys).send(new GetCallerIdentityCommand({})),
    );
    expect(noToken.name).toBe('InvalidClientTokenId');
    const wrongToken = await failure(
      stsClient(aws, 'us-east-1', { ...keys, sessionToken: 'forged' }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(wrongToken.name).toBe('InvalidClientTokenId');
    aws.expireCredentials('aws', keys.accessKeyId);
    const expired = await failure(
      stsClient(aws, 'us-east-1', { ...keys, sessionToken: c?.SessionToken }).send(
        new GetCallerIdentityCommand({}),
      ),
    );
    expect(expired.name).toBe('ExpiredToken');
    expect(expired.message).toBe('The security token included in the request is expired');
  });

  it('from GetSessionToken act as the user for STS, and IAM refuses them without MFA', async () => {
    const user = aws.createUser('aws', '123456789012', 'alice', { policies: [ALLOW_ALL] });
    const out = await stsClient(aws, 'us-east-1', user.credentials).send(
      new GetSessionTokenCommand({ DurationSeconds: 900 }),
    );
    const c = out.Credentials;
    const session = {
      accessKeyId: c?.AccessKeyId ?? '',
      secretAccessKey: c?.SecretAccessKey ?? '',
      sessionToken: c?.SessionToken,
    };
    const who = await stsClient(aws, 'us-east-1', session).send(new GetCallerIdentityCommand({}));
    expect(who.Arn).toBe(user.arn);
    const error = await failure(
      iamClient(aws, 'us-east-1', session).send(new ListPoliciesCommand({})),
    );
    expect(error.name).toBe('InvalidClientTokenId');
    const again = await failure(
      stsClient(aws, 'us-east-1', session).send(new GetSessionTokenCommand({})),
    );
    expect(again.name).toBe('AccessDenied');
  });
});
