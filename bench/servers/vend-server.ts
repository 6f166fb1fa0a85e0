/**
 * Onramp for the vending benchmark: the real app on SQLite, the real SDK adapter against the loopback
 * AWS, one connected role account. Prints `{"url","token","readToken","accountId"}` on its first stdout line.
 */
import { startBenchOnramp } from '../fixtures.ts';

const onramp = await startBenchOnramp();
const accountId = await onramp.connectRole(['nodes-ec2']);
const url = await onramp.app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(
  `${JSON.stringify({ url, token: onramp.token, readToken: onramp.readToken, accountId })}\n`,
);
process.once('SIGTERM', () => {
  void onramp.close().then(() => process.exit(0));
});
