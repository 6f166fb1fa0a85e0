import type { OrganizationDiscovery } from '../features/organizations/organization-discovery.ts';
import { replicaName } from './health-scheduler.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop } from './job-loop.ts';

/**
 * Discovers every organization when it is due (on its schedule, after its management role reported,
 * or asked for): every replica runs this loop, and the claim on `organizations` gives each due
 * organization to exactly one of them.
 */
export function createOrganizationDiscoveryJob(
  deps: { organizationDiscovery: OrganizationDiscovery },
  options: { owner?: string; tickMs?: number; claimMs?: number; log?: JobLog } = {},
) {
  const owner = options.owner ?? replicaName();
  const log = options.log ?? silentLog;
  const runOnce = () => deps.organizationDiscovery.runOnce(owner, options.claimMs);
  const loop = createJobLoop(runOnce, options.tickMs ?? 5_000, (error) =>
    log.error({ err: error }, 'organization discovery pass failed'),
  );
  return { owner, runOnce, start: loop.start, stop: loop.stop };
}
