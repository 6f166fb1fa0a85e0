/**
 * What an attacker would look for after keyless roles ran: a web identity token or a signing key's
 * private part anywhere a tenant, an operator or a log reader can see it. Everything a keyless account
 * goes through (connected, refused, an unreachable issuer, vending, a console link, a check, a key
 * rotation) with the logger at trace level; then every response, log line and stored row is searched.
 */

import { Writable } from 'node:stream';
import { buildWebIdentityTrustPolicy, type Catalog } from '@onramp/core';
import { type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { LOG_REDACT } from '../../http/logging.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestResponse,
  type TestTenant,
  testCatalog,
} from '../../testing/harness.ts';
import { bundlePolicy } from '../../testing/loopback-world.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';

const ORIGIN = 'https://onramp.example.test';
const ISSUER = `${ORIGIN}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const AUDIENCE = 'sts.amazonaws.com';
/** A compact JWS: three base64url parts, the first a JSON header. */
const JWT = /eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}/;
/** A private JWK's parts (RSA d/p/q/dp/dq/qi; EC d). */
const PRIVATE_JWK = /"(d|p|q|dp|dq|qi)"\s*:\s*"/;

describe.each(TEST_DIALECTS)(
  'no token or private key leaks from keyless roles on %s',
  (dialect) => {
    let aws: LoopbackAws;
    let h: Harness;
    let a: TestTenant;
    let catalog: Catalog;
    let sequence = 0;
    const logLines: string[] = [];
    const seen: string[] = [];
    const keep = (response: TestResponse) => {
      seen.push(response.text, JSON.stringify(response.headers));
      return response;
    };

    beforeAll(async () => {
      aws = await startLoopbackAws();
      catalog = await testCatalog();
      const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
      h = await createHarness(dialect, {
        aws: gateway,
        hubs: {},
        publicUrl: ORIGIN,
        logger: {
          level: 'trace',
          redact: LOG_REDACT,
          stream: new Writable({
            write(chunk, _encoding, done) {
              logLines.push(String(chunk));
              done();
            },
          }),
        },
      });
      const address = (await h.app.listen({ port: 0, host: '127.0.0.1' })) as string;
      aws.routeIssuer(ORIGIN, address);
      a = await h.tenant();
    });
    afterAll(async () => {
      await h?.close();
      await aws?.stop();
    });

    const connect = async (pinned: 'this' | 'another') => {
      const repository = createConnectionsRepository(h.database.db, () => new Date());
      const connection = await repository.create(a.id, {
        name: `Leak ${++sequence}`,
        description: '',
        partition: 'aws',
        bundles: catalog.defaultBundles('aws').map((bundle) => bundle.id),
        regions: [],
        externalId: `onramp-unused-external-id-${sequence}-000000000000`,
        roleName: `OnrampLeak${sequence}`,
        method: 'oidc_role',
      });
      const accountId = String(700000000000 + sequence + Math.floor(Math.random() * 1e6) * 1000);
      aws.createAccount('aws', accountId);
      aws.createOidcProvider('aws', accountId, { url: ISSUER, clientIds: [AUDIENCE] });
      const roleName = `OnrampLeak${sequence}`;
      const role = aws.createRole('aws', accountId, {
        roleName,
        trustPolicy: buildWebIdentityTrustPolicy({
          partition: 'aws',
          providerArn: `arn:aws:iam::${accountId}:oidc-provider/${PREFIX}`,
          conditionPrefix: PREFIX,
          audience: AUDIENCE,
          subject: `tenant:${a.id}:connection:${pinned === 'this' ? connection.id : 'con_someone_else'}`,
        }),
        maxSessionDuration: 43200,
        inlinePolicies: [
          bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'role',
            accountId,
            roleName,
          }),
        ],
      });
      return keep(
        await a.admin.request('POST', '/v1/accounts', {
          method: 'oidc_role',
          connectionId: connection.id,
          roleArn: role.arn,
        }),
      );
    };

    it('shows no token or private key in any response, log line or stored row', async () => {
      const connected = await connect('this');
      expectStatus(connected, 201);
      const id = connected.body.id;
      expectProblem(await connect('another'), 422, 'roleArn');
      aws.injectFault({ kind: 'unreachable', service: 'issuer' });
      keep(await a.admin.request('POST', `/v1/accounts/${id}/check`));
      aws.clearFaults();
      const token = await a.token(['credentials:vend']);
      expectStatus(keep(await token.request('POST', `/v1/accounts/${id}/credentials`, {})), 200);
      expectStatus(keep(await a.admin.request('POST', `/v1/accounts/${id}/console-link`)), 200);
      expectStatus(keep(await a.admin.request('POST', `/v1/accounts/${id}/check`)), 200);
      keep(await a.admin.request('GET', `/v1/accounts/${id}`));
      keep(await a.admin.request('GET', `/v1/connections/${connected.body.connectionId}`));
      const operator = await h.operator();
      keep(await operator.request('GET', '/v1/oidc'));
      expectStatus(
        keep(await operator.request('POST', '/v1/oidc/keys/rotate', { immediate: true })),
        201,
      );
      keep(await h.anonymous.request('GET', '/oidc/jwks.json'));

      // The searches find what they look for: Onramp did mint tokens, and one is a JWT.
      const minted = await h.services.webIdentity.mint({ subject: 's', audience: AUDIENCE });
      expect(minted).toMatch(JWT);
      expect(logLines.length).toBeGreaterThan(10);

      const db = h.database.db;
      const rows = [
        ...(await db.selectFrom('audit_log').selectAll().execute()),
        ...(await db.selectFrom('accounts').selectAll().execute()),
        ...(await db.selectFrom('connections').selectAll().execute()),
        ...(await db.selectFrom('account_checks').selectAll().execute()),
        ...(await db.selectFrom('webhook_deliveries').selectAll().execute()),
        ...(await db.selectFrom('oidc_signing_keys').selectAll().execute()),
      ].map((row) => JSON.stringify(row));
      for (const [where, texts] of [
        ['responses', seen],
        ['logs', logLines],
        ['rows', rows],
      ] as const) {
        for (const text of texts) {
          expect(text, where).not.toMatch(JWT);
          expect(text, where).not.toMatch(PRIVATE_JWK);
        }
      }
    });
  },
);
