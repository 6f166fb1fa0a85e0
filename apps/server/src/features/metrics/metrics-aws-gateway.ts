import { type AwsGateway, AwsProblem } from '../../ports/aws-gateway.ts';
import { createMetricsRegistry, type MetricsRegistry } from './metrics-registry.ts';
import { type AwsCallOutcome, awsCallMetrics } from './onramp-metrics.ts';

/** The registry each gateway this module made records into. */
const meteredInto = new WeakMap<AwsGateway, MetricsRegistry>();

/**
 * The AwsGateway, counting and timing every call by operation (the port's method), partition and
 * outcome. A decorator over the port rather than code in the SDK adapter, so the fake and any other
 * implementation are measured the same way; a Proxy, so methods added to the port are measured
 * without touching this file.
 *
 * A gateway already measured into `registry` is returned as it is: a graph built again over the
 * same deps (a test's second app, a job with other settings) never counts a call twice.
 */
export function withAwsMetrics(
  gateway: AwsGateway,
  registry: MetricsRegistry,
  now: () => number = () => performance.now(),
): AwsGateway {
  if (meteredInto.get(gateway) === registry) return gateway;
  const { calls, duration } = awsCallMetrics(registry);
  const wrapped = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const metered = new Proxy(gateway, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      let measured = wrapped.get(property);
      if (!measured) {
        measured = async (...args: unknown[]) => {
          // Every method of the port takes the partition first.
          const partition = typeof args[0] === 'string' ? args[0] : 'unknown';
          const started = now();
          let outcome: AwsCallOutcome = 'success';
          try {
            const method = Reflect.get(target, property) as (...a: unknown[]) => Promise<unknown>;
            return await method.apply(target, args);
          } catch (error) {
            outcome = error instanceof AwsProblem ? error.kind : 'error';
            throw error;
          } finally {
            calls.inc({ operation: property, partition, outcome });
            duration.observe({ operation: property, outcome }, (now() - started) / 1000);
          }
        };
        wrapped.set(property, measured);
      }
      return measured;
    },
  });
  meteredInto.set(metered, registry);
  return metered;
}

/**
 * The dependencies with one metrics registry and the AWS gateway measured into it: what the app and
 * the background jobs both run with, so /metrics counts every AWS call, whoever made it. Without a
 * registry in `deps` a new one is made, which nothing serves: main.ts passes the one /metrics
 * renders, and the composition root (wiring.ts) calls this once.
 */
export function withMetrics<D extends { aws: AwsGateway; metrics?: MetricsRegistry | undefined }>(
  deps: D,
): D & { metrics: MetricsRegistry } {
  const metrics = deps.metrics ?? createMetricsRegistry();
  return { ...deps, metrics, aws: withAwsMetrics(deps.aws, metrics) };
}
