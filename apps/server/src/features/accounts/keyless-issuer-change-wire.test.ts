/**
 * The operator changes ONRAMP_PUBLIC_URL after keyless accounts were connected: Onramp's tokens name
 * a new issuer, which no customer's provider or role trusts. The next check of such an account must
 * say so, with both ways out (the URL back, or the provider and role for the new issuer).
 */

import { buildWebIdentityTrustPolicy } from '@onramp/core';
import { startLoopbackAws } from '@onramp/loopback-aws';
import { describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { createTestDatabase, TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectStatus, testCatalog } from '../../testing/harness.ts';
import { bundlePolicy } from '../../testing/loopback-world.ts';
import { createConnectionsRepository } from '../connections/connections-repository.ts';

const BEFORE = 'https://onramp.example.test';
const AFTER = 'https://onramp-new.example.test';

describe.each(TEST_DIALECTS)('a keyless account after the issuer URL changed on %s', (dialect) => {
  it('is refused on oidcProvider, saying the issuer may have changed and what to do', async () => {
    const aws = await startLoopbackAws();
    const database = await createTestDatabase(dialect);
    try {
      const catalog = await testCatalog();
      const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
      const before = await createHarness(
        dialect,
        { aws: gateway, hubs: {}, publicUrl: BEFORE },
        { database },
      );
      aws.routeIssuer(BEFORE, (await before.app.listen({ port: 0, host: '127.0.0.1' })) as string);
      const tenant = await before.tenant();
      const connection = await createConnectionsRepository(database.db, () => new Date()).create(
        tenant.id,
        {
          name: 'Moved',
          description: '',
          partition: 'aws',
          bundles: catalog.defaultBundles('aws').map((bundle) => bundle.id),
          regions: [],
          externalId: 'onramp-unused-external-id-1-000000000000',
          roleName: 'OnrampMoved',
          method: 'oidc_role',
        },
      );
      const accountId = '777700000001';
      aws.createAccount('aws', accountId);
      aws.createOidcProvider('aws', accountId, {
        url: `${BEFORE}/oidc`,
        clientIds: ['sts.amazonaws.com'],
      });
      const role = aws.createRole('aws', accountId, {
        roleName: 'OnrampMoved',
        trustPolicy: buildWebIdentityTrustPolicy({
          partition: 'aws',
          providerArn: `arn:aws:iam::${accountId}:oidc-provider/onramp.example.test/oidc`,
          conditionPrefix: 'onramp.example.test/oidc',
          audience: 'sts.amazonaws.com',
          subject: `tenant:${tenant.id}:connection:${connection.id}`,
        }),
        maxSessionDuration: 43200,
        inlinePolicies: [
          bundlePolicy(catalog, {
            partition: 'aws',
            bundles: 'default',
            principal: 'role',
            accountId,
            roleName: 'OnrampMoved',
          }),
        ],
      });
      const created = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'oidc_role',
        connectionId: connection.id,
        roleArn: role.arn,
      });
      expectStatus(created, 201);
      await before.app.close();

      // The same database and keyring, restarted with another public URL.
      const after = await createHarness(
        dialect,
        { aws: gateway, hubs: {}, publicUrl: AFTER, envelope: before.deps.envelope },
        { database },
      );
      try {
        aws.routeIssuer(AFTER, (await after.app.listen({ port: 0, host: '127.0.0.1' })) as string);
        const check = await after.send(
          'POST',
          `/v1/accounts/${created.body.id}/check`,
          tenant.admin.headers,
        );
        expectStatus(check, 200);
        expect(check.body.status).toBe('invalid');
        const [error] = check.body.errors;
        expect(error).toMatchObject({ field: 'oidcProvider', code: 'oidc_provider_missing' });
        expect(error.message).toContain(`${AFTER}/oidc`);
        expect(error.message).toContain('issuer URL changed since the account was connected');
        expect(error.hint).toContain('changing it back reconnects every keyless account');
        // The role's new condition, for the new issuer, in full.
        expect(error.hint).toContain(`"onramp-new.example.test/oidc:sub":"tenant:${tenant.id}:`);
      } finally {
        await after.close();
      }
    } finally {
      await database.drop();
      await aws.stop();
    }
  });
});
