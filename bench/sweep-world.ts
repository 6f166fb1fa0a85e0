/**
 * The fleet the health-sweep benchmark checks: the i-th role account, named the same way by the
 * loopback AWS process that creates the roles and by the sweep process that stores the accounts.
 * Customers are spread over 100 AWS accounts, as a platform's tenants would be.
 */
export const SWEEP_HUB_ACCOUNT = '111122223333';

export function sweptAccount(i: number) {
  const awsAccountId = `20000000${String(i % 100).padStart(4, '0')}`;
  const roleName = `OnrampSweep${i}`;
  return {
    awsAccountId,
    roleName,
    roleArn: `arn:aws:iam::${awsAccountId}:role/${roleName}`,
    externalId: `onramp-sweep-${String(i).padStart(6, '0')}-5c1f0e9a7b`,
  };
}

/** Which bundles the swept roles are granted and checked for (BENCH_SWEEP_BUNDLES, comma-separated). */
export function sweepBundles(): string[] {
  return (process.env.BENCH_SWEEP_BUNDLES ?? 'cost-explorer').split(',').filter(Boolean);
}
