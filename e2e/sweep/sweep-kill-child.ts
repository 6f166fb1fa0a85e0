/**
 * Run by sweep-kill.test.ts: the start-up sweep of a server that starts with the next catalog, killed
 * with SIGKILL in the middle of its second write (after the first committed, while the second has
 * written its rows and events but not committed), as a crash or an OOM kill would stop it.
 */
import { catalogs, openFleet, servicesOver } from './sweep-world.ts';

const path = process.env.SWEEP_KILL_DB;
if (!path) throw new Error('SWEEP_KILL_DB names the SQLite file');
const { v2 } = await catalogs();
const database = await openFleet(path);
const services = servicesOver(database, v2);
const publishAll = services.webhooks.publishAll.bind(services.webhooks);
let writes = 0;
services.webhooks.publishAll = async (...args: Parameters<typeof publishAll>) => {
  const written = await publishAll(...args);
  writes += 1;
  if (writes === 2) process.kill(process.pid, 'SIGKILL');
  return written;
};
await services.outdatedSweep.run({ pageSize: 50, batchSize: 100 });
// Never reached: the second write kills the process.
process.exitCode = 3;
