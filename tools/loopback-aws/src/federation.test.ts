import { AssumeRoleCommand, GetSessionTokenCommand } from '@aws-sdk/client-sts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LoopbackAws, startLoopbackAws } from './index.ts';
import { CUSTOMER_ACCOUNT, HUB_ACCOUNT, stsClient } from './test-support.ts';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

/** GET /federation?Action=getSigninToken, as a console sign-in broker calls it. */
async function signinToken(session: Record<string, unknown>, action = 'getSigninToken') {
  const url = `${aws.url}/federation?Action=${action}&Session=${encodeURIComponent(JSON.stringify(session))}`;
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

describe('the federation endpoint', () => {
  it('turns a live role session into a sign-in token, and knows which session it stands for', async () => {
    const hub = aws.createUser('aws-us-gov', HUB_ACCOUNT, 'hub');
    const role = aws.createRole('aws-us-gov', CUSTOMER_ACCOUNT, {
      roleName: 'Console',
      trustPolicy: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: hub.arn }, Action: 'sts:AssumeRole' }],
      },
    });
    const out = await stsClient(aws, 'us-gov-west-1', hub.credentials).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'alice' }),
    );
    const session = {
      sessionId: out.Credentials?.AccessKeyId,
      sessionKey: out.Credentials?.SecretAccessKey,
      sessionToken: out.Credentials?.SessionToken,
    };
    const answer = await signinToken(session);
    expect(answer.status).toBe(200);
    const token = (JSON.parse(answer.text) as { SigninToken: string }).SigninToken;
    expect(aws.signinSessionOf(token)).toEqual({
      partition: 'aws-us-gov',
      arn: `arn:aws-us-gov:sts::${CUSTOMER_ACCOUNT}:assumed-role/Console/alice`,
    });
    expect(aws.calls.at(-1)).toMatchObject({
      service: 'signin',
      action: 'getSigninToken',
      partition: 'aws-us-gov',
      status: 200,
    });

    expect((await signinToken({ ...session, sessionKey: 'wrong' })).status).toBe(400);
    expect((await signinToken(session, 'login')).status).toBe(400);
    aws.expireCredentials('aws-us-gov', session.sessionId ?? '');
    expect((await signinToken(session)).status).toBe(400);
    expect(aws.signinSessionOf('never-issued')).toBeUndefined();
  });

  it('refuses GetSessionToken sessions and anything that is not a session', async () => {
    const user = aws.createUser('aws', CUSTOMER_ACCOUNT, 'keys');
    const out = await stsClient(aws, 'us-east-1', user.credentials).send(
      new GetSessionTokenCommand({}),
    );
    const refused = await signinToken({
      sessionId: out.Credentials?.AccessKeyId,
      sessionKey: out.Credentials?.SecretAccessKey,
      sessionToken: out.Credentials?.SessionToken,
    });
    expect(refused.status).toBe(400);
    expect(
      (await signinToken({ sessionId: user.accessKeyId, sessionKey: user.secretAccessKey })).status,
    ).toBe(400);
    const garbage = await fetch(`${aws.url}/federation?Action=getSigninToken&Session=%7Bnot-json`);
    expect(garbage.status).toBe(400);
  });
});
