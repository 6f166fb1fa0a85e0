import type { OrganizationDiscovery } from '../features/organizations/organization-discovery.ts';
import { replicaName } from './health-scheduler.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop } from './job-loop.ts';

/** How long a discovery's claim holds by default (the feature's own default). */
const DISCOVERY_CLAIM_MS = 15 * 60_000;

/**
 * Discovers every organization when it is due (on its schedule, after its management role reported,
 * or asked for): every replica runs this loop, and the claim on `organizations` gives each due
 * organization to exactly one of them. The pass claims one organization at a time and stops claiming
 * once the replica is stopping, so a shutdown waits for the discovery in hand only, not for every
 * organization due.
 */
export function createOrganizationDiscoveryJob(
  deps: { organizationDiscovery: OrganizationDiscovery; clock?: () => Date },
  options: { owner?: string; tickMs?: number; claimMs?: number; log?: JobLog } = {},
) {
  const owner = options.owner ?? replicaName();
  const log = options.log ?? silentLog;
  const clock = deps.clock ?? (() => new Date());
  const claimMs = options.claimMs ?? DISCOVERY_CLAIM_MS;
  const { repository, discover } = deps.organizationDiscovery;
  const runOnce = async (signal: { stopping: boolean } = { stopping: false }) => {
    let discovered = 0;
    while (!signal.stopping) {
      const until = new Date(clock().getTime() + claimMs).toISOString();
      const [claimed] = await repository.claimDiscoveries(owner, until, 1);
      if (!claimed) break;
      await discover(claimed, owner);
      discovered += 1;
    }
    return discovered;
  };
  const loop = createJobLoop(runOnce, options.tickMs ?? 5_000, (error) =>
    log.error({ err: error }, 'organization discovery pass failed'),
  );
  return { owner, runOnce, start: loop.start, stop: loop.stop };
}
