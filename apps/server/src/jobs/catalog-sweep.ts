import type { OutdatedSweep } from '../features/accounts/outdated-sweep.ts';
import { type JobLog, silentLog } from './job-log.ts';

/** What the start-up sweep runs on: the sweep of the one service graph (wiring.ts). */
export interface CatalogSweepDeps {
  outdatedSweep: OutdatedSweep;
}

/**
 * Compares every account with the catalog once, in the background right after the server listens
 * (features/accounts/outdated-sweep.ts): /healthz and the API answer while it runs, and a catalog
 * change that touches thousands of accounts never delays a start. Until it ends, an account shows
 * what the previous catalog made of it. A pass that fails (the database away) is tried again after
 * `retryMs`; `stop()` ends it between pages and waits for the rows read so far to be written.
 */
export function createCatalogSweep(
  deps: CatalogSweepDeps,
  options: { log?: JobLog; retryMs?: number } = {},
) {
  const log = options.log ?? silentLog;
  const retryMs = options.retryMs ?? 30_000;
  const signal = { stopping: false };
  let wake: (() => void) | undefined;
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    while (!signal.stopping) {
      try {
        const summary = await deps.outdatedSweep.run({ signal, log });
        if (!signal.stopping) log.info({ ...summary }, 'accounts compared with the catalog');
        return;
      } catch (error) {
        log.error({ err: error }, 'comparing accounts with the catalog failed');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, retryMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  return {
    start(): Promise<void> {
      running ??= loop();
      return running;
    },
    async stop(): Promise<void> {
      signal.stopping = true;
      wake?.();
      await running;
    },
  };
}
