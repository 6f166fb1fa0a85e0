/**
 * Whether a stack made from a connection's template reports its role back by itself: only when
 * Onramp has a public URL for the call-back. The console waits for the stack only then.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import { createHarness, expectStatus, type Harness } from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)(
  'a connection says whether its stack reports back, on %s',
  (dialect) => {
    const harnesses: Harness[] = [];
    afterAll(async () => {
      await Promise.all(harnesses.map((h) => h.close()));
    });

    it('reports back only with a public URL, and only while pending', async () => {
      for (const publicUrl of [undefined, 'https://onramp.example.com']) {
        const h = await createHarness(dialect, publicUrl ? { publicUrl } : {});
        harnesses.push(h);
        const tenant = await h.tenant();
        const made = await tenant.admin.request('POST', '/v1/connections', {
          name: 'Stack',
          partition: 'aws',
        });
        expectStatus(made, 201);
        expect(made.body.reportsBack, JSON.stringify(made.body)).toBe(Boolean(publicUrl));
        const template = await tenant.admin.request('GET', made.body.links.cloudformationYaml);
        expect(template.text.includes('Custom::OnrampCallback')).toBe(made.body.reportsBack);

        const roleArn = `arn:aws:iam::${String(Math.floor(Math.random() * 1e12)).padStart(12, '1')}:role/R`;
        h.aws.addRole(roleArn, made.body.externalId);
        expectStatus(
          await tenant.admin.request('POST', '/v1/accounts', {
            method: 'role',
            connectionId: made.body.id,
            roleArn,
          }),
          201,
        );
        const connected = await tenant.admin.request('GET', `/v1/connections/${made.body.id}`);
        expect(connected.body.reportsBack).toBe(false);
      }
    });
  },
);
