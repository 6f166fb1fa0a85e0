/**
 * The compiled evaluator must reach the full simulator's decision wherever it answers at all, and it
 * must answer for the policies Onramp generates (else the benchmarks would measure the simulator).
 */
import { readFileSync } from 'node:fs';
import {
  buildPolicies,
  buildTrustPolicy,
  DEFAULT_CATALOG_URL,
  fillPlaceholders,
  getPartition,
  loadCatalog,
  PARTITION_IDS,
  parseHubPrincipal,
  unwrap,
} from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EvaluationInput, evaluateWithSimulator } from './evaluate.ts';
import { conditionKeysOf, evaluateFast, hasServiceKeys } from './fast-evaluate.ts';
import type { NamedPolicy, PolicyJson } from './state.ts';

const actions = createIamDataActionIndex();
const catalog = await loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), { actions });
const ACCOUNT = '123456789012';
const asJson = (document: object) => JSON.parse(JSON.stringify(document)) as PolicyJson;
const HUB = '111122223333';

async function expand(pattern: string): Promise<string[]> {
  const [service = '', name = ''] = pattern.split(':');
  if (!/[*?]/.test(name)) return [pattern];
  const re = new RegExp(`^${name.replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return ((await actions.actionsOf(service)) ?? [])
    .filter((a) => re.test(a))
    .map((a) => `${service}:${a}`);
}

/** Every action the catalog names, and some it does not (from services it touches and some it does not). */
async function actionPool(): Promise<string[]> {
  const pool = new Set<string>();
  for (const bundle of catalog.bundles.values())
    for (const statement of bundle.statements)
      for (const action of statement.actions) for (const a of await expand(action)) pool.add(a);
  for (const service of ['s3', 'lambda', 'rds', 'iam', 'kms', 'sts'])
    for (const a of ((await actions.actionsOf(service)) ?? []).slice(0, 40))
      pool.add(`${service}:${a}`);
  return [...pool].sort();
}

function identity(policies: PolicyJson[]): NamedPolicy[] {
  return policies.map((policy, i) => ({ name: `p${i}`, sourceType: 'role', policy }));
}

function names(input: EvaluationInput) {
  return new Map(input.identityPolicies.map((p, i) => [`identity-${i + 1}`, p] as const));
}

async function compare(input: EvaluationInput) {
  const keys = hasServiceKeys(input.context) ? await conditionKeysOf(input.action) : undefined;
  const fast = evaluateFast(input, names(input), keys);
  const full = await evaluateWithSimulator(input);
  if (fast) {
    expect(
      { decision: fast.decision, orgs: fast.allowedByOrganizations, explicit: fast.explicit },
      `${input.action} on ${input.resource}`,
    ).toEqual({
      decision: full.decision,
      orgs: full.allowedByOrganizations,
      explicit: full.explicit,
    });
    // Which layer refused only words the error message, where "identity" is the default.
    if (full.decision !== 'Allowed')
      expect(fast.refusedBy ?? 'identity').toBe(full.refusedBy ?? 'identity');
  }
  return fast !== undefined;
}

const pool = await actionPool();
const RESOURCES = [
  '*',
  `arn:aws:iam::${ACCOUNT}:role/OnrampRole`,
  `arn:aws:iam::${ACCOUNT}:role/acme-nodes/onramp-check`,
  `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/onramp-check`,
  `arn:aws:s3:::onramp-check/key`,
];

describe('the compiled evaluator agrees with the simulator', () => {
  it('on every generated policy set, partition and region restriction', async () => {
    let answered = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PARTITION_IDS),
        fc.subarray([0, 1, 2]),
        fc.array(fc.constantFrom(...pool), { minLength: 5, maxLength: 25 }),
        fc.constantFrom(...RESOURCES),
        fc.option(fc.nat(3), { nil: undefined }),
        fc.subarray([...catalog.bundles.keys()], { minLength: 1 }),
        async (partition, regionIndexes, sample, resource, requestedIndex, chosen) => {
          const inPartition = getPartition(partition).regions.map((r) => r.id);
          const regions = [
            ...new Set(regionIndexes.map((i) => inPartition[i % inPartition.length] ?? '')),
          ];
          const requested =
            requestedIndex === undefined
              ? undefined
              : (inPartition[requestedIndex % inPartition.length] ?? 'us-east-1');
          // Only the aws partition lets tenants choose; the others get their defaults.
          const set = buildPolicies(catalog, {
            partition,
            bundles: partition === 'aws' ? chosen : 'default',
            regions,
          });
          const documents = set.policies.map((p) =>
            asJson(
              fillPlaceholders(p.document, {
                partition,
                account_id: ACCOUNT,
                role_path: '/',
                role_name: 'OnrampRole',
              }) as object,
            ),
          );
          for (const action of sample) {
            total += 1;
            const input: EvaluationInput = {
              principal: `arn:${partition}:iam::${ACCOUNT}:role/OnrampRole`,
              action,
              resource: resource.replace('arn:aws:', `arn:${partition}:`),
              resourceAccountId: ACCOUNT,
              identityPolicies: identity(documents),
              context: requested ? { 'aws:RequestedRegion': requested } : {},
            };
            if (await compare(input)) answered += 1;
          }
        },
      ),
      { numRuns: 60, seed: 7 },
    );
    // The point of the compiled evaluator: it must answer for Onramp's own documents.
    expect(answered / total).toBeGreaterThan(0.95);
  }, 120_000);

  it('with SCPs that deny, replace full access or allow only some services', async () => {
    const scpSets: { documents: PolicyJson[]; replaceFullAccess: boolean }[] = [
      {
        documents: [
          {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Deny', Action: 'ec2:RunInstances', Resource: '*' }],
          },
        ],
        replaceFullAccess: false,
      },
      {
        documents: [
          {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: ['ec2:Describe*', 'iam:*'], Resource: '*' }],
          },
        ],
        replaceFullAccess: true,
      },
      {
        documents: [
          {
            Version: '2012-10-17',
            Statement: [
              {
                Effect: 'Deny',
                NotAction: ['iam:*', 'sts:*'],
                Resource: '*',
                Condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1'] } },
              },
            ],
          },
        ],
        replaceFullAccess: false,
      },
    ];
    const set = buildPolicies(catalog, { partition: 'aws', bundles: 'default', regions: [] });
    const documents = set.policies.map((p) =>
      asJson(
        fillPlaceholders(p.document, {
          partition: 'aws',
          account_id: ACCOUNT,
          role_path: '/',
          role_name: 'OnrampRole',
        }) as object,
      ),
    );
    let answered = 0;
    const sample = pool.filter((_, i) => i % 17 === 0);
    for (const scps of scpSets)
      for (const action of sample)
        for (const region of [undefined, 'us-east-1', 'eu-west-1']) {
          const input: EvaluationInput = {
            principal: `arn:aws:iam::${ACCOUNT}:role/OnrampRole`,
            action,
            resource: '*',
            resourceAccountId: ACCOUNT,
            identityPolicies: identity(documents),
            scps,
            context: region ? { 'aws:RequestedRegion': region } : {},
          };
          if (await compare(input)) answered += 1;
        }
    // Where an SCP refuses, the simulator decides; everywhere else the compiled evaluator does.
    expect(answered).toBeGreaterThan((scpSets.length * sample.length * 3) / 2);
  }, 120_000);

  it('on trust policies: the hub with and without the external ID, and strangers', async () => {
    const hubArn = `arn:aws:iam::${HUB}:user/onramp-hub`;
    const trust = asJson(
      buildTrustPolicy({
        partition: 'aws',
        hub: unwrap(parseHubPrincipal(hubArn, 'aws')),
        externalId: 'onramp-0123456789abcdef0123',
      }) as object,
    );
    const [assume] = (trust.Statement ?? []) as PolicyJson[];
    // Written before Onramp gave sts:TagSession a statement of its own: TagSession under the
    // external-ID condition, which AWS refuses (sts:ExternalId is not in TagSession's context).
    const legacy: PolicyJson = {
      Version: '2012-10-17',
      Statement: [{ ...assume, Action: ['sts:AssumeRole', 'sts:TagSession'] }],
    };
    const allowAll = identity([
      { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Resource: '*' }] },
    ]);
    const cases: { principal: string; externalId?: string; action: string }[] = [];
    for (const principal of [
      hubArn,
      `arn:aws:iam::${HUB}:user/other`,
      'arn:aws:iam::999988887777:user/onramp-hub',
    ])
      for (const externalId of [undefined, 'onramp-0123456789abcdef0123', 'wrong'])
        for (const action of ['sts:AssumeRole', 'sts:TagSession', 'sts:SetSourceIdentity'])
          cases.push({ principal, action, ...(externalId ? { externalId } : {}) });
    let answered = 0;
    for (const c of cases)
      for (const resourcePolicy of [trust, legacy]) {
        const input: EvaluationInput = {
          principal: c.principal,
          action: c.action,
          resource: `arn:aws:iam::${ACCOUNT}:role/OnrampRole`,
          resourceAccountId: ACCOUNT,
          identityPolicies: allowAll,
          resourcePolicy,
          context: {
            'aws:PrincipalArn': c.principal,
            'aws:PrincipalAccount': c.principal.split(':')[4] ?? '',
            ...(c.externalId ? { 'sts:ExternalId': c.externalId } : {}),
          },
        };
        if (await compare(input)) answered += 1;
      }
    expect(answered).toBe(cases.length * 2);
  });

  it('leaves what it does not understand to the simulator', () => {
    const input = (policy: PolicyJson): EvaluationInput => ({
      principal: `arn:aws:iam::${ACCOUNT}:user/u`,
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::b/k',
      resourceAccountId: ACCOUNT,
      identityPolicies: identity([policy]),
      context: {},
    });
    const statement = (extra: Record<string, unknown>) => ({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*', ...extra }],
    });
    for (const unknown of [
      statement({ Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }),
      statement({ Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } }),
      statement({ Resource: 'arn:aws:s3:::b/${aws:username}/*' }),
      statement({ Condition: { StringEquals: { 'aws:TagKeys': 'a' } } }),
    ]) {
      const given = input(unknown);
      if (JSON.stringify(unknown).includes('TagKeys'))
        given.context = { 'aws:TagKeys': ['a', 'b'] };
      expect(evaluateFast(given, names(given)), JSON.stringify(unknown)).toBeUndefined();
    }
  });
});
