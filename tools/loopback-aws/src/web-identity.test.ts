import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateOpenIDConnectProviderCommand,
  DeleteOpenIDConnectProviderCommand,
  GetOpenIDConnectProviderCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListOpenIDConnectProvidersCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  AssumeRoleWithWebIdentityCommand,
  type AssumeRoleWithWebIdentityCommandInput,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  deployStack,
  type LoopbackAws,
  type PartitionId,
  restoreLoopback,
  snapshotLoopback,
  startLoopbackAws,
} from './index.ts';
import {
  ALLOW_ALL,
  CUSTOMER_ACCOUNT,
  failure,
  HUB_ACCOUNT,
  iamClient,
  s3Client,
  stsClient,
} from './test-support.ts';

const ORIGIN = 'https://onramp.example.test';
const ISSUER = `${ORIGIN}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const SUBJECT = 'tenant:t1:connection:c1';

const REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};
const AUDIENCE: Record<PartitionId, string> = {
  aws: 'sts.amazonaws.com',
  'aws-us-gov': 'sts.amazonaws.com',
  'aws-cn': 'sts.amazonaws.com.cn',
};

type Alg = 'RS256' | 'ES256';
interface SigningKey {
  kid: string;
  alg: Alg;
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
}

async function signingKey(kid: string, alg: Alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A tiny OIDC issuer on 127.0.0.1: its discovery document and key set, as Onramp serves them. */
const issuer = {
  server: undefined as Server | undefined,
  base: '',
  published: [] as SigningKey[],
  requests: [] as string[],
};

beforeAll(async () => {
  issuer.server = createServer((req, res) => {
    issuer.requests.push(req.url ?? '');
    if (req.url === '/oidc/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          issuer: ISSUER,
          jwks_uri: `${ISSUER}/jwks.json`,
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
          response_types_supported: ['id_token'],
          subject_types_supported: ['public'],
        }),
      );
    } else if (req.url === '/oidc/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: issuer.published.map((k) => k.jwk) }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => issuer.server?.listen(0, '127.0.0.1', resolve));
  issuer.base = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => issuer.server?.close(resolve));
});

let aws: LoopbackAws;
let key: SigningKey;
beforeEach(async () => {
  aws = await startLoopbackAws();
  aws.routeIssuer(ORIGIN, issuer.base);
  key = await signingKey('k1');
  issuer.published = [key];
  issuer.requests = [];
});
afterEach(async () => {
  await aws.stop();
});

async function mint(
  claims: Record<string, unknown> = {},
  options: { with?: SigningKey; kid?: string; lifetimeSeconds?: number } = {},
): Promise<string> {
  const signer = options.with ?? key;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    sub: SUBJECT,
    aud: 'sts.amazonaws.com',
    iat: now,
    nbf: now,
    exp: now + (options.lifetimeSeconds ?? 300),
    ...claims,
  })
    .setProtectedHeader({ alg: signer.alg, kid: options.kid ?? signer.kid, typ: 'JWT' })
    .sign(signer.privateKey);
}

function keylessTrust(partition: PartitionId, condition?: Record<string, unknown>) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: {
          Federated: `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:oidc-provider/${PREFIX}`,
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(condition === undefined
          ? {
              Condition: {
                StringEquals: {
                  [`${PREFIX}:aud`]: AUDIENCE[partition],
                  [`${PREFIX}:sub`]: SUBJECT,
                },
              },
            }
          : Object.keys(condition).length > 0
            ? { Condition: condition }
            : {}),
      },
    ],
  };
}

/** The provider and a keyless role trusting it for one subject, as Onramp's template creates them. */
function keylessRole(
  partition: PartitionId,
  options: { condition?: Record<string, unknown>; maxSessionDuration?: number } = {},
) {
  aws.createOidcProvider(partition, CUSTOMER_ACCOUNT, {
    url: ISSUER,
    clientIds: [AUDIENCE[partition]],
  });
  const readOnly = aws.createManagedPolicy(partition, CUSTOMER_ACCOUNT, {
    name: 'OnrampRead',
    document: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'iam:GetRole',
            'iam:ListAttachedRolePolicies',
            'iam:ListRolePolicies',
            'iam:SimulatePrincipalPolicy',
          ],
          Resource: '*',
        },
      ],
    },
  });
  return aws.createRole(partition, CUSTOMER_ACCOUNT, {
    roleName: 'OnrampKeyless',
    path: '/onramp/',
    trustPolicy: keylessTrust(partition, options.condition),
    managedPolicyArns: [readOnly.arn],
    maxSessionDuration: options.maxSessionDuration,
  });
}

/** An STS client with no credentials at all: the SDK sends AssumeRoleWithWebIdentity unsigned. */
function anonymousSts(partition: PartitionId, maxAttempts = 1) {
  return new STSClient({ region: REGION[partition], endpoint: aws.url, maxAttempts });
}

function assume(
  partition: PartitionId,
  input: Partial<AssumeRoleWithWebIdentityCommandInput> & { WebIdentityToken: string },
  maxAttempts = 1,
) {
  return anonymousSts(partition, maxAttempts).send(
    new AssumeRoleWithWebIdentityCommand({
      RoleArn: `arn:${partition}:iam::${CUSTOMER_ACCOUNT}:role/onramp/OnrampKeyless`,
      RoleSessionName: 'onramp-c1',
      ...input,
    }),
  );
}

function credentialsOf(out: Awaited<ReturnType<typeof assume>>) {
  return {
    accessKeyId: out.Credentials?.AccessKeyId ?? '',
    secretAccessKey: out.Credentials?.SecretAccessKey ?? '',
    sessionToken: out.Credentials?.SessionToken,
  };
}

describe('AssumeRoleWithWebIdentity', () => {
  it.each(['aws', 'aws-us-gov', 'aws-cn'] as const)(
    'gives a working role session for a token of the trusted issuer and subject (%s)',
    async (partition) => {
      const role = keylessRole(partition);
      const out = await assume(partition, {
        WebIdentityToken: await mint({ aud: AUDIENCE[partition] }),
      });
      const sessionArn = `arn:${partition}:sts::${CUSTOMER_ACCOUNT}:assumed-role/OnrampKeyless/onramp-c1`;
      expect(out).toMatchObject({
        SubjectFromWebIdentityToken: SUBJECT,
        Audience: AUDIENCE[partition],
        Provider: ISSUER,
        AssumedRoleUser: { Arn: sessionArn, AssumedRoleId: `${role.roleId}:onramp-c1` },
      });
      expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA/);
      const expires = out.Credentials?.Expiration?.getTime() ?? 0;
      expect(Math.abs(expires - Date.now() - 3600_000)).toBeLessThan(10_000);
      expect(aws.calls.at(-1)).toMatchObject({
        service: 'sts',
        action: 'AssumeRoleWithWebIdentity',
        partition,
        accessKeyId: undefined,
        callerArn: sessionArn,
        status: 200,
      });

      // The session is used exactly as an AssumeRole session is.
      const creds = credentialsOf(out);
      const identity = await stsClient(aws, REGION[partition], creds).send(
        new GetCallerIdentityCommand({}),
      );
      expect(identity).toMatchObject({ Arn: sessionArn, Account: CUSTOMER_ACCOUNT });
      const iam = iamClient(aws, REGION[partition], creds);
      const got = await iam.send(new GetRoleCommand({ RoleName: 'OnrampKeyless' }));
      expect(got.Role?.Arn).toBe(role.arn);
      const attached = await iam.send(
        new ListAttachedRolePoliciesCommand({ RoleName: 'OnrampKeyless' }),
      );
      expect(attached.AttachedPolicies?.map((p) => p.PolicyName)).toEqual(['OnrampRead']);
      const simulated = await iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: role.arn,
          ActionNames: ['iam:GetRole', 's3:GetObject'],
        }),
      );
      expect(simulated.EvaluationResults?.map((r) => r.EvalDecision)).toEqual([
        'allowed',
        'implicitDeny',
      ]);
    },
  );

  it('verifies ES256 tokens too', async () => {
    key = await signingKey('ec1', 'ES256');
    issuer.published = [key];
    keylessRole('aws');
    const out = await assume('aws', { WebIdentityToken: await mint() });
    expect(out.SubjectFromWebIdentityToken).toBe(SUBJECT);
  });

  it('refuses another subject with AccessDenied (the trust policy pins sub)', async () => {
    keylessRole('aws');
    const error = await failure(
      assume('aws', { WebIdentityToken: await mint({ sub: 'tenant:t1:connection:other' }) }),
    );
    expect(error.name).toBe('AccessDenied');
    expect(error.message).toBe('Not authorized to perform sts:AssumeRoleWithWebIdentity');
    expect(error.$metadata.httpStatusCode).toBe(403);
  });

  it('refuses an audience the provider does not list with InvalidIdentityToken', async () => {
    keylessRole('aws-cn');
    // sts.amazonaws.com is not a client ID of the aws-cn provider (it lists sts.amazonaws.com.cn).
    const error = await failure(
      assume('aws-cn', { WebIdentityToken: await mint({ aud: 'sts.amazonaws.com' }) }),
    );
    expect(error.name).toBe('InvalidIdentityTokenException');
    expect(error.message).toBe('Incorrect token audience');
    expect(error.$metadata.httpStatusCode).toBe(400);
  });

  it('refuses a token expired beyond the five-minute skew with ExpiredTokenException', async () => {
    keylessRole('aws');
    const now = Math.floor(Date.now() / 1000);
    const error = await failure(
      assume('aws', {
        WebIdentityToken: await mint({ iat: now - 1000, nbf: now - 1000, exp: now - 301 }),
      }),
    );
    expect(error.name).toBe('ExpiredTokenException');
    expect(error.message).toMatch(
      /^Token expired: current date\/time \d+ must be before the expiration date\/time \d+$/,
    );
    expect(error.$metadata.httpStatusCode).toBe(400);
    // Within the skew it is still accepted, as AWS documents.
    await assume('aws', {
      WebIdentityToken: await mint({ iat: now - 1000, nbf: now - 1000, exp: now - 200 }),
    });
  });

  it('a shifted clock makes a freshly minted token expired, and one from the future invalid', async () => {
    keylessRole('aws');
    const token = await mint({}, { lifetimeSeconds: 300 });
    aws.setClockOffset(11 * 60_000);
    expect((await failure(assume('aws', { WebIdentityToken: token }))).name).toBe(
      'ExpiredTokenException',
    );
    aws.setClockOffset(-6 * 60_000);
    const early = await failure(assume('aws', { WebIdentityToken: token }));
    expect(early.name).toBe('InvalidIdentityTokenException');
    expect(early.message).toMatch(/nbf claim is in the future/);
    aws.setClockOffset(0);
    await assume('aws', { WebIdentityToken: token });
  });

  it('fetches the key set again, once, for a kid it has not seen (key rotation)', async () => {
    keylessRole('aws');
    await assume('aws', { WebIdentityToken: await mint() });
    await assume('aws', { WebIdentityToken: await mint() });
    expect(aws.issuerFetches.map((f) => f.what)).toEqual(['openid-configuration', 'jwks']);
    expect(aws.issuerFetches[1]).toMatchObject({
      url: `${ISSUER}/jwks.json`,
      fetched: `${issuer.base}/oidc/jwks.json`,
      status: 200,
      error: undefined,
    });

    const next = await signingKey('k2');
    issuer.published = [key, next];
    await assume('aws', { WebIdentityToken: await mint({}, { with: next }) });
    expect(aws.issuerFetches).toHaveLength(4);

    // A kid the issuer does not publish even after a fresh fetch is refused.
    const unpublished = await signingKey('k3');
    const error = await failure(
      assume('aws', { WebIdentityToken: await mint({}, { with: unpublished }) }),
    );
    expect(error.name).toBe('InvalidIdentityTokenException');
    expect(aws.issuerFetches).toHaveLength(6);
  });

  it('refuses a token signed by another key under a published kid', async () => {
    keylessRole('aws');
    const forger = await signingKey('k1');
    const error = await failure(
      assume('aws', { WebIdentityToken: await mint({}, { with: forger }) }),
    );
    expect(error.name).toBe('InvalidIdentityTokenException');
    expect(error.message).toBe('Failed to verify the web identity token signature');
  });

  it('refuses a token whose issuer has no provider in the role account', async () => {
    aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'OnrampKeyless',
      path: '/onramp/',
      trustPolicy: keylessTrust('aws'),
    });
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.name).toBe('InvalidIdentityTokenException');
    expect(error.message).toBe(`No OpenIDConnect provider found in your account for ${ISSUER}`);
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(aws.issuerFetches).toHaveLength(0);
  });

  it('refuses when the account only has a provider for another URL', async () => {
    keylessRole('aws');
    aws.deleteOidcProvider('aws', `arn:aws:iam::${CUSTOMER_ACCOUNT}:oidc-provider/${PREFIX}`);
    aws.createOidcProvider('aws', CUSTOMER_ACCOUNT, {
      url: `${ORIGIN}/other`,
      clientIds: ['sts.amazonaws.com'],
    });
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.message).toBe(`No OpenIDConnect provider found in your account for ${ISSUER}`);
    // A provider of the same URL in another account does not count either.
    aws.createOidcProvider('aws', '777788889999', {
      url: ISSUER,
      clientIds: ['sts.amazonaws.com'],
    });
    expect((await failure(assume('aws', { WebIdentityToken: await mint() }))).name).toBe(
      'InvalidIdentityTokenException',
    );
  });

  it('evaluates the trust policy as written: no sub condition lets any subject in', async () => {
    keylessRole('aws', {
      condition: { StringEquals: { [`${PREFIX}:aud`]: 'sts.amazonaws.com' } },
    });
    const out = await assume('aws', {
      WebIdentityToken: await mint({ sub: 'tenant:t9:connection:c9' }),
    });
    expect(out.SubjectFromWebIdentityToken).toBe('tenant:t9:connection:c9');
  });

  it('with azp, <issuer>:aud is the azp and <issuer>:oaud the aud claim, as AWS documents', async () => {
    aws.createOidcProvider('aws', CUSTOMER_ACCOUNT, { url: ISSUER, clientIds: ['client-1'] });
    aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'OnrampKeyless',
      path: '/onramp/',
      trustPolicy: keylessTrust('aws', {
        StringEquals: { [`${PREFIX}:aud`]: 'client-1', [`${PREFIX}:oaud`]: 'other-audience' },
      }),
    });
    const out = await assume('aws', {
      WebIdentityToken: await mint({ azp: 'client-1', aud: 'other-audience' }),
    });
    expect(out.Audience).toBe('client-1');
    const wrong = await failure(
      assume('aws', { WebIdentityToken: await mint({ azp: 'client-1', aud: 'another' }) }),
    );
    expect(wrong.name).toBe('AccessDenied');
  });

  it('a token with several audiences is accepted for the one the provider lists', async () => {
    keylessRole('aws');
    const out = await assume('aws', {
      WebIdentityToken: await mint({ aud: ['https://elsewhere.example', 'sts.amazonaws.com'] }),
    });
    expect(out.Audience).toBe('sts.amazonaws.com');
  });

  it('refuses unsigned and HMAC tokens (alg none, HS256)', async () => {
    keylessRole('aws');
    const [, payload] = (await mint()).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k1' })).toString('base64url')}.${payload}.`;
    expect((await failure(assume('aws', { WebIdentityToken: none }))).name).toBe(
      'InvalidIdentityTokenException',
    );
    const hmac = await new SignJWT({
      iss: ISSUER,
      sub: SUBJECT,
      aud: 'sts.amazonaws.com',
      exp: Math.floor(Date.now() / 1000) + 300,
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode(JSON.stringify(key.jwk)));
    expect((await failure(assume('aws', { WebIdentityToken: hmac }))).name).toBe(
      'InvalidIdentityTokenException',
    );
  });

  it('evaluates StringLike on sub and refuses a trust policy of another provider', async () => {
    keylessRole('aws', { condition: { StringLike: { [`${PREFIX}:sub`]: 'tenant:t1:*' } } });
    await assume('aws', { WebIdentityToken: await mint() });
    expect(
      (await failure(assume('aws', { WebIdentityToken: await mint({ sub: 'tenant:t2:x' }) }))).name,
    ).toBe('AccessDenied');
    aws.updateTrustPolicy('aws', `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/onramp/OnrampKeyless`, {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: `arn:aws:iam::${CUSTOMER_ACCOUNT}:oidc-provider/other.test` },
          Action: 'sts:AssumeRoleWithWebIdentity',
        },
      ],
    });
    expect((await failure(assume('aws', { WebIdentityToken: await mint() }))).name).toBe(
      'AccessDenied',
    );
  });

  it('answers IDPCommunicationError when the issuer cannot be reached', async () => {
    keylessRole('aws');
    // A closed port: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    aws.routeIssuer(ORIGIN, `http://127.0.0.1:${port}`);
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.name).toBe('IDPCommunicationErrorException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(aws.issuerFetches[0]).toMatchObject({ status: 0, what: 'openid-configuration' });
    expect(aws.issuerFetches[0]?.error).toMatch(/^unreachable/);
  });

  it.each([
    [{ kind: 'unreachable' }, /connection refused/],
    [{ kind: 'html' }, /HTML page with 200/],
    [{ kind: 'error', status: 503 }, /503/],
    [{ kind: 'throttle' }, /429/],
    [{ kind: 'html', action: 'jwks' }, /HTML/],
  ] as const)('an issuer fault %j is IDPCommunicationError', async (fault, reason) => {
    keylessRole('aws');
    aws.injectFault({ service: 'issuer', times: 1, ...fault });
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.name).toBe('IDPCommunicationErrorException');
    expect(aws.issuerFetches.at(-1)?.error).toMatch(reason);
    // Transient: the next try reaches the issuer.
    await assume('aws', { WebIdentityToken: await mint() });
  });

  it('fetches an issuer published to a public S3 bucket (and fails while it is private)', async () => {
    keylessRole('aws');
    const publisher = aws.createUser('aws', HUB_ACCOUNT, 'publisher', { policies: [ALLOW_ALL] });
    aws.createBucket('aws', 'onramp-oidc', { ownerAccountId: HUB_ACCOUNT, region: 'us-east-1' });
    const s3 = s3Client(aws, 'us-east-1', publisher.credentials);
    const put = (key: string, body: unknown) =>
      s3.send(
        new PutObjectCommand({
          Bucket: 'onramp-oidc',
          Key: key,
          Body: JSON.stringify(body),
          ContentType: 'application/json',
        }),
      );
    await put('oidc/jwks.json', { keys: [key.jwk] });
    await put('oidc/.well-known/openid-configuration', {
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/jwks.json`,
    });
    // The issuer's host is the bucket (a CDN or the bucket's website in front of it, in real life).
    aws.routeIssuer(ORIGIN, `${aws.url}/onramp-oidc`);
    const closed = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(closed.name).toBe('IDPCommunicationErrorException');
    expect(aws.issuerFetches[0]).toMatchObject({ status: 403, error: 'HTTP 403' });

    aws.putBucketPolicy('aws', 'onramp-oidc', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: '*',
          Action: 's3:GetObject',
          Resource: 'arn:aws:s3:::onramp-oidc/oidc/*',
        },
      ],
    });
    const out = await assume('aws', { WebIdentityToken: await mint() });
    expect(out.Provider).toBe(ISSUER);
    expect(issuer.requests).toEqual([]);
  });

  it('an issuer that answers HTML instead of JSON is IDPCommunicationError', async () => {
    keylessRole('aws');
    aws.routeIssuer(ORIGIN, `${issuer.base}/nothing-here`);
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.name).toBe('IDPCommunicationErrorException');
    expect(aws.issuerFetches[0]).toMatchObject({ status: 404, error: 'HTTP 404' });
  });

  it('an issuer slower than the timeout is IDPCommunicationError', async () => {
    keylessRole('aws');
    aws.issuerTimeoutMs = 200;
    aws.injectFault({ service: 'issuer', kind: 'timeout', times: 1 });
    const started = Date.now();
    const error = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(error.name).toBe('IDPCommunicationErrorException');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // A late answer within the timeout is fine.
    aws.injectFault({ service: 'issuer', kind: 'timeout', hangMs: 50, times: 1 });
    await assume('aws', { WebIdentityToken: await mint() });
  });

  it('an un-routed https issuer is fetched for real (and fails offline)', async () => {
    aws.createOidcProvider('aws', CUSTOMER_ACCOUNT, {
      url: 'https://issuer.invalid',
      clientIds: ['sts.amazonaws.com'],
    });
    aws.createRole('aws', CUSTOMER_ACCOUNT, {
      roleName: 'OnrampKeyless',
      path: '/onramp/',
      trustPolicy: keylessTrust('aws'),
    });
    const error = await failure(
      assume('aws', { WebIdentityToken: await mint({ iss: 'https://issuer.invalid' }) }),
    );
    expect(error.name).toBe('IDPCommunicationErrorException');
    expect(aws.issuerFetches[0]?.fetched).toBe(
      'https://issuer.invalid/.well-known/openid-configuration',
    );
  });

  it('allows DurationSeconds up to the role maximum (12 h: not role chaining), and no more', async () => {
    keylessRole('aws', { maxSessionDuration: 43200 });
    const out = await assume('aws', {
      WebIdentityToken: await mint(),
      DurationSeconds: 43200,
    });
    const expires = out.Credentials?.Expiration?.getTime() ?? 0;
    expect(Math.abs(expires - Date.now() - 43200_000)).toBeLessThan(10_000);
    const over = await failure(
      assume('aws', { WebIdentityToken: await mint(), DurationSeconds: 43201 }),
    );
    expect(over.name).toBe('ValidationError');
  });

  it('refuses DurationSeconds above a shorter MaxSessionDuration as AWS words it', async () => {
    keylessRole('aws');
    const error = await failure(
      assume('aws', { WebIdentityToken: await mint(), DurationSeconds: 7200 }),
    );
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe(
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
    const short = await failure(
      assume('aws', { WebIdentityToken: await mint(), DurationSeconds: 899 }),
    );
    expect(short.name).toBe('ValidationError');
  });

  it('applies a session policy that narrows the session', async () => {
    keylessRole('aws');
    const out = await assume('aws', {
      WebIdentityToken: await mint(),
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iam:ListAttachedRolePolicies', Resource: '*' }],
      }),
    });
    const iam = iamClient(aws, 'us-east-1', credentialsOf(out));
    await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'OnrampKeyless' }));
    expect((await failure(iam.send(new GetRoleCommand({ RoleName: 'OnrampKeyless' })))).name).toBe(
      'AccessDenied',
    );
  });

  it('refuses a role that does not exist, and a token that is not a JWT', async () => {
    keylessRole('aws');
    const missing = await failure(
      assume('aws', {
        WebIdentityToken: await mint(),
        RoleArn: `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/Nope`,
      }),
    );
    expect(missing.name).toBe('AccessDenied');
    const garbage = await failure(assume('aws', { WebIdentityToken: 'not-a-jwt' }));
    expect(garbage.name).toBe('InvalidIdentityTokenException');
  });

  it('can be throttled, failed and hung like any STS call', async () => {
    keylessRole('aws');
    aws.throttleNext(1, { action: 'sts:AssumeRoleWithWebIdentity' });
    const retried = await assume('aws', { WebIdentityToken: await mint() }, 3);
    expect(retried.$metadata.attempts).toBe(2);
    aws.failNext(1, { action: 'AssumeRoleWithWebIdentity', status: 503 });
    const failed = await failure(assume('aws', { WebIdentityToken: await mint() }));
    expect(failed.name).toBe('ServiceUnavailable');
    expect(failed.$metadata.httpStatusCode).toBe(503);
    aws.failNext(1, { action: 'AssumeRoleWithWebIdentity', partition: 'aws-cn' });
    await assume('aws', { WebIdentityToken: await mint() });
    expect(aws.pendingFaults).toBe(1);
    aws.clearFaults();
    aws.hangNext(1, { action: 'AssumeRoleWithWebIdentity', hangMs: 100 });
    const started = Date.now();
    await assume('aws', { WebIdentityToken: await mint() });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});

describe('a keyless role deployed from a template', () => {
  it.each(['aws', 'aws-us-gov', 'aws-cn'] as const)(
    'works end to end in %s (provider and role from deployStack)',
    async (partition) => {
      const stack = deployStack(aws, {
        partition,
        accountId: CUSTOMER_ACCOUNT,
        template: `
Parameters:
  ExistingOidcProviderArn: { Type: String, Default: "" }
Conditions:
  CreateOidcProvider: !Equals [!Ref ExistingOidcProviderArn, ""]
Resources:
  OidcProvider:
    Type: AWS::IAM::OIDCProvider
    Condition: CreateOidcProvider
    Properties:
      Url: ${ISSUER}
      ClientIdList: [${AUDIENCE[partition]}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: OnrampKeyless
      Path: /onramp/
      MaxSessionDuration: 43200
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Federated: !If [CreateOidcProvider, !Ref OidcProvider, !Ref ExistingOidcProviderArn]
            Action: sts:AssumeRoleWithWebIdentity
            Condition:
              StringEquals:
                ${PREFIX}:aud: ${AUDIENCE[partition]}
                ${PREFIX}:sub: ${SUBJECT}
Outputs:
  RoleArn: { Value: !GetAtt Role.Arn }
`,
      });
      const out = await assume(partition, {
        RoleArn: stack.outputs.RoleArn,
        WebIdentityToken: await mint({ aud: AUDIENCE[partition] }),
        DurationSeconds: 43200,
      });
      expect(out.AssumedRoleUser?.Arn).toBe(
        `arn:${partition}:sts::${CUSTOMER_ACCOUNT}:assumed-role/OnrampKeyless/onramp-c1`,
      );
    },
  );
});

describe('IAM OIDC providers', () => {
  it('creates, reads, lists and deletes providers over the IAM API', async () => {
    const admin = aws.createUser('aws', CUSTOMER_ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    const iam = iamClient(aws, 'us-east-1', admin.credentials);
    const created = await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: ISSUER,
        ClientIDList: ['sts.amazonaws.com'],
        Tags: [{ Key: 'owner', Value: 'onramp' }],
      }),
    );
    const arn = `arn:aws:iam::${CUSTOMER_ACCOUNT}:oidc-provider/${PREFIX}`;
    expect(created.OpenIDConnectProviderArn).toBe(arn);
    const got = await iam.send(
      new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }),
    );
    expect(got).toMatchObject({
      Url: PREFIX,
      ClientIDList: ['sts.amazonaws.com'],
      ThumbprintList: [],
      Tags: [{ Key: 'owner', Value: 'onramp' }],
    });
    expect(got.CreateDate).toBeInstanceOf(Date);
    const again = await failure(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER, ClientIDList: ['x'] })),
    );
    expect(again.name).toBe('EntityAlreadyExistsException');
    expect(again.$metadata.httpStatusCode).toBe(409);
    const listed = await iam.send(new ListOpenIDConnectProvidersCommand({}));
    expect(listed.OpenIDConnectProviderList).toEqual([{ Arn: arn }]);
    await iam.send(new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn }));
    const gone = await failure(
      iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
    );
    expect(gone.name).toBe('NoSuchEntityException');
    expect(gone.$metadata.httpStatusCode).toBe(404);
  });

  it('refuses a URL that is not https, or has a query', async () => {
    const admin = aws.createUser('aws', CUSTOMER_ACCOUNT, 'admin', { policies: [ALLOW_ALL] });
    const iam = iamClient(aws, 'us-east-1', admin.credentials);
    for (const url of ['http://onramp.example.test/oidc', 'https://onramp.example.test/?a=1']) {
      const error = await failure(
        iam.send(new CreateOpenIDConnectProviderCommand({ Url: url, ClientIDList: ['a'] })),
      );
      expect(error.name).toBe('InvalidInputException');
    }
    expect(() =>
      aws.createOidcProvider('aws', CUSTOMER_ACCOUNT, {
        url: 'onramp.example.test',
        clientIds: [],
      }),
    ).toThrow(/Invalid Url/);
  });

  it('authorizes the calls against the caller policies', async () => {
    const reader = aws.createUser('aws', CUSTOMER_ACCOUNT, 'reader', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'iam:ListOpenIDConnectProviders', Resource: '*' }],
        },
      ],
    });
    const iam = iamClient(aws, 'us-east-1', reader.credentials);
    await iam.send(new ListOpenIDConnectProvidersCommand({}));
    const error = await failure(
      iam.send(new CreateOpenIDConnectProviderCommand({ Url: ISSUER, ClientIDList: ['a'] })),
    );
    expect(error.name).toBe('AccessDenied');
  });

  it('keeps providers across a snapshot and restore', async () => {
    keylessRole('aws');
    const text = snapshotLoopback(aws);
    const second = await startLoopbackAws();
    try {
      restoreLoopback(second, text);
      second.routeIssuer(ORIGIN, issuer.base);
      const out = await new STSClient({
        region: 'us-east-1',
        endpoint: second.url,
        maxAttempts: 1,
      }).send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: `arn:aws:iam::${CUSTOMER_ACCOUNT}:role/onramp/OnrampKeyless`,
          RoleSessionName: 'restored',
          WebIdentityToken: await mint(),
        }),
      );
      expect(out.Provider).toBe(ISSUER);
    } finally {
      await second.stop();
    }
  });
});
