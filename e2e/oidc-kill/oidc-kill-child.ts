/**
 * Run by oidc-kill.test.ts: rotates the issuer's key at once, over and over, printing each, until the
 * test kills it with SIGKILL wherever it happens to be (generating a key, sealing it, inside the
 * transaction that stores it with its audit entry, publishing).
 */
import { openIssuer } from './oidc-world.ts';

const path = process.env.OIDC_KILL_DB;
const keyringFile = process.env.OIDC_KILL_KEYRING;
if (!path || !keyringFile) throw new Error('OIDC_KILL_DB and OIDC_KILL_KEYRING name the files');
const { oidc } = await openIssuer(path, keyringFile);
for (let n = 1; ; n++) {
  await oidc.rotate({ immediate: true }, { actorType: 'system', actorId: null }, 'kill test');
  process.stdout.write(`rotated ${n}\n`);
}
