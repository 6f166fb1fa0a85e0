/**
 * The loopback AWS of the health-sweep benchmark, in a process of its own (its own core): the hub user
 * and BENCH_SWEEP_ROLES role accounts made from Onramp's templates for the sweep's bundles. Prints one
 * JSON line with its address and the hub's configuration, then serves until killed.
 */
import { startLoopbackAws } from '@onramp/loopback-aws';
import { createConnectedRole, createHub } from '@onramp/server/testing';
import { loadShippedCatalog } from '../fixtures.ts';
import { sweepBundles, sweptAccount } from '../sweep-world.ts';

const roles = Number(process.env.BENCH_SWEEP_ROLES ?? 10_000);
const aws = await startLoopbackAws({ latencyMs: Number(process.env.BENCH_AWS_LATENCY_MS ?? 0) });
const { user: hub, config } = createHub(aws, 'aws');
const catalog = await loadShippedCatalog();
const bundles = sweepBundles();
const accounts = new Set<string>();
for (let i = 0; i < roles; i++) {
  const swept = sweptAccount(i);
  if (!accounts.has(swept.awsAccountId)) {
    aws.createAccount('aws', swept.awsAccountId);
    accounts.add(swept.awsAccountId);
  }
  createConnectedRole(aws, catalog, {
    partition: 'aws',
    accountId: swept.awsAccountId,
    roleName: swept.roleName,
    hubArn: hub.arn,
    externalId: swept.externalId,
    bundles,
  });
}
process.stdout.write(`${JSON.stringify({ url: aws.url, hub: config })}\n`);
process.on('SIGTERM', () => {
  void aws.stop().then(() => process.exit(0));
});
