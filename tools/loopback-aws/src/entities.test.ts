import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsError } from './errors.ts';
import { type LoopbackAws, startLoopbackAws } from './loopback.ts';

const ACCOUNT = '444455556666';
const TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
};

describe('names taken in an account', () => {
  let aws: LoopbackAws;
  beforeAll(async () => {
    aws = await startLoopbackAws();
  });
  afterAll(async () => {
    await aws?.stop();
  });

  it('refuses a second role or managed policy of the same name (ignoring case) as IAM does', () => {
    aws.createAccount('aws', ACCOUNT);
    aws.createRole('aws', ACCOUNT, { roleName: 'OnrampRole', trustPolicy: TRUST });
    const role = () =>
      aws.createRole('aws', ACCOUNT, { roleName: 'onramprole', trustPolicy: TRUST });
    expect(role).toThrow(AwsError);
    expect(role).toThrow(/Role with name onramprole already exists/);
    try {
      role();
    } catch (error) {
      expect(error).toMatchObject({ code: 'EntityAlreadyExists', status: 409 });
    }
    const document = { Version: '2012-10-17', Statement: [] };
    aws.createManagedPolicy('aws', ACCOUNT, { name: 'OnrampRole-permissions', document });
    expect(() =>
      aws.createManagedPolicy('aws', ACCOUNT, {
        name: 'OnrampRole-Permissions',
        path: '/other/',
        document,
      }),
    ).toThrow(/already exists/);
    // Another account, or another name, is no collision.
    aws.createAccount('aws', '777788889999');
    aws.createRole('aws', '777788889999', { roleName: 'OnrampRole', trustPolicy: TRUST });
    aws.createRole('aws', ACCOUNT, { roleName: 'OnrampRole-2', trustPolicy: TRUST });
  });
});
