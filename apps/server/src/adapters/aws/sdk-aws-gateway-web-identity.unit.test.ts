/**
 * AssumeRoleWithWebIdentity through the real SDK, against a tiny STS endpoint that records what
 * arrives and answers as STS does: the request is sent unsigned, with no AWS credentials anywhere in
 * the environment and no hub, and STS's refusals become the problems the features place on fields.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsProblem } from '../../ports/aws-gateway.ts';
import { createSdkAwsGateway } from './sdk-aws-gateway.ts';

const ROLE = 'arn:aws:iam::123456789012:role/OnrampKeyless';
const CREDENTIAL_VARIABLES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_ROLE_ARN',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_STS',
];

describe('AssumeRoleWithWebIdentity in the SDK gateway', () => {
  let server: Server;
  let url: string;
  const saved: Record<string, string | undefined> = {};
  const received: { url: string; headers: IncomingHttpHeaders; body: URLSearchParams }[] = [];
  /** null: never answer (a hung STS). */
  let answer: { status: number; body: string } | null = { status: 200, body: '' };

  beforeAll(async () => {
    // Nothing to sign with: no variables, no shared files, no instance metadata.
    for (const name of [
      ...CREDENTIAL_VARIABLES,
      'AWS_SHARED_CREDENTIALS_FILE',
      'AWS_CONFIG_FILE',
      'AWS_EC2_METADATA_DISABLED',
    ])
      saved[name] = process.env[name];
    for (const name of CREDENTIAL_VARIABLES) delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      request.on('end', () => {
        received.push({
          url: request.url ?? '',
          headers: request.headers,
          body: new URLSearchParams(body),
        });
        if (!answer) return;
        response.writeHead(answer.status, { 'content-type': 'text/xml' });
        response.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });
  beforeEach(() => {
    received.length = 0;
  });

  const succeed = () => {
    answer = {
      status: 200,
      body: `<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>tenant:ten_1:connection:con_1</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/OnrampKeyless/onramp-validate</Arn>
      <AssumedRoleId>AROAEXAMPLE:onramp-validate</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>session-token</SessionToken>
      <SecretAccessKey>secret</SecretAccessKey>
      <Expiration>2030-01-01T12:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
    <Provider>arn:aws:iam::123456789012:oidc-provider/onramp.example.test/oidc</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>`,
    };
  };
  const refuse = (code: string, message: string) => {
    answer = {
      status: 400,
      body: `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>req-2</RequestId></ErrorResponse>`,
    };
  };
  const gateway = () => createSdkAwsGateway({ hubs: {}, endpoint: url, maxAttempts: 1 });
  const assume = (durationSeconds?: number) =>
    gateway().assumeRoleWithWebIdentity('aws', {
      roleArn: ROLE,
      webIdentityToken: 'header.claims.signature',
      sessionName: 'onramp-validate',
      ...(durationSeconds ? { durationSeconds } : {}),
    });

  it('sends the call unsigned, with no credentials anywhere and no hub, and returns the session', async () => {
    succeed();
    const session = await assume(43200);
    expect(session.identity).toEqual({
      accountId: '123456789012',
      arn: 'arn:aws:sts::123456789012:assumed-role/OnrampKeyless/onramp-validate',
      userId: 'AROAEXAMPLE:onramp-validate',
    });
    expect(session.credentials).toMatchObject({
      accessKeyId: 'ASIAEXAMPLE',
      sessionToken: 'session-token',
    });
    const [request] = received;
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers['x-amz-security-token']).toBeUndefined();
    expect(request?.headers['x-amz-date']).toBeUndefined();
    expect(Object.fromEntries(request?.body ?? [])).toMatchObject({
      Action: 'AssumeRoleWithWebIdentity',
      RoleArn: ROLE,
      RoleSessionName: 'onramp-validate',
      WebIdentityToken: 'header.claims.signature',
      DurationSeconds: '43200',
    });
  });

  it('asks the federation endpoint for a 12-hour console session when told to', async () => {
    answer = { status: 200, body: JSON.stringify({ SigninToken: 'signin-token' }) };
    const credentials = {
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'session-token',
      expiration: new Date(Date.now() + 3600_000),
    };
    const token = await gateway().getSigninToken('aws', credentials, {
      sessionDurationSeconds: 43200,
    });
    expect(token).toBe('signin-token');
    const url = new URL(received.at(-1)?.url ?? '', 'http://x');
    expect(url.pathname).toBe('/federation');
    expect(url.searchParams.get('Action')).toBe('getSigninToken');
    expect(url.searchParams.get('SessionDuration')).toBe('43200');
    await gateway().getSigninToken('aws', credentials);
    expect(
      new URL(received.at(-1)?.url ?? '', 'http://x').searchParams.has('SessionDuration'),
    ).toBe(false);
  });

  it('is cut by the caller’s signal and by the call’s deadline, as AssumeRole is', async () => {
    answer = null;
    const controller = new AbortController();
    const call = gateway().assumeRoleWithWebIdentity(
      'aws',
      {
        roleArn: ROLE,
        webIdentityToken: 'header.claims.signature',
        sessionName: 'onramp-validate',
      },
      { signal: controller.signal },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await call.catch((e: unknown) => e)).toMatchObject({
      kind: 'upstream',
      code: 'cancelled',
    });
    const slow = createSdkAwsGateway({
      hubs: {},
      endpoint: url,
      maxAttempts: 1,
      callTimeoutMs: 300,
    });
    const timedOut = await slow
      .assumeRoleWithWebIdentity('aws', {
        roleArn: ROLE,
        webIdentityToken: 'header.claims.signature',
        sessionName: 'onramp-validate',
      })
      .catch((e: unknown) => e);
    expect(timedOut).toMatchObject({ kind: 'upstream', code: 'upstream_timeout' });
    server.closeAllConnections();
  });

  it('places each refusal of STS on its field, and treats the issuer’s and the clock’s problems as not the tenant’s', async () => {
    const cases: [string, string, Partial<AwsProblem>][] = [
      [
        'InvalidIdentityToken',
        'No OpenIDConnect provider found in your account for https://onramp.example.test/oidc',
        { kind: 'rejected', field: 'oidcProvider', code: 'oidc_provider_missing' },
      ],
      [
        'InvalidIdentityToken',
        'Incorrect token audience',
        { kind: 'rejected', field: 'oidcProvider', code: 'oidc_audience_not_allowed' },
      ],
      [
        'InvalidIdentityToken',
        'The web identity token signature is invalid',
        { kind: 'upstream', field: 'oidcProvider', code: 'identity_token_refused' },
      ],
      [
        'IDPCommunicationError',
        'Couldn’t retrieve verification key from your identity provider',
        { kind: 'upstream', field: 'oidcProvider', code: 'issuer_unreachable' },
      ],
      [
        'ExpiredTokenException',
        'Token expired: current date/time 1700000000 must be before the expiration date/time 1690000000',
        { kind: 'upstream', field: 'roleArn', code: 'identity_token_expired' },
      ],
      [
        'AccessDenied',
        'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        { kind: 'rejected', field: 'roleArn', code: 'AccessDenied' },
      ],
      [
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
        { kind: 'rejected', field: 'roleArn', awsCode: 'ValidationError' },
      ],
    ];
    for (const [code, message, expected] of cases) {
      refuse(code, message);
      const error = await assume().catch((e: unknown) => e);
      expect(error, `${code}: ${message}`).toBeInstanceOf(AwsProblem);
      expect(error, `${code}: ${message}`).toMatchObject(expected);
    }
    expect(received.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});
