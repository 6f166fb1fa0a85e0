import type { OrganizationEnrollment } from '../features/organizations/organization-enrollment.ts';
import { replicaName } from './health-scheduler.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop } from './job-loop.ts';

/**
 * Validates the member accounts whose stacks reported (`enrolling`): every replica runs this loop,
 * each member is claimed by one, and a claim left by a replica that died is taken over when it
 * expires.
 */
export function createOrganizationEnrollmentJob(
  deps: { organizationEnrollment: OrganizationEnrollment },
  options: { owner?: string; tickMs?: number; claimMs?: number; log?: JobLog } = {},
) {
  const owner = options.owner ?? replicaName();
  const log = options.log ?? silentLog;
  const runOnce = (signal: { stopping: boolean } = { stopping: false }) =>
    deps.organizationEnrollment.runOnce(owner, signal, options.claimMs);
  const loop = createJobLoop(runOnce, options.tickMs ?? 2_000, (error) =>
    log.error({ err: error }, 'organization enrollment pass failed'),
  );
  return { owner, runOnce, start: loop.start, stop: loop.stop };
}
