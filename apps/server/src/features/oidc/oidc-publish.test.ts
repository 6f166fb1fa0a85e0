import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3OidcPublisher } from '../../adapters/aws/sdk-oidc-publisher.ts';
import { createOidcRotation } from '../../jobs/oidc-rotation.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectStatus, type Harness } from '../../testing/harness.ts';
import { createDirectoryOidcPublisher } from './directory-publisher.ts';

const ISSUER = 'https://oidc.example.test/acme';

/**
 * An Onramp AWS cannot reach publishes its issuer elsewhere (ONRAMP_OIDC_ISSUER_URL): the documents
 * are written to a directory and to S3 (the loopback's, through the real SDK client) at start-up and
 * again after every key change; a target that fails is reported, and the rest keeps working.
 */
describe.each(TEST_DIALECTS)('publishing the issuer’s documents on %s', (dialect) => {
  let h: Harness;
  let aws: LoopbackAws;
  let directory: string;
  let writerSecret: string;
  const warnings: { details: Record<string, unknown>; message: string }[] = [];

  beforeAll(async () => {
    aws = await startLoopbackAws();
    aws.createBucket('aws', 'acme-oidc', { region: 'us-east-1' });
    const writer = aws.createUser('aws', '123456789012', 'oidc-publisher');
    writerSecret = writer.credentials.secretAccessKey;
    directory = await mkdtemp(join(tmpdir(), 'onramp-oidc-'));
    const s3 = (bucket: string) =>
      createS3OidcPublisher({
        bucket,
        prefix: 'acme',
        region: 'us-east-1',
        endpoint: aws.url,
        credentials: writer.credentials,
      });
    h = await createHarness(dialect, {
      // No public URL: the issuer lives only where the documents are published.
      oidc: { issuerUrl: ISSUER, algorithm: 'ES256' },
      oidcPublishers: [
        createDirectoryOidcPublisher(directory),
        s3('acme-oidc'),
        s3('no-such-bucket'),
      ],
      oidcLog: {
        info: () => {},
        warn: (details, message) => warnings.push({ details, message }),
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  const fromDirectory = async () => ({
    discovery: JSON.parse(
      await readFile(join(directory, '.well-known', 'openid-configuration'), 'utf8'),
    ),
    jwks: JSON.parse(await readFile(join(directory, 'jwks.json'), 'utf8')),
  });
  const fromS3 = () => {
    const read = (key: string) => {
      const object = aws.getObject('aws', 'acme-oidc', key);
      expect(object, `s3://acme-oidc/${key} was not written`).toBeDefined();
      expect(object?.contentType).toBe('application/json');
      return JSON.parse(String(object?.body));
    };
    return {
      discovery: read('acme/.well-known/openid-configuration'),
      jwks: read('acme/jwks.json'),
    };
  };
  const kidsOf = (jwks: { keys: { kid: string }[] }) => jwks.keys.map((k) => k.kid).sort();

  it('writes the documents at start-up to the directory and to S3, and reports the failed target', async () => {
    await createOidcRotation(h.services).runOnce();
    const served = await h.anonymous.request('GET', '/oidc/jwks.json');
    expectStatus(served, 200);
    for (const copy of [await fromDirectory(), fromS3()]) {
      expect(copy.discovery).toMatchObject({
        issuer: ISSUER,
        jwks_uri: `${ISSUER}/jwks.json`,
        id_token_signing_alg_values_supported: ['ES256'],
      });
      expect(copy.jwks).toEqual(served.body);
    }
    // Written whole through a temporary file: nothing is left beside the documents.
    expect((await readdir(directory)).sort()).toEqual(['.well-known', 'jwks.json']);
    expect(await readdir(join(directory, '.well-known'))).toEqual(['openid-configuration']);

    const operator = await h.operator();
    const status = await operator.request('GET', '/v1/oidc');
    expectStatus(status, 200);
    expect(status.body).toMatchObject({ offered: true, issuer: ISSUER, unavailableReason: null });
    expect(status.body.publish).toEqual([
      { target: `dir:${directory}`, lastResult: { at: expect.any(String), ok: true, error: null } },
      {
        target: 's3://acme-oidc/acme',
        lastResult: { at: expect.any(String), ok: true, error: null },
      },
      {
        target: 's3://no-such-bucket/acme',
        lastResult: {
          at: expect.any(String),
          ok: false,
          error: expect.stringContaining('does not exist'),
        },
      },
    ]);
    expect(warnings).toContainEqual({
      details: { target: 's3://no-such-bucket/acme', error: expect.any(String) },
      message: expect.stringContaining('publishing the OpenID Connect documents failed'),
    });
    // The log says which target failed and why, never with the credentials that wrote.
    expect(JSON.stringify(warnings)).not.toContain(writerSecret);
    expect(JSON.stringify(status.body)).not.toContain(writerSecret);
  });

  it('publishes again after a rotation: the new key is in every copy before it signs', async () => {
    const operator = await h.operator();
    const rotated = await operator.request('POST', '/v1/oidc/keys/rotate', {});
    expectStatus(rotated, 201);
    expect(rotated.body.state).toBe('next');
    for (const copy of [await fromDirectory(), fromS3()]) {
      expect(kidsOf(copy.jwks)).toContain(rotated.body.kid);
      expect(kidsOf(copy.jwks)).toHaveLength(2);
    }
    // A pass with nothing changed writes nothing new; the served JWKS and the copies agree.
    await createOidcRotation(h.services).runOnce();
    const served = await h.anonymous.request('GET', '/oidc/jwks.json');
    expect((await fromDirectory()).jwks).toEqual(served.body);
    expect(fromS3().jwks).toEqual(served.body);
  });
});
