import {
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  OrganizationsClient,
  paginateListAccounts,
} from '@aws-sdk/client-organizations';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type LoopbackAws,
  ORGANIZATIONS_SIGNING_REGION,
  type PartitionId,
  restoreLoopback,
  snapshotLoopback,
  startLoopbackAws,
} from './index.ts';
import { ALLOW_ALL, type ClientCredentials, failure } from './test-support.ts';

const MANAGEMENT = '100000000001';

let aws: LoopbackAws;
beforeEach(async () => {
  aws = await startLoopbackAws();
});
afterEach(async () => {
  await aws.stop();
});

function orgClient(
  credentials: ClientCredentials,
  options: { region?: string; maxAttempts?: number; loopback?: LoopbackAws } = {},
) {
  return new OrganizationsClient({
    region: options.region ?? 'us-east-1',
    endpoint: (options.loopback ?? aws).url,
    credentials,
    maxAttempts: options.maxAttempts ?? 1,
  });
}

const accountId = (n: number) => `2000000${String(n).padStart(5, '0')}`;

/** A management user with Organizations read, in an organization of `count` accounts under the root. */
function organizationWith(count: number, partition: PartitionId = 'aws') {
  const org = aws.createOrganization(partition, { managementAccountId: MANAGEMENT });
  for (let i = 1; i <= count; i++) aws.addOrganizationAccount(org.rootId, accountId(i));
  const admin = aws.createUser(partition, MANAGEMENT, 'admin', { policies: [ALLOW_ALL] });
  return { org, admin };
}

describe('Organizations on the wire (JSON 1.1, SigV4)', () => {
  it('pages through 46 accounts 20 at a time with NextToken, as the SDK paginator reads them', async () => {
    const { org, admin } = organizationWith(45);
    const client = orgClient(admin.credentials);
    const pages: number[] = [];
    const ids: string[] = [];
    for await (const page of paginateListAccounts({ client }, {})) {
      pages.push(page.Accounts?.length ?? 0);
      ids.push(...(page.Accounts ?? []).map((a) => a.Id ?? ''));
    }
    expect(pages).toEqual([20, 20, 6]);
    expect(ids).toEqual([MANAGEMENT, ...Array.from({ length: 45 }, (_, i) => accountId(i + 1))]);
    const first = await client.send(new ListAccountsCommand({ MaxResults: 2 }));
    expect(first.Accounts?.[1]).toEqual({
      Id: accountId(1),
      Arn: `arn:aws:organizations::${MANAGEMENT}:account/${org.id}/${accountId(1)}`,
      Email: `aws+${accountId(1)}@example.test`,
      Name: `account-${accountId(1)}`,
      Status: 'ACTIVE',
      State: 'ACTIVE',
      JoinedMethod: 'CREATED',
      JoinedTimestamp: expect.any(Date),
    });
    expect(
      Math.abs((first.Accounts?.[1]?.JoinedTimestamp?.getTime() ?? 0) - Date.now()),
    ).toBeLessThan(60_000);
    expect(org.id).toMatch(/^o-[a-z0-9]{10}$/);
    expect(org.rootId).toMatch(/^r-[a-z0-9]{4}$/);
  });

  it('walks the tree: roots, nested OUs, accounts per parent, parents, descriptions', async () => {
    const { org, admin } = organizationWith(0);
    const prod = aws.addOrganizationalUnit(org.rootId, 'Prod');
    const web = aws.addOrganizationalUnit(prod, 'Web');
    const sandbox = aws.addOrganizationalUnit(org.rootId, 'Sandbox');
    expect(web).toMatch(new RegExp(`^ou-${org.rootId.slice(2)}-[a-z0-9]{8}$`));
    aws.addOrganizationAccount(prod, accountId(1), { name: 'prod-1', email: 'p1@example.test' });
    aws.addOrganizationAccount(web, accountId(2));
    aws.addOrganizationAccount(sandbox, accountId(3), { joinedMethod: 'INVITED' });
    const client = orgClient(admin.credentials);

    const roots = await client.send(new ListRootsCommand({}));
    expect(roots.Roots).toEqual([
      {
        Id: org.rootId,
        Arn: `arn:aws:organizations::${MANAGEMENT}:root/${org.id}/${org.rootId}`,
        Name: 'Root',
        PolicyTypes: [],
      },
    ]);
    const top = await client.send(
      new ListOrganizationalUnitsForParentCommand({ ParentId: org.rootId }),
    );
    expect(top.OrganizationalUnits?.map((u) => [u.Id, u.Name])).toEqual([
      [prod, 'Prod'],
      [sandbox, 'Sandbox'],
    ]);
    const under = await client.send(
      new ListOrganizationalUnitsForParentCommand({ ParentId: prod }),
    );
    expect(under.OrganizationalUnits?.map((u) => u.Name)).toEqual(['Web']);
    const inRoot = await client.send(new ListAccountsForParentCommand({ ParentId: org.rootId }));
    expect(inRoot.Accounts?.map((a) => a.Id)).toEqual([MANAGEMENT]);
    const inProd = await client.send(new ListAccountsForParentCommand({ ParentId: prod }));
    expect(inProd.Accounts?.map((a) => [a.Id, a.Name, a.Email])).toEqual([
      [accountId(1), 'prod-1', 'p1@example.test'],
    ]);
    const parents = await client.send(new ListParentsCommand({ ChildId: accountId(2) }));
    expect(parents.Parents).toEqual([{ Id: web, Type: 'ORGANIZATIONAL_UNIT' }]);
    const ofUnit = await client.send(new ListParentsCommand({ ChildId: prod }));
    expect(ofUnit.Parents).toEqual([{ Id: org.rootId, Type: 'ROOT' }]);
    const described = await client.send(new DescribeAccountCommand({ AccountId: accountId(3) }));
    expect(described.Account).toMatchObject({ Id: accountId(3), JoinedMethod: 'INVITED' });
    const unit = await client.send(
      new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: web }),
    );
    expect(unit.OrganizationalUnit).toEqual({
      Id: web,
      Arn: `arn:aws:organizations::${MANAGEMENT}:ou/${org.id}/${web}`,
      Name: 'Web',
    });
    const organization = await client.send(new DescribeOrganizationCommand({}));
    expect(organization.Organization).toMatchObject({
      Id: org.id,
      Arn: `arn:aws:organizations::${MANAGEMENT}:organization/${org.id}`,
      FeatureSet: 'ALL',
      MasterAccountId: MANAGEMENT,
      MasterAccountArn: `arn:aws:organizations::${MANAGEMENT}:account/${org.id}/${MANAGEMENT}`,
    });
  });

  it('moves, removes and closes accounts as later calls show them', async () => {
    const { org, admin } = organizationWith(3);
    const unit = aws.addOrganizationalUnit(org.rootId, 'Moved');
    aws.moveAccount(accountId(1), unit);
    aws.removeAccount('aws', accountId(2));
    aws.closeAccount('aws', accountId(3));
    const client = orgClient(admin.credentials);
    const parents = await client.send(new ListParentsCommand({ ChildId: accountId(1) }));
    expect(parents.Parents?.[0]?.Id).toBe(unit);
    const all = await client.send(new ListAccountsCommand({}));
    expect(all.Accounts?.map((a) => [a.Id, a.Status, a.State])).toEqual([
      [MANAGEMENT, 'ACTIVE', 'ACTIVE'],
      [accountId(1), 'ACTIVE', 'ACTIVE'],
      [accountId(3), 'PENDING_CLOSURE', 'PENDING_CLOSURE'],
    ]);
    aws.closeAccount('aws', accountId(3), 'SUSPENDED');
    const closed = await client.send(new DescribeAccountCommand({ AccountId: accountId(3) }));
    expect(closed.Account?.Status).toBe('SUSPENDED');
    // The account that left still exists for IAM and STS, in no organization.
    expect(aws.organizationOf('aws', accountId(2))).toBeUndefined();
    expect(aws.state.existingAccount('aws', accountId(2))).toBeDefined();
    expect(() => aws.removeAccount('aws', MANAGEMENT)).toThrow(/management account/);
    expect(() => aws.addOrganizationAccount(org.rootId, accountId(1))).toThrow(/already/);
  });

  it('a snapshot keeps the organization and its tree', async () => {
    const { org } = organizationWith(2);
    const unit = aws.addOrganizationalUnit(org.rootId, 'Kept');
    aws.moveAccount(accountId(2), unit);
    const text = snapshotLoopback(aws);
    const other = await startLoopbackAws();
    try {
      restoreLoopback(other, text);
      const admin = other.createUser('aws', MANAGEMENT, 'admin2', { policies: [ALLOW_ALL] });
      const client = orgClient(admin.credentials, { loopback: other });
      const listed = await client.send(new ListAccountsForParentCommand({ ParentId: unit }));
      expect(listed.Accounts?.map((a) => a.Id)).toEqual([accountId(2)]);
      expect((await client.send(new DescribeOrganizationCommand({}))).Organization?.Id).toBe(
        org.id,
      );
      // New OUs after a restore keep unique listing order.
      other.addOrganizationAccount(unit, accountId(9));
      const again = await client.send(new ListAccountsForParentCommand({ ParentId: unit }));
      expect(again.Accounts?.map((a) => a.Id)).toEqual([accountId(2), accountId(9)]);
    } finally {
      await other.stop();
    }
  });
});

describe('Organizations errors, as AWS answers them', () => {
  it('a member account may describe its organization but not list it (AccessDeniedException)', async () => {
    const { org } = organizationWith(1);
    const member = aws.createUser('aws', accountId(1), 'member', { policies: [ALLOW_ALL] });
    const client = orgClient(member.credentials);
    const described = await client.send(new DescribeOrganizationCommand({}));
    expect(described.Organization?.Id).toBe(org.id);
    const error = await failure(client.send(new ListAccountsCommand({})));
    expect(error.name).toBe('AccessDeniedException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(error.message).toBe("You don't have permissions to access this resource.");
  });

  it('an account in no organization gets AWSOrganizationsNotInUseException', async () => {
    organizationWith(0);
    const loner = aws.createUser('aws', '300000000001', 'loner', { policies: [ALLOW_ALL] });
    for (const command of [new DescribeOrganizationCommand({}), new ListAccountsCommand({})]) {
      const error = await failure(orgClient(loner.credentials).send(command));
      expect(error.name).toBe('AWSOrganizationsNotInUseException');
    }
  });

  it("the caller's IAM policies are evaluated for organizations:<Action>", async () => {
    organizationWith(1);
    const reader = aws.createUser('aws', MANAGEMENT, 'reader', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'organizations:ListAccounts', Resource: '*' }],
        },
      ],
    });
    const client = orgClient(reader.credentials);
    expect((await client.send(new ListAccountsCommand({}))).Accounts).toHaveLength(2);
    const error = await failure(
      client.send(new DescribeAccountCommand({ AccountId: accountId(1) })),
    );
    expect(error.name).toBe('AccessDeniedException');
    expect(error.message).toContain(`is not authorized to perform: organizations:DescribeAccount`);
    // The account's root user is allowed everything.
    const root = aws.createRootKeys('aws', MANAGEMENT);
    const roots = await orgClient(root.credentials).send(new ListRootsCommand({}));
    expect(roots.Roots).toHaveLength(1);
  });

  it('unknown account, parent, child and OU; malformed IDs', async () => {
    const { org, admin } = organizationWith(1);
    const client = orgClient(admin.credentials);
    const cases: [Promise<unknown>, string, string?][] = [
      [
        client.send(new DescribeAccountCommand({ AccountId: '999999999999' })),
        'AccountNotFoundException',
      ],
      [
        client.send(
          new ListAccountsForParentCommand({ ParentId: `ou-${org.rootId.slice(2)}-zzzzzzzz` }),
        ),
        'ParentNotFoundException',
      ],
      [
        client.send(new ListOrganizationalUnitsForParentCommand({ ParentId: 'r-zzzz' })),
        'ParentNotFoundException',
      ],
      [client.send(new ListParentsCommand({ ChildId: '999999999999' })), 'ChildNotFoundException'],
      [
        client.send(
          new DescribeOrganizationalUnitCommand({
            OrganizationalUnitId: `ou-${org.rootId.slice(2)}-zzzzzzzz`,
          }),
        ),
        'OrganizationalUnitNotFoundException',
      ],
      [
        client.send(new DescribeAccountCommand({ AccountId: '12' })),
        'InvalidInputException',
        'INVALID_PATTERN',
      ],
      [
        client.send(new ListParentsCommand({ ChildId: org.rootId })),
        'InvalidInputException',
        'INVALID_PATTERN',
      ],
    ];
    for (const [call, code, reason] of cases) {
      const error = (await failure(call)) as Awaited<ReturnType<typeof failure>> & {
        Reason?: string;
      };
      expect(error.name, code).toBe(code);
      expect(error.$metadata.httpStatusCode).toBe(400);
      if (reason) expect(error.Reason).toBe(reason);
    }
  });

  it('a forged, edited or foreign NextToken, and MaxResults above 20, are InvalidInputException', async () => {
    const { org, admin } = organizationWith(30);
    const client = orgClient(admin.credentials);
    const first = await client.send(new ListAccountsCommand({ MaxResults: 5 }));
    const token = first.NextToken ?? '';
    expect(token).not.toBe('');
    const second = await client.send(new ListAccountsCommand({ MaxResults: 5, NextToken: token }));
    expect(second.Accounts?.[0]?.Id).toBe(accountId(5));
    const forged = Buffer.from(
      JSON.stringify({ a: 'ListAccounts', o: org.id, s: '', after: 20 }),
    ).toString('base64url');
    const bad = ['not-a-token', `${forged}.${token.split('.')[1]}`, `${token.slice(0, -2)}xx`];
    for (const NextToken of bad) {
      const error = (await failure(client.send(new ListAccountsCommand({ NextToken })))) as Awaited<
        ReturnType<typeof failure>
      > & { Reason?: string };
      expect(error.name).toBe('InvalidInputException');
      expect(error.Reason).toBe('INVALID_NEXT_TOKEN');
    }
    // A token of ListAccounts does not continue ListAccountsForParent.
    const foreign = (await failure(
      client.send(new ListAccountsForParentCommand({ ParentId: org.rootId, NextToken: token })),
    )) as Awaited<ReturnType<typeof failure>> & { Reason?: string };
    expect(foreign.Reason).toBe('INVALID_NEXT_TOKEN');
    const tooMany = (await failure(
      client.send(new ListAccountsCommand({ MaxResults: 21 })),
    )) as Awaited<ReturnType<typeof failure>> & { Reason?: string };
    expect(tooMany.name).toBe('InvalidInputException');
    expect(tooMany.Reason).toBe('MAX_VALUE_EXCEEDED');
  });

  it('refuses a bad signature and an unknown key with the JSON services’ codes', async () => {
    const { admin } = organizationWith(0);
    const wrong = await failure(
      orgClient({ ...admin.credentials, secretAccessKey: 'x'.repeat(40) }).send(
        new ListRootsCommand({}),
      ),
    );
    expect(wrong.name).toBe('InvalidSignatureException');
    const unknown = await failure(
      orgClient({ accessKeyId: 'AKIAUNKNOWNUNKNOWN00', secretAccessKey: 'x'.repeat(40) }).send(
        new ListRootsCommand({}),
      ),
    );
    expect(unknown.name).toBe('UnrecognizedClientException');
  });
});

describe('Organizations faults', () => {
  it('throttling is TooManyRequestsException, which the SDK retries', async () => {
    const { admin } = organizationWith(1);
    aws.throttleNext(1, { service: 'organizations' });
    const retried = await orgClient(admin.credentials, { maxAttempts: 3 }).send(
      new ListRootsCommand({}),
    );
    expect(retried.$metadata.attempts).toBe(2);
    aws.throttleNext(1, { service: 'organizations', action: 'ListAccounts' });
    const error = await failure(orgClient(admin.credentials).send(new ListAccountsCommand({})));
    expect(error.name).toBe('TooManyRequestsException');
    expect(error.$metadata.httpStatusCode).toBe(400);
    expect(
      aws.calls.filter((c) => c.errorCode === 'TooManyRequestsException').map((c) => c.action),
    ).toEqual(['ListRoots', 'ListAccounts']);
  });

  it('a rate limit throttles calls above it, and lets them through once tokens refill', async () => {
    const { admin } = organizationWith(1);
    aws.setRateLimit('organizations', { perSecond: 10, burst: 2 });
    const client = orgClient(admin.credentials);
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => client.send(new ListRootsCommand({}))),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.length - refused.length).toBe(2);
    expect(refused.map((r) => (r as PromiseRejectedResult).reason.name)).toEqual(
      Array(3).fill('TooManyRequestsException'),
    );
    await new Promise((resolve) => setTimeout(resolve, 250));
    await client.send(new ListRootsCommand({}));
    aws.setRateLimit('organizations', undefined);
  });

  it('5xx with a JSON body (ServiceException) or an HTML page; a hung call times out', async () => {
    const { admin } = organizationWith(1);
    aws.failNext(1, { service: 'organizations' });
    const internal = await failure(orgClient(admin.credentials).send(new ListRootsCommand({})));
    expect(internal.name).toBe('ServiceException');
    expect(internal.$fault).toBe('server');
    expect(internal.$metadata.httpStatusCode).toBe(500);
    aws.failNext(1, { service: 'organizations', html: true, status: 502 });
    const html = await failure(orgClient(admin.credentials).send(new ListRootsCommand({})));
    // Unlike the Query services, the JSON protocol's deserializer throws a SyntaxError for an HTML
    // body: only $metadata.httpStatusCode says it was a server error (an adapter must read it).
    expect(html.name).toBe('SyntaxError');
    expect(html.$metadata.httpStatusCode).toBe(502);
    // …and still retries it as a 5xx.
    aws.failNext(2, { service: 'organizations', html: true, status: 503 });
    const retried = await orgClient(admin.credentials, { maxAttempts: 3 }).send(
      new ListRootsCommand({}),
    );
    expect(retried.$metadata.attempts).toBe(3);
    aws.hangNext(1, { service: 'organizations' });
    const hung = new OrganizationsClient({
      region: 'us-east-1',
      endpoint: aws.url,
      credentials: admin.credentials,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: 200, throwOnRequestTimeout: true }),
    });
    const timeout = await failure(hung.send(new ListRootsCommand({})));
    expect(timeout.name).toMatch(/Timeout/);
  });

  it('setLatency delays only the service it names', async () => {
    const { admin } = organizationWith(1);
    aws.setLatency('organizations', 150);
    const client = orgClient(admin.credentials);
    const started = performance.now();
    await client.send(new ListRootsCommand({}));
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    aws.setLatency('organizations', 0);
    const again = performance.now();
    await client.send(new ListRootsCommand({}));
    expect(performance.now() - again).toBeLessThan(120);
  });
});

describe('Organizations in every partition', () => {
  const partitions: [PartitionId, string, string][] = [
    ['aws', 'eu-west-1', 'organizations.us-east-1.amazonaws.com'],
    ['aws-us-gov', 'us-gov-east-1', 'organizations.us-gov-west-1.amazonaws.com'],
    ['aws-cn', 'cn-north-1', 'organizations.cn-northwest-1.amazonaws.com.cn'],
  ];

  it.each(partitions)(
    '%s: the SDK resolves %s to %s, signs for the partition’s Organizations region, and reaches the loopback',
    async (partition, region, host) => {
      const { org, admin } = organizationWith(2, partition);
      const seen: { hostname: string; authorization: string }[] = [];
      // Sends the request the SDK built for AWS's own endpoint to the loopback instead (Host kept).
      const inner = new NodeHttpHandler();
      const redirect = {
        handle: (request: Parameters<NodeHttpHandler['handle']>[0]) => {
          seen.push({
            hostname: request.hostname,
            authorization: String(request.headers.authorization ?? ''),
          });
          const url = new URL(aws.url);
          request.protocol = 'http:';
          request.hostname = url.hostname;
          request.port = Number(url.port);
          return inner.handle(request);
        },
        updateHttpClientConfig: () => {},
        httpHandlerConfigs: () => ({}),
      };
      const client = new OrganizationsClient({
        region,
        credentials: admin.credentials,
        maxAttempts: 1,
        requestHandler: redirect,
      });
      const out = await client.send(new ListAccountsCommand({}));
      expect(out.Accounts).toHaveLength(3);
      expect(out.Accounts?.[0]?.Arn).toBe(
        `arn:${partition}:organizations::${MANAGEMENT}:account/${org.id}/${MANAGEMENT}`,
      );
      expect(seen[0]?.hostname).toBe(host);
      expect(seen[0]?.authorization).toContain(
        `/${ORGANIZATIONS_SIGNING_REGION[partition]}/organizations/aws4_request`,
      );
      expect(aws.calls.at(-1)).toMatchObject({ service: 'organizations', partition, status: 200 });
    },
  );

  it('with a custom endpoint, a request signed for another region is refused; partitions do not mix', async () => {
    const { admin } = organizationWith(1, 'aws');
    const error = await failure(
      orgClient(admin.credentials, { region: 'eu-west-1' }).send(new ListRootsCommand({})),
    );
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toContain("Organizations signs in 'us-east-1'");
    // The commercial organization does not exist for a GovCloud caller of the same account ID.
    const gov = aws.createUser('aws-us-gov', MANAGEMENT, 'admin', { policies: [ALLOW_ALL] });
    const notInUse = await failure(
      orgClient(gov.credentials, { region: 'us-gov-west-1' }).send(new ListRootsCommand({})),
    );
    expect(notInUse.name).toBe('AWSOrganizationsNotInUseException');
    const foreignKey = await failure(
      orgClient(admin.credentials, { region: 'us-gov-west-1' }).send(new ListRootsCommand({})),
    );
    expect(foreignKey.name).toBe('UnrecognizedClientException');
  });
});
