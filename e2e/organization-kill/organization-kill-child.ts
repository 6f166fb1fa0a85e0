/**
 * Run by organization-kill.test.ts: reports every member's role through the call-back route (printing
 * each 202), while the enrollment worker and discovery run side by side, until the test kills it with
 * SIGKILL wherever it happens to be.
 */
import { MEMBER_ROLE, memberIds, openWorld, roleOf } from './organization-world.ts';

const location = JSON.parse(process.env.ORG_KILL_LOCATION ?? 'null');
const prefix = process.env.ORG_KILL_PREFIX;
const token = process.env.ORG_KILL_TOKEN;
const organizationId = process.env.ORG_KILL_ORGANIZATION;
if (!location || !prefix || !token || !organizationId) throw new Error('ORG_KILL_* name the world');
const h = await openWorld(location, prefix);
let stopped = false;
// Each loop yields to timers and I/O between passes (SQLite answers without leaving the microtasks).
const pause = () => new Promise((r) => setTimeout(r, 10));
const enrolling = (async () => {
  while (!stopped) {
    await h.services.organizationEnrollment.runOnce('child', undefined, 1000);
    await pause();
  }
})();
const discovering = (async () => {
  while (!stopped) {
    await h.database.db
      .updateTable('organizations')
      .set({ discovery_due_at: new Date(0).toISOString() })
      .where('id', '=', organizationId)
      .execute();
    await h.services.organizationDiscovery.runOnce('child', 1000);
    await pause();
  }
})();
for (const id of memberIds) {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/callbacks/organizations/member',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ requestType: 'Create', token, roleArn: roleOf(id, MEMBER_ROLE) }),
    remoteAddress: '203.0.113.9',
  });
  if (response.statusCode === 202) process.stdout.write(`ack ${id}\n`);
  else process.stderr.write(`refused ${id}: ${response.statusCode} ${response.body}\n`);
}
process.stdout.write('all reported\n');
stopped = true;
await Promise.all([enrolling, discovering]);
process.stdout.write('done\n');
