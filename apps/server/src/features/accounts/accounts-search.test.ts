import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DIALECTS } from '../../testing/databases.ts';
import {
  createHarness,
  expectProblem,
  expectStatus,
  type Harness,
  type TestTenant,
} from '../../testing/harness.ts';

describe.each(TEST_DIALECTS)('searching the accounts list on %s', (dialect) => {
  let h: Harness;
  let a: TestTenant;
  let b: TestTenant;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    h = await createHarness(dialect);
    a = await h.tenant();
    b = await h.tenant();
    // Three accounts whose AWS account IDs share a prefix, one in another tenant with the same ID.
    for (const [tenant, name, awsAccountId] of [
      [a, 'Production', '123456789012'],
      [a, 'Staging', '123456789013'],
      [a, 'Sandbox', '210987654321'],
      [b, 'Theirs', '123456789012'],
    ] as const) {
      const keys = h.aws.addUser('aws', awsAccountId);
      const response = await tenant.admin.request('POST', '/v1/accounts', {
        method: 'access_keys',
        name,
        partition: 'aws',
        ...keys,
      });
      expectStatus(response, 201);
      ids[name] = response.body.id;
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  const search = async (query: string) => {
    const response = await a.viewer.request('GET', `/v1/accounts?${query}`);
    expectStatus(response, 200);
    return (response.body.accounts as { name: string }[]).map((x) => x.name).sort();
  };

  it('matches the whole AWS account ID, only in the caller’s tenant', async () => {
    expect(await search('q=123456789012')).toEqual(['Production']);
  });

  it('matches part of the AWS account ID, and the ID as the AWS console writes it', async () => {
    expect(await search('q=1234567890')).toEqual(['Production', 'Staging']);
    expect(await search('q=1234-5678-9013')).toEqual(['Staging']);
    expect(await search(`q=${encodeURIComponent(' 2109 8765 4321 ')}`)).toEqual(['Sandbox']);
  });

  it('still matches names, ignoring case, and combines with the filters', async () => {
    expect(await search('q=sTaG')).toEqual(['Staging']);
    expect(await search('q=1234&partition=aws&method=access_keys')).toEqual([
      'Production',
      'Staging',
    ]);
    expect(await search('q=1234&partition=aws-us-gov')).toEqual([]);
    // A dash alone is no account ID: it does not match everything.
    expect(await search('q=-')).toEqual([]);
    // LIKE's wildcards match themselves.
    expect(await search('q=%25')).toEqual([]);
  });

  it('pages through the matches', async () => {
    const first = await a.admin.request('GET', '/v1/accounts?q=12345&limit=1');
    expectStatus(first, 200);
    expect(first.body.accounts).toHaveLength(1);
    expect(first.body.next).toEqual(expect.any(String));
    const second = await a.admin.request(
      'GET',
      `/v1/accounts?q=12345&limit=1&cursor=${encodeURIComponent(first.body.next)}`,
    );
    expectStatus(second, 200);
    expect(second.body.accounts).toHaveLength(1);
    const names = [...first.body.accounts, ...second.body.accounts].map(
      (x: { name: string }) => x.name,
    );
    expect(names.sort()).toEqual(['Production', 'Staging']);
    const third = await a.admin.request(
      'GET',
      `/v1/accounts?q=12345&limit=1&cursor=${encodeURIComponent(second.body.next ?? '')}`,
    );
    if (second.body.next) expect(third.body.accounts).toEqual([]);
    else expect(second.body.next).toBeNull();
  });

  it('refuses an over-long search, naming q', async () => {
    expectProblem(await a.admin.request('GET', `/v1/accounts?q=${'1'.repeat(101)}`), 400, 'q');
  });
});
