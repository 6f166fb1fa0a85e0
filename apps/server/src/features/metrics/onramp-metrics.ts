import type { MetricsRegistry } from './metrics-registry.ts';

/**
 * Onramp's own metrics, got-or-created from the registry by whoever records them. Names follow
 * Prometheus' conventions: `onramp_` prefix, `_total` for counters, base units (seconds).
 */

export type AwsCallOutcome = 'success' | 'rejected' | 'upstream' | 'error';

export function awsCallMetrics(registry: MetricsRegistry) {
  return {
    calls: registry.counter({
      name: 'onramp_aws_calls_total',
      help: 'Calls to AWS through the AwsGateway port, by operation, partition and outcome (success; rejected: AWS refused, the tenant can fix it; upstream: AWS throttled, failed or did not answer; error: anything else).',
      labelNames: ['operation', 'partition', 'outcome'],
    }),
    duration: registry.histogram({
      name: 'onramp_aws_call_duration_seconds',
      help: 'Latency of calls to AWS through the AwsGateway port, SDK retries included.',
      labelNames: ['operation', 'outcome'],
    }),
  };
}

export type VendCacheResult = 'hit' | 'miss' | 'shared';

export function vendCacheMetric(registry: MetricsRegistry) {
  return registry.counter({
    name: 'onramp_credentials_cache_total',
    help: 'Credential vends by cache result: hit (served from the cache), miss (one AWS call), shared (joined a call already in flight for the same credentials).',
    labelNames: ['result'],
  });
}

export function validationCheckMetric(registry: MetricsRegistry) {
  return registry.counter({
    name: 'onramp_validation_checks_total',
    help: 'Validation checks run (shape, hub, identity, external_id_required, permissions), by result.',
    labelNames: ['check', 'status'],
  });
}

/** Counts the checks of one validation run. */
export function recordValidationChecks(
  registry: MetricsRegistry | undefined,
  checks: readonly { name: string; status: string }[],
): void {
  if (!registry) return;
  const counter = validationCheckMetric(registry);
  for (const check of checks) counter.inc({ check: check.name, status: check.status });
}
