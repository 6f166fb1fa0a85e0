/**
 * Keyless roles (`oidc_role`) on the wire: the real SDK adapter against the loopback AWS, whose STS
 * fetches Onramp's discovery document and JWKS from this test's Onramp (routeIssuer), on SQLite and
 * PostgreSQL, in the three partitions, with no hub identity anywhere. A role is made the three ways a
 * tenant makes one — the CloudFormation Onramp renders (deployed by the loopback's deployStack, then
 * the stack's call-back sent as its custom resource would, or the role ARN pasted), the Terraform
 * (no terraform binary here: the file is checked to name what the CloudFormation names, and exactly
 * that is created with the IAM SDK) and the manual steps (read from the API and performed with the IAM
 * SDK) — and each connects and passes its checks. A second connection into the same AWS account takes
 * the existing provider; a key rotation keeps every connection working.
 */
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ACCOUNT_ID_PLACEHOLDER, type PartitionId } from '@onramp/core';
import { deployStack, type LoopbackAws, startLoopbackAws } from '@onramp/loopback-aws';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSdkAwsGateway } from '../../adapters/aws/sdk-aws-gateway.ts';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  type Actor,
  createHarness,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';
import { STACK_DELETED_MESSAGE } from '../callbacks/callbacks-service.ts';

const PUBLIC_URL = 'https://onramp.example.test';
const ISSUER = `${PUBLIC_URL}/oidc`;
const PREFIX = 'onramp.example.test/oidc';
const PARTITIONS: PartitionId[] = ['aws', 'aws-us-gov', 'aws-cn'];
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
const MINUTE = 60_000;
/** Short periods, so a rotation's whole life fits in a test: the clock is moved, not waited for. */
const PRE_PUBLICATION = 2 * MINUTE;
const TOKEN_LIFETIME = 5 * MINUTE;
const ALLOW_ALL = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
};

let accountSeq = 0;
const newAwsAccount = () =>
  `5${String(Date.now() % 1e9).padStart(9, '0')}${(accountSeq++ % 90) + 10}`;

describe.each(TEST_DIALECTS)('keyless roles on the loopback AWS, on %s', (dialect) => {
  let aws: LoopbackAws;
  let h: Harness;
  let tenant: TestTenant;
  let operator: Actor;
  /** The platform's service token, which vends credentials. */
  let vendor: Actor;
  /** Onramp's clock; the loopback's is kept with it, so tokens are as fresh to AWS as to Onramp. */
  let now = Date.now();
  const advance = (ms: number) => {
    now += ms;
    aws.setClockOffset(now - Date.now());
  };
  /** Every keyless account connected below: the rotation must keep each one working. */
  const connected: string[] = [];

  beforeAll(async () => {
    aws = await startLoopbackAws();
    // No hub in any partition: a keyless role needs none, and Onramp holds no AWS keys at all.
    const gateway = createSdkAwsGateway({ hubs: {}, endpoint: aws.url, maxAttempts: 2 });
    h = await createHarness(dialect, {
      aws: gateway,
      hubs: {},
      publicUrl: PUBLIC_URL,
      clock: () => new Date(now),
      oidc: { prePublicationMs: PRE_PUBLICATION, tokenLifetimeMs: TOKEN_LIFETIME },
    });
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    aws.routeIssuer(PUBLIC_URL, address);
    tenant = await h.tenant();
    operator = await h.operator();
    vendor = await tenant.token(['credentials:vend']);
  });
  afterAll(async () => {
    await h?.close();
    await aws?.stop();
  });

  /** A customer's AWS account, with an administrator whose keys the "customer" uses in IAM. */
  function customerAccount(partition: PartitionId) {
    const accountId = newAwsAccount();
    aws.createAccount(partition, accountId);
    const admin = aws.createUser(partition, accountId, 'admin', { policies: [ALLOW_ALL] });
    const iam = new IAMClient({
      region: REGION[partition],
      endpoint: aws.url,
      credentials: { accessKeyId: admin.accessKeyId, secretAccessKey: admin.secretAccessKey },
      maxAttempts: 1,
    });
    return { accountId, iam, partition };
  }

  async function createConnection(partition: PartitionId, name: string) {
    const response = await tenant.admin.request('POST', '/v1/connections', {
      // Accounts take their connection's name, unique in a tenant.
      name: `${name} (${partition})`,
      partition,
      method: 'oidc_role',
    });
    expectStatus(response, 201);
    expect(response.body.webIdentity).toMatchObject({
      issuer: ISSUER,
      audience: AUDIENCE[partition],
      conditionPrefix: PREFIX,
    });
    return response.body as {
      id: string;
      webIdentity: { subject: string };
      links: Record<string, string>;
    };
  }

  async function cloudFormation(connectionId: string, format: 'yaml' | 'json' = 'yaml') {
    const response = await tenant.admin.request(
      'GET',
      `/v1/connections/${connectionId}/cloudformation?format=${format}`,
    );
    expectStatus(response, 200);
    return response.text;
  }

  /** A check of the account passes (AssumeRoleWithWebIdentity and the rest), and it vends. */
  async function expectWorking(accountId: string) {
    const check = await tenant.admin.request('POST', `/v1/accounts/${accountId}/check`);
    expectStatus(check, 200);
    const account = await tenant.admin.request('GET', `/v1/accounts/${accountId}`);
    expect(account.body.status, JSON.stringify(check.body)).toBe('valid');
    const vended = await vendor.request('POST', `/v1/accounts/${accountId}/credentials`, {});
    expectStatus(vended, 200);
  }

  /**
   * Creates a role as CreateRole would. The loopback's IAM serves the calls Onramp makes and the
   * OIDC provider calls, not CreateRole or CreatePolicy, so those two go through its own interface
   * (the same IAM state); the provider and the attachments go through the real IAM SDK.
   */
  function createRole(partition: PartitionId, accountId: string, name: string, trust: unknown) {
    return aws.createRole(partition, accountId, {
      roleName: name,
      trustPolicy: trust as never,
      maxSessionDuration: 43200,
    }).arn;
  }

  /** Creates the connection's policies and attaches them to the role, as a person or Terraform would. */
  async function attachPolicies(
    customer: { accountId: string; iam: IAMClient; partition: PartitionId },
    roleName: string,
    policies: { name: string; document: unknown }[],
  ): Promise<void> {
    for (const policy of policies) {
      const created = aws.createManagedPolicy(customer.partition, customer.accountId, {
        name: policy.name,
        document: policy.document as never,
      });
      await customer.iam.send(
        new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: created.arn }),
      );
    }
  }

  /** Connects a role that exists in AWS by pasting its ARN, as the wizard's last step does. */
  async function paste(connectionId: string, roleArn: string) {
    const response = await tenant.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId,
      roleArn,
    });
    expectStatus(response, 201);
    expect(response.body).toMatchObject({
      method: 'oidc_role',
      roleOrigin: 'pasted_arn',
      connectionId,
    });
    connected.push(response.body.id);
    return response.body.id as string;
  }

  describe.each(PARTITIONS)('in %s', (partition) => {
    it('connects from the CloudFormation, reported by the stack’s call-back', async () => {
      const customer = customerAccount(partition);
      const connection = await createConnection(partition, 'From the stack');
      const template = await cloudFormation(connection.id);
      const stack = await deployStack(aws, {
        partition,
        accountId: customer.accountId,
        template,
      });
      const callback = stack.customResources[0];
      expect(callback, 'the template carries the call-back').toBeDefined();
      const props = callback?.properties as {
        CallbackUrl: string;
        Token: string;
        RoleArn: string;
        StackId?: string;
      };
      expect(props.CallbackUrl).toBe(`${PUBLIC_URL}/v1/callbacks/cloudformation`);
      const reported = await h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
        requestType: 'Create',
        token: props.Token,
        roleArn: props.RoleArn,
        stackId: `arn:${partition}:cloudformation:${REGION[partition]}:${customer.accountId}:stack/onramp-x/1`,
      });
      expectStatus(reported, 200);
      const account = await tenant.admin.request('GET', `/v1/accounts/${reported.body.accountId}`);
      expect(account.body).toMatchObject({
        method: 'oidc_role',
        status: 'valid',
        roleOrigin: 'stack_callback',
        connectionId: connection.id,
        webIdentity: { subject: connection.webIdentity.subject },
      });
      connected.push(reported.body.accountId);
      await expectWorking(reported.body.accountId);
      // The stack retried (CloudFormation may send Create again) gets the same account.
      const retried = await h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
        requestType: 'Create',
        token: props.Token,
        roleArn: props.RoleArn,
        stackId: `arn:${partition}:cloudformation:${REGION[partition]}:${customer.accountId}:stack/onramp-x/1`,
      });
      expectStatus(retried, 200);
      expect(retried.body.accountId).toBe(reported.body.accountId);
    });

    it('connects from the CloudFormation with the role ARN pasted, and a second connection takes the existing provider', async () => {
      const customer = customerAccount(partition);
      const first = await createConnection(partition, 'Pasted first');
      const second = await createConnection(partition, 'Pasted second');
      const deployed = await deployStack(aws, {
        partition,
        accountId: customer.accountId,
        template: await cloudFormation(first.id, 'json'),
      });
      const providers = await customer.iam.send(new ListOpenIDConnectProvidersCommand({}));
      const providerArn = `arn:${partition}:iam::${customer.accountId}:oidc-provider/${PREFIX}`;
      expect(providers.OpenIDConnectProviderList?.map((p) => p.Arn)).toEqual([providerArn]);
      // Only one provider per URL per account: the second stack is given the first one's.
      const again = await deployStack(aws, {
        partition,
        accountId: customer.accountId,
        template: await cloudFormation(second.id),
        parameters: { ExistingOidcProviderArn: providerArn },
      });
      const stillOne = await customer.iam.send(new ListOpenIDConnectProvidersCommand({}));
      expect(stillOne.OpenIDConnectProviderList).toHaveLength(1);
      const accounts = [
        await paste(first.id, deployed.outputs.RoleArn as string),
        await paste(second.id, again.outputs.RoleArn as string),
      ];
      // Both work: each role trusts its own connection's subject through the one provider.
      for (const id of accounts) await expectWorking(id);
    });

    it('updates a keyless account’s permissions through its stack, leaving the provider as the stack has it', async () => {
      const customer = customerAccount(partition);
      const first = await createConnection(partition, 'Update first');
      const second = await createConnection(partition, 'Update second');
      for (const c of [first, second]) {
        const chosen = await tenant.admin.request('PATCH', `/v1/connections/${c.id}`, {
          setupMethod: 'cloudformation',
        });
        expectStatus(chosen, 200);
      }
      const providerArn = `arn:${partition}:iam::${customer.accountId}:oidc-provider/${PREFIX}`;
      deployStack(aws, {
        partition,
        accountId: customer.accountId,
        template: await cloudFormation(first.id),
      });
      const stack = deployStack(aws, {
        partition,
        accountId: customer.accountId,
        template: await cloudFormation(second.id),
        parameters: { ExistingOidcProviderArn: providerArn },
      });
      const accountId = await paste(second.id, stack.outputs.RoleArn as string);
      const stackBundles = (await tenant.admin.request('GET', `/v1/accounts/${accountId}`)).body
        .bundles as string[];
      const more = await tenant.admin.request('PATCH', `/v1/accounts/${accountId}`, {
        bundles: 'all',
      });
      expectStatus(more, 200);
      const update = await tenant.admin.request(
        'POST',
        `/v1/accounts/${accountId}/permissions/update`,
      );
      expectStatus(update, 200);
      const body = update.body as {
        madeWith: string;
        changes: { add: string[] }[];
        policies: { name: string; document: unknown }[];
        cloudFormation: { template: string; deployCommand: string; changeSetCommand: string };
        steps: { detail: string }[];
      };
      expect(body.madeWith).toBe('cloudformation');
      // Where the partition's defaults are all its bundles already, there is nothing to add.
      const grew = (more.body.bundles as string[]).length > stackBundles.length;
      expect(body.changes.some((change) => change.add.length > 0)).toBe(grew);
      // The same keyless stack: its provider (created only when the parameter is empty) and role.
      expect(body.cloudFormation.template).toContain('AWS::IAM::OIDCProvider');
      expect(body.cloudFormation.template).toContain(second.webIdentity.subject);
      // `deploy` keeps a parameter it is not given; the change set must say so itself.
      expect(body.cloudFormation.deployCommand).not.toContain('ExistingOidcProviderArn');
      expect(body.cloudFormation.deployCommand).toContain(
        `RoleName=OnrampRole-${second.id.slice(-8)}`,
      );
      expect(body.cloudFormation.changeSetCommand).toContain(
        'ParameterKey=ExistingOidcProviderArn,UsePreviousValue=true',
      );
      expect(body.steps.map((step) => step.detail).join(' ')).toContain('ExistingOidcProviderArn');
      // Applied as the stack update would: the role's managed policies get their new versions.
      const roleArn = stack.outputs.RoleArn as string;
      for (const policy of body.policies) {
        const arn = `arn:${partition}:iam::${customer.accountId}:policy/${policy.name}`;
        try {
          aws.updateManagedPolicy(partition, arn, policy.document as never);
        } catch {
          aws.createManagedPolicy(partition, customer.accountId, {
            name: policy.name,
            document: policy.document as never,
          });
          aws.attachPolicy(partition, roleArn, arn);
        }
      }
      const verified = await tenant.admin.request(
        'POST',
        `/v1/accounts/${accountId}/permissions/verify`,
      );
      expectStatus(verified, 200);
      expect(verified.body.account).toMatchObject({ status: 'valid', method: 'oidc_role' });
      // The verified account shows what its role trusts, as every other view of it does.
      expect(verified.body.account.webIdentity?.subject).toBe(second.webIdentity.subject);
      // Still the one provider the first stack made, trusted by both roles.
      const providers = await customer.iam.send(new ListOpenIDConnectProvidersCommand({}));
      expect(providers.OpenIDConnectProviderList?.map((p) => p.Arn)).toEqual([providerArn]);
    });

    it('connects from the Terraform: the resources it names, created with the IAM SDK', async () => {
      const customer = customerAccount(partition);
      const connection = await createConnection(partition, 'From Terraform');
      const chosen = await tenant.admin.request('PATCH', `/v1/connections/${connection.id}`, {
        setupMethod: 'terraform',
      });
      expectStatus(chosen, 200);
      const tf = await tenant.admin.request('GET', `/v1/connections/${connection.id}/terraform`);
      expectStatus(tf, 200);
      const steps = await tenant.admin.request('GET', `/v1/connections/${connection.id}/steps`);
      const policies = steps.body.policies as { name: string; document: unknown }[];
      const cfn = JSON.parse(await cloudFormation(connection.id, 'json')) as {
        Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
      };
      const cfnProvider = Object.values(cfn.Resources).find(
        (r) => r.Type === 'AWS::IAM::OIDCProvider',
      );
      const subject = connection.webIdentity.subject;
      // No terraform binary offline: the file must name what the CloudFormation names.
      expect(cfnProvider?.Properties).toMatchObject({
        Url: ISSUER,
        ClientIdList: [AUDIENCE[partition]],
      });
      const hcl = tf.text;
      expect(hcl).toContain(`url = "${ISSUER}"`);
      expect(hcl).toMatch(
        new RegExp(
          `client_id_list = \\[\\s*"${AUDIENCE[partition].replace(/\./g, '\\.')}",?\\s*\\]`,
        ),
      );
      expect(hcl).toContain(`"${PREFIX}:aud" = "${AUDIENCE[partition]}"`);
      expect(hcl).toContain(`"${PREFIX}:sub" = "${subject}"`);
      expect(hcl).toContain('"sts:AssumeRoleWithWebIdentity"');
      expect(hcl).toContain('max_session_duration = 43200');
      const roleName = `OnrampRole-${connection.id.slice(-8)}`;
      expect(hcl).toContain(`default     = "${roleName}"`);
      for (const policy of policies) {
        const suffix = policy.name.slice(roleName.length);
        expect(hcl).toContain(`name        = "\${var.role_name}${suffix}"`);
      }
      // Then exactly that, as terraform apply would create it.
      const provider = await customer.iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: ISSUER,
          ClientIDList: [AUDIENCE[partition]],
        }),
      );
      const role = createRole(partition, customer.accountId, roleName, {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: provider.OpenIDConnectProviderArn },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                [`${PREFIX}:aud`]: AUDIENCE[partition],
                [`${PREFIX}:sub`]: subject,
              },
            },
          },
        ],
      });
      await attachPolicies(customer, roleName, policies);
      const id = await paste(connection.id, role);
      await expectWorking(id);
      // Its permission update is the same file, applied with the same provider variable.
      const update = await tenant.admin.request('POST', `/v1/accounts/${id}/permissions/update`);
      expectStatus(update, 200);
      expect(update.body.madeWith).toBe('terraform');
      expect(update.body.terraform.file).toContain(`"${PREFIX}:sub" = "${subject}"`);
      expect(update.body.terraform.file).toContain('variable "existing_oidc_provider_arn"');
      expect(update.body.steps[0].detail).toContain('existing_oidc_provider_arn');
    });

    it('connects from the manual steps, performed with the IAM SDK', async () => {
      const customer = customerAccount(partition);
      const connection = await createConnection(partition, 'By hand');
      const response = await tenant.admin.request('GET', `/v1/connections/${connection.id}/steps`);
      expectStatus(response, 200);
      const steps = response.body.steps as {
        title: string;
        values: { label: string; value: string }[];
      }[];
      const value = (label: string) => {
        const found = steps.flatMap((s) => s.values).find((v) => v.label === label);
        expect(found, `a step gives ${label}`).toBeDefined();
        return found?.value as string;
      };
      await customer.iam.send(
        new CreateOpenIDConnectProviderCommand({
          Url: value('Provider URL'),
          ClientIDList: [value('Audience')],
        }),
      );
      const trust = value('Trust policy').replaceAll(ACCOUNT_ID_PLACEHOLDER, customer.accountId);
      const roleName = value('Role name');
      expect(value('Maximum session duration')).toBe('12 hours');
      const role = createRole(partition, customer.accountId, roleName, JSON.parse(trust));
      await attachPolicies(customer, roleName, response.body.policies);
      const id = await paste(connection.id, role);
      await expectWorking(id);
    });
  });

  it('refuses another tenant’s role, a viewer, a stranger’s connection, and answers a repeated call-back once', async () => {
    const partition: PartitionId = 'aws';
    const customer = customerAccount(partition);
    const mine = await createConnection(partition, 'Mine');
    // Without a hub, a method change to `role` is refused and the set-up stays as it was.
    const back = await tenant.admin.request('PATCH', `/v1/connections/${mine.id}`, {
      method: 'role',
    });
    expect(back.status).toBe(422);
    const reloaded = await tenant.admin.request('GET', `/v1/connections/${mine.id}`);
    expect(reloaded.body).toMatchObject({ method: 'oidc_role', webIdentity: mine.webIdentity });
    const stack = deployStack(aws, {
      partition,
      accountId: customer.accountId,
      template: await cloudFormation(mine.id),
    });
    const roleArn = stack.outputs.RoleArn as string;

    // Another tenant, with a keyless connection of its own, pastes this tenant's role: the role
    // trusts only this connection's subject, so AWS refuses the other tenant's token.
    const other = await h.tenant();
    const theirs = await other.admin.request('POST', '/v1/connections', {
      name: 'Theirs',
      partition,
      method: 'oidc_role',
    });
    expectStatus(theirs, 201);
    const stolen = await other.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: theirs.body.id,
      roleArn,
    });
    expect(stolen.status, stolen.text).toBe(422);
    expect((stolen.body.errors as { field: string }[]).map((e) => e.field)).toContain('roleArn');
    // Nor may it name this tenant's connection, and a viewer may connect nothing.
    const foreign = await other.admin.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: mine.id,
      roleArn,
    });
    expect(foreign.status).toBe(404);
    const viewer = await tenant.viewer.request('POST', '/v1/accounts', {
      method: 'oidc_role',
      connectionId: mine.id,
      roleArn,
    });
    expect(viewer.status).toBe(403);

    // The stack's custom resource retried at once (CloudFormation may): one account, one answer.
    const props = stack.customResources[0]?.properties as { Token: string; RoleArn: string };
    const stackId = `arn:${partition}:cloudformation:us-east-1:${customer.accountId}:stack/onramp-mine/1`;
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
          requestType: 'Create',
          token: props.Token,
          roleArn: props.RoleArn,
          stackId,
        }),
      ),
    );
    const ids = new Set(answers.map((a) => (a.status === 200 ? a.body.accountId : a.status)));
    expect([...ids]).toHaveLength(1);
    const [accountId] = [...ids];
    expect(accountId).toMatch(/^acct_/);
    connected.push(accountId);
    await expectWorking(accountId);
    // The token, once used, cannot connect a second role.
    const replayed = await h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
      requestType: 'Create',
      token: props.Token,
      roleArn: roleArn.replace(/role\/.*/, 'role/SomethingElse'),
      stackId,
    });
    expect(replayed.status).toBe(404);
  });

  it('follows a keyless stack through its Update and Delete call-backs, as a role’s', async () => {
    const partition: PartitionId = 'aws-us-gov';
    const customer = customerAccount(partition);
    const connection = await createConnection(partition, 'Stack life');
    const stack = deployStack(aws, {
      partition,
      accountId: customer.accountId,
      template: await cloudFormation(connection.id),
    });
    const props = stack.customResources[0]?.properties as { Token: string; RoleArn: string };
    const stackId = `arn:${partition}:cloudformation:us-gov-west-1:${customer.accountId}:stack/onramp-life/1`;
    const send = (requestType: string) =>
      h.anonymous.request('POST', '/v1/callbacks/cloudformation', {
        requestType,
        token: props.Token,
        roleArn: props.RoleArn,
        stackId,
      });
    const created = await send('Create');
    expectStatus(created, 200);
    const accountId = created.body.accountId as string;
    const updated = await send('Update');
    expectStatus(updated, 200);
    expect(updated.body.accountId).toBe(accountId);
    const checks = await tenant.admin.request('GET', `/v1/accounts/${accountId}/checks`);
    expect(checks.body.checks.length).toBeGreaterThanOrEqual(2);
    const deleted = await send('Delete');
    expectStatus(deleted, 200);
    const account = await tenant.admin.request('GET', `/v1/accounts/${accountId}`);
    expect(account.body).toMatchObject({ method: 'oidc_role', status: 'invalid' });
    const after = await tenant.admin.request('GET', `/v1/accounts/${accountId}/checks`);
    expect(JSON.stringify(after.body.checks[0])).toContain(STACK_DELETED_MESSAGE);
  });

  it('keeps every keyless connection working across a key rotation', async () => {
    expect(connected.length).toBeGreaterThanOrEqual(PARTITIONS.length * 4);
    const kids = async () => {
      const jwks = await h.anonymous.request('GET', '/oidc/jwks.json');
      return (jwks.body.keys as { kid: string }[]).map((k) => k.kid);
    };
    const checkAll = async () => {
      for (const id of connected) await expectWorking(id);
    };
    const before = await kids();
    await checkAll();
    const rotated = await operator.request('POST', '/v1/oidc/keys/rotate', {});
    expectStatus(rotated, 201);
    const next = rotated.body.kid as string;
    // The next key is published before it signs: AWS may fetch the JWKS at any time.
    expect(await kids()).toEqual(expect.arrayContaining([...before, next]));
    await checkAll();
    // A token the old key signs just before the switch, for one of the roles.
    const sample = (await tenant.admin.request('GET', `/v1/accounts/${connected[0]}`)).body as {
      partition: PartitionId;
      roleArn: string;
      webIdentity: { subject: string; audience: string };
    };
    const oldToken = await h.services.webIdentity.mint({
      subject: sample.webIdentity.subject,
      audience: sample.webIdentity.audience,
    });
    expect(decodeProtectedHeader(oldToken).kid).toBe(before[0]);
    advance(PRE_PUBLICATION + 1_000);
    // The overlap: the new key signs, the old one stays published until its tokens have expired,
    // so a token it signed is still taken by AWS.
    expect(await kids()).toEqual(expect.arrayContaining([...before, next]));
    const fresh = await h.services.webIdentity.mint({
      subject: sample.webIdentity.subject,
      audience: sample.webIdentity.audience,
    });
    expect(decodeProtectedHeader(fresh).kid).toBe(next);
    const sts = new STSClient({
      region: REGION[sample.partition],
      endpoint: aws.url,
      maxAttempts: 1,
    });
    for (const token of [oldToken, fresh]) {
      const session = await sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: sample.roleArn,
          RoleSessionName: 'rotation',
          WebIdentityToken: token,
        }),
      );
      expect(session.Credentials?.AccessKeyId).toBeTruthy();
    }
    await checkAll();
    advance(TOKEN_LIFETIME + 5 * MINUTE + 1_000);
    expect(await kids()).toEqual([next]);
    await checkAll();
  });
});
