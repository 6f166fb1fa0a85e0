import { PARTITION_IDS } from '@onramp/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

const ROUTE = '/v1/catalog/user-template';
const CONSOLE = {
  aws: 'console.aws.amazon.com',
  'aws-us-gov': 'console.amazonaws-us-gov.com',
  'aws-cn': 'console.amazonaws.cn',
};

describe.each(TEST_DIALECTS)('the dedicated user’s template on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(PARTITION_IDS)(
    'renders the user, its policy and the console links in %s',
    async (partition) => {
      const response = await a.admin.request('POST', ROUTE, { partition, bundles: 'default' });
      expectStatus(response, 200);
      const body = response.body;
      expect(body.userName).toBe('acme-cloud-onramp');
      for (const link of Object.values(body.consoleLinks as Record<string, string>)) {
        expect(new URL(link).host).toBe(CONSOLE[partition]);
      }
      // The policy pasted by hand is the partition's own, inspecting only the user itself.
      const policy = JSON.stringify(body.policies);
      expect(policy).toContain(`arn:${partition}:iam::*:user/\${aws:username}`);
      if (partition !== 'aws') expect(policy).not.toContain('arn:aws:');
      const template = parseYaml(body.cloudformation.yaml);
      const types = Object.values(template.Resources as Record<string, { Type: string }>).map(
        (r) => r.Type,
      );
      expect(types.sort()).toEqual(['AWS::IAM::ManagedPolicy', 'AWS::IAM::User']);
      expect(template.Metadata.Onramp.Partition).toBe(partition);
      expect(body.terraform.hcl).toContain('resource "aws_iam_user" "onramp"');
      expect(body.terraform.hcl).toContain(
        `data.aws_partition.current.partition == "${partition}"`,
      );
      expect(body.cloudformation.fileName).toBe(`acme-cloud-onramp-${partition}.yaml`);
      expect(body.steps.map((s: { title: string }) => s.title).at(-1)).toBe(
        'Create its access key',
      );
      // The key is made in the console, never by a template.
      expect(response.text).not.toMatch(/AWS::IAM::AccessKey|aws_iam_access_key/);
    },
  );

  it('follows the selection and the chosen user name', async () => {
    const response = await a.admin.request('POST', ROUTE, {
      partition: 'aws',
      bundles: ['nodes-ec2'],
      regions: ['eu-west-1'],
      userName: 'tutum',
    });
    expectStatus(response, 200);
    expect(response.body).toMatchObject({
      userName: 'tutum',
      bundles: ['nodes-ec2'],
      regions: ['eu-west-1'],
    });
    expect(response.body.policies[0].name).toBe('tutum-permissions-1');
    expect(response.body.cloudformation.yaml).toContain('Default: tutum');
    expect(response.body.cloudformation.yaml).toContain('aws:RequestedRegion');
    expect(response.body.consoleLinks.accessKeys).toContain(
      '#/users/details/tutum?section=security_credentials',
    );
    // A name IAM accepts but a file system may not.
    const odd = await a.admin.request('POST', ROUTE, { partition: 'aws', userName: 'a@b,c' });
    expectStatus(odd, 200);
    expect(odd.body.terraform.fileName).toBe('a-b-c-aws.tf');
  });

  it('refuses hostile and wrong values on their field, never with a 500', async () => {
    for (const userName of [
      'has space',
      '"${file("/etc/passwd")}"',
      'x'.repeat(65),
      'line\nbreak',
      '',
      '../../etc',
    ]) {
      expectProblem(
        await a.admin.request('POST', ROUTE, { partition: 'aws', userName }),
        400,
        'userName',
      );
    }
    expectProblem(await a.admin.request('POST', ROUTE, { partition: 'mars' }), 400, 'partition');
    expectProblem(
      await a.admin.request('POST', ROUTE, { partition: 'aws', bundles: ['nope'] }),
      422,
      'bundles[0]',
    );
    expectProblem(
      await a.admin.request('POST', ROUTE, { partition: 'aws-cn', bundles: ['nodes-ec2'] }),
      422,
      'bundles',
    );
    expectProblem(
      await a.admin.request('POST', ROUTE, { partition: 'aws-us-gov', regions: ['eu-west-1'] }),
      422,
      'regions[0]',
    );
    expectProblem(await a.admin.request('POST', ROUTE, '{"partition":'), 400, 'body');
  });

  it('is for whoever may read the tenant’s accounts, like the policy preview', async () => {
    expectProblem(await h.anonymous.request('POST', ROUTE, { partition: 'aws' }), 401);
    expectStatus(await a.viewer.request('POST', ROUTE, { partition: 'aws' }), 200);
    expectStatus(
      await (await a.token(['accounts:read'])).request('POST', ROUTE, { partition: 'aws' }),
      200,
    );
    expectProblem(
      await (await a.token(['credentials:vend'])).request('POST', ROUTE, { partition: 'aws' }),
      403,
    );
    // Naming another tenant is refused to a tenant's own people; the operator must name one.
    expectProblem(
      await a.admin.request('POST', ROUTE, { partition: 'aws' }, { 'onramp-tenant': b.id }),
      403,
    );
    const operator = await h.operator();
    expectProblem(
      await operator.request('POST', ROUTE, { partition: 'aws' }),
      400,
      'Onramp-Tenant',
    );
    expectStatus(
      await operator.request('POST', ROUTE, { partition: 'aws-us-gov' }, { 'onramp-tenant': b.id }),
      200,
    );
  });
});
