/**
 * The loopback AWS of the organization benchmark, in a process of its own (its own core): a hub user,
 * and an organization of BENCH_ORG_ACCOUNTS member accounts spread over BENCH_ORG_UNITS OUs under the
 * root, with BENCH_AWS_LATENCY_MS added to every AWS call. Prints one JSON line (its address, the
 * hub's environment for Onramp, the organization's IDs), then answers commands on stdin, one JSON line
 * each, with one JSON line on stdout:
 *
 *   {"op":"deploy","template":…,"parameters":{…}}  deploys the management stack (the template Onramp
 *       rendered) in the management account, then plays its service-managed StackSet: every member
 *       stack made from the StackSet's own template, as CloudFormation would. Answers the management
 *       stack's call-back properties and each member stack's (CallbackUrl, Token, RoleArn, StackId).
 *   {"op":"calls","since":<epoch ms>}  the AWS calls that arrived since then, by service: how many,
 *       when the first arrived and when the last ended.
 */
import { createInterface } from 'node:readline';
import { deployStack, deployStackSetInstances, startLoopbackAws } from '@onramp/loopback-aws';
import { createHub, hubEnvironment } from '@onramp/server/testing';

const ORG_MANAGEMENT_ACCOUNT = '100000000001';
/** The i-th member account's ID: 12 digits, none colliding with the hub's or the management's. */
const memberAccountId = (i: number) => String(300_000_000_000 + i);

const size = Number(process.env.BENCH_ORG_ACCOUNTS ?? 1000);
const unitCount = Number(process.env.BENCH_ORG_UNITS ?? 5);
const aws = await startLoopbackAws({ latencyMs: Number(process.env.BENCH_AWS_LATENCY_MS ?? 0) });
const { user: hub } = createHub(aws, 'aws');
const org = aws.createOrganization('aws', { managementAccountId: ORG_MANAGEMENT_ACCOUNT });
const units = Array.from({ length: unitCount }, (_, u) =>
  aws.addOrganizationalUnit(org.rootId, `Unit-${u + 1}`),
);
for (let i = 0; i < size; i++) {
  const unit = units[i % units.length] ?? org.rootId;
  aws.addOrganizationAccount(unit, memberAccountId(i), { name: `member-${i}` });
}

const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
print({
  url: aws.url,
  env: hubEnvironment('aws', hub),
  organizationId: org.id,
  rootId: org.rootId,
  managementAccountId: ORG_MANAGEMENT_ACCOUNT,
  accounts: size,
  units: units.length,
});

type Command =
  | { op: 'deploy'; template: string; parameters: Record<string, string> }
  | { op: 'calls'; since?: number };

const callbackOf = (properties: Record<string, unknown>) => ({
  callbackUrl: String(properties.CallbackUrl),
  token: String(properties.Token),
  roleArn: String(properties.RoleArn),
  stackId: String(properties.StackId),
});

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = JSON.parse(line) as Command;
  if (command.op === 'calls') {
    // By service, with when the first of them arrived and the last one ended (epoch ms).
    const byService: Record<string, { n: number; firstAt: number; lastEndedAt: number }> = {};
    for (const call of aws.calls) {
      const at = call.at.getTime();
      if (at < (command.since ?? 0)) continue;
      const ended = call.endedAt.getTime();
      const seen = byService[call.service];
      if (!seen) byService[call.service] = { n: 1, firstAt: at, lastEndedAt: ended };
      else {
        seen.n += 1;
        seen.firstAt = Math.min(seen.firstAt, at);
        seen.lastEndedAt = Math.max(seen.lastEndedAt, ended);
      }
    }
    print({ calls: byService });
    return;
  }
  const started = performance.now();
  const management = deployStack(aws, {
    partition: 'aws',
    accountId: ORG_MANAGEMENT_ACCOUNT,
    template: command.template,
    parameters: command.parameters,
    stackName: 'onramp-organization',
  });
  const members = deployStackSetInstances(aws, management);
  const instances = [...(management.stackSets[0]?.instances.values() ?? [])];
  const failed = instances.filter((instance) => instance.status !== 'CURRENT');
  print({
    management: management.customResources.map((c) => callbackOf(c.properties)),
    members: members.flatMap((m) => m.customResources.map((c) => callbackOf(c.properties))),
    failedInstances: failed.length,
    failedReasons: [...new Set(failed.map((instance) => instance.reason))].slice(0, 3),
    deployMs: performance.now() - started,
  });
});
process.on('SIGTERM', () => {
  void aws.stop().then(() => process.exit(0));
});
