import type { WebhookSettings, WebhooksService } from '../features/webhooks/webhooks-service.ts';
import { replicaName } from './health-scheduler.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop, runLimited } from './job-loop.ts';

export interface WebhookDelivererOptions {
  owner?: string;
  /** How often the loop looks for due deliveries. Default 2 s. */
  tickMs?: number;
  /** Deliveries sent side by side. Default 8. */
  concurrency?: number;
  log?: JobLog;
}

/**
 * Sends the outbox. Replicas claim due deliveries (exactly one gets each, as with health checks),
 * POST them signed, and record the answer; a failed attempt is retried with backoff for a day. A
 * claim outlives one attempt's timeout, so a replica that dies mid-delivery loses nothing: its claim
 * expires and another replica sends the delivery again (receivers dedupe on Onramp-Webhook-Id).
 */
/** What the deliverer runs on: the webhooks service of the one service graph (wiring.ts). */
export interface WebhookDelivererDeps {
  webhooks: WebhooksService;
  webhookSettings?: WebhookSettings | undefined;
}

export function createWebhookDeliverer(
  deps: WebhookDelivererDeps,
  options: WebhookDelivererOptions = {},
) {
  const { webhooks } = deps;
  const owner = options.owner ?? replicaName();
  const log = options.log ?? silentLog;
  const concurrency = options.concurrency ?? 8;
  const claimMs = (deps.webhookSettings?.timeoutMs ?? 10_000) + 60_000;

  async function runOnce(signal: { stopping: boolean } = { stopping: false }): Promise<number> {
    await webhooks
      .purgeExpiredPreviousSecrets()
      .catch((error: unknown) =>
        log.error({ err: error }, 'could not drop expired webhook secrets'),
      );
    let attempted = 0;
    for (let batch = 0; batch < 10_000 && !signal.stopping; batch++) {
      const claimed = await webhooks.claimDue(owner, concurrency, claimMs);
      if (claimed.length === 0) break;
      await runLimited(claimed, concurrency, async (delivery) => {
        try {
          const result = await webhooks.attempt(delivery, owner);
          attempted += 1;
          if (result.status === 'failed') {
            log.warn(
              { deliveryId: delivery.id, endpointId: delivery.endpointId },
              'webhook delivery failed for a day; giving up',
            );
          }
        } catch (error) {
          log.error({ err: error, deliveryId: delivery.id }, 'webhook delivery attempt failed');
        }
      });
    }
    return attempted;
  }

  const loop = createJobLoop(runOnce, options.tickMs ?? 2_000, (error) =>
    log.error({ err: error }, 'webhook delivery pass failed'),
  );

  return { owner, runOnce, start: loop.start, stop: loop.stop };
}

export type WebhookDeliverer = ReturnType<typeof createWebhookDeliverer>;
