import type { OidcService } from '../features/oidc/oidc-service.ts';
import { type JobLog, silentLog } from './job-log.ts';
import { createJobLoop, type JobLoop } from './job-loop.ts';

/** What the rotation job runs on: the issuer of the one service graph (wiring.ts). */
export interface OidcRotationDeps {
  oidc: Pick<OidcService, 'issuer' | 'runSchedule'>;
}

/** How often each replica looks at the schedule: a rotation is due at most this late. */
export const OIDC_ROTATION_CHECK_MS = 60_000;

/**
 * Runs the issuer's key schedule on every replica (features/oidc/oidc-service.ts `runSchedule`): the
 * first key at start-up, the next key when one is due (the database's unique generation lets exactly
 * one replica make it), and the publish targets brought up to date. Its first pass, right at start,
 * also checks the publish targets: a failure is logged and shown in GET /v1/oidc, never fatal. Idle
 * when no issuer is configured.
 */
export function createOidcRotation(
  deps: OidcRotationDeps,
  options: { log?: JobLog; everyMs?: number } = {},
): JobLoop & { runOnce(): Promise<{ created: string | null }> } {
  const log = options.log ?? silentLog;
  const runOnce = async () => {
    if (!deps.oidc.issuer) return { created: null };
    // The first pass writes every target (this replica has written none yet), whatever it holds.
    const result = await deps.oidc.runSchedule();
    if (result.created)
      log.info({ kid: result.created }, 'made the next OpenID Connect signing key');
    return result;
  };
  const loop = createJobLoop(runOnce, options.everyMs ?? OIDC_ROTATION_CHECK_MS, (error) =>
    log.error({ err: error }, 'the OpenID Connect key schedule failed; retrying'),
  );
  return { ...loop, runOnce };
}
