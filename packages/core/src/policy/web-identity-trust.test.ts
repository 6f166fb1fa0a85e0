import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { issuesOf } from '../../test/fixtures.ts';
import { parseOidcIssuer, webIdentityAudience } from '../identifiers.ts';
import { PARTITION_IDS } from '../partitions/partitions.ts';
import {
  buildWebIdentityTrustPolicy,
  oidcProviderArn,
  oidcProviderArnPattern,
  webIdentityConditions,
} from './trust-policy.ts';

const PREFIX = 'onramp.example.com/oidc';
const SUBJECT = 'tenant:ten_1:connection:con_1';

describe('the keyless trust policy', () => {
  it.each(PARTITION_IDS)(
    'in %s: the provider federated, the audience and subject matched exactly',
    (partition) => {
      const providerArn = oidcProviderArn(partition, '123456789012', `https://${PREFIX}`);
      expect(providerArn).toBe(`arn:${partition}:iam::123456789012:oidc-provider/${PREFIX}`);
      const audience = webIdentityAudience(partition);
      const policy = buildWebIdentityTrustPolicy({
        partition,
        providerArn,
        conditionPrefix: PREFIX,
        audience,
        subject: SUBJECT,
      });
      expect(policy).toEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'OnrampWebIdentity',
            Effect: 'Allow',
            Principal: { Federated: providerArn },
            Action: ['sts:AssumeRoleWithWebIdentity'],
            Condition: webIdentityConditions({
              conditionPrefix: PREFIX,
              audience,
              subject: SUBJECT,
            }),
          },
        ],
      });
      expect(
        webIdentityConditions({ conditionPrefix: PREFIX, audience, subject: SUBJECT }),
      ).toEqual({
        StringEquals: { [`${PREFIX}:aud`]: audience, [`${PREFIX}:sub`]: SUBJECT },
      });
    },
  );

  it('uses sts.amazonaws.com.cn as the audience in aws-cn only', () => {
    expect(PARTITION_IDS.map(webIdentityAudience)).toEqual([
      'sts.amazonaws.com',
      'sts.amazonaws.com',
      'sts.amazonaws.com.cn',
    ]);
  });

  it.each([
    [
      'another partition',
      'arn:aws-cn:iam::123456789012:oidc-provider/onramp.example.com/oidc',
      'wrong_partition',
    ],
    [
      'another issuer',
      'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
      'invalid_arn',
    ],
    [
      'a longer path',
      'arn:aws:iam::123456789012:oidc-provider/onramp.example.com/oidc/x',
      'invalid_arn',
    ],
    ['a role', 'arn:aws:iam::123456789012:role/onramp.example.com/oidc', 'invalid_arn'],
    [
      'a region',
      'arn:aws:iam:us-east-1:123456789012:oidc-provider/onramp.example.com/oidc',
      'invalid_arn',
    ],
    ['a short account', 'arn:aws:iam::1234:oidc-provider/onramp.example.com/oidc', 'invalid_arn'],
    [
      'a dashed account',
      'arn:aws:iam::1234-5678-9012:oidc-provider/onramp.example.com/oidc',
      'invalid_arn',
    ],
    ['no ARN', 'onramp.example.com/oidc', 'invalid_arn'],
  ])('refuses a provider ARN with %s', async (_, providerArn, code) => {
    const issues = await issuesOf(() =>
      buildWebIdentityTrustPolicy({
        partition: 'aws',
        providerArn,
        conditionPrefix: PREFIX,
        audience: 'sts.amazonaws.com',
        subject: SUBJECT,
      }),
    );
    expect(issues).toEqual([expect.objectContaining({ field: 'providerArn', code })]);
  });

  it('refuses an audience or subject that would match more than itself, every problem at once', async () => {
    const issues = await issuesOf(() =>
      buildWebIdentityTrustPolicy({
        partition: 'aws',
        providerArn: `arn:aws:iam::123456789012:oidc-provider/${PREFIX}`,
        conditionPrefix: PREFIX,
        audience: 'sts.*',
        subject: 'tenant:${aws:userid}',
      }),
    );
    expect(issues.map((i) => i.field)).toEqual(['audience', 'subject']);
  });

  it('refuses a bad issuer or account for the provider ARN', async () => {
    expect(
      (await issuesOf(() => oidcProviderArn('aws', '123456789012', 'https://x.example.com/')))[0],
    ).toMatchObject({ field: 'issuer' });
    expect(
      (await issuesOf(() => oidcProviderArn('aws', '12345', `https://${PREFIX}`)))[0],
    ).toMatchObject({ field: 'accountId' });
  });
});

// Issuers as IAM takes them: lower-case DNS names with an optional path of plain segments.
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const issuerArb = fc
  .tuple(
    fc.array(label, { minLength: 2, maxLength: 4 }),
    fc.array(
      fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((p) => !/^\.{1,2}$/.test(p)),
      { maxLength: 3 },
    ),
  )
  .map(([host, path]) => `https://${host.join('.')}${path.map((p) => `/${p}`).join('')}`);

describe('issuers, properties', () => {
  it('every valid issuer names its provider ARN, and only that ARN matches its pattern', () => {
    fc.assert(
      fc.property(
        issuerArb,
        issuerArb,
        fc.constantFrom(...PARTITION_IDS),
        fc.stringMatching(/^\d{12}$/),
        (issuer, other, partition, account) => {
          const parsed = parseOidcIssuer(issuer);
          expect(parsed.ok).toBe(true);
          if (!parsed.ok) return;
          expect(parsed.value.conditionPrefix).toBe(issuer.slice('https://'.length));
          const arn = oidcProviderArn(partition, account, issuer);
          const pattern = new RegExp(
            `^${oidcProviderArnPattern(partition, parsed.value.conditionPrefix)}$`,
          );
          expect(pattern.test(arn)).toBe(true);
          if (other !== issuer)
            expect(pattern.test(oidcProviderArn(partition, account, other))).toBe(false);
          const policy = buildWebIdentityTrustPolicy({
            partition,
            providerArn: arn,
            conditionPrefix: parsed.value.conditionPrefix,
            audience: webIdentityAudience(partition),
            subject: SUBJECT,
          });
          expect(Object.keys(policy.Statement[0]?.Condition?.StringEquals ?? {})).toEqual([
            `${parsed.value.conditionPrefix}:aud`,
            `${parsed.value.conditionPrefix}:sub`,
          ]);
        },
      ),
    );
  });

  it('an issuer with anything appended after its path (port, query, fragment, slash) is refused', () => {
    fc.assert(
      fc.property(
        issuerArb,
        fc.constantFrom(':443', '?a=1', '#f', '/', ':8443/x'),
        (issuer, tail) => {
          const withTail = tail.startsWith(':')
            ? issuer.replace(/^(https:\/\/[^/]+)/, `$1${tail}`)
            : `${issuer}${tail}`;
          expect(parseOidcIssuer(withTail).ok).toBe(false);
        },
      ),
    );
  });
});
