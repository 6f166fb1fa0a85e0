/**
 * `npm run dev`: Onramp against the loopback AWS (test tooling), with demo accounts seeded in all three
 * partitions, a public URL and a template bucket per partition, so a newcomer can try every flow without
 * an AWS account: one-click CloudFormation (quick-create) and the stack's call-back included. Not for
 * production: the loopback AWS is a test double, and the hub keys are throwaway.
 *
 * The loopback's state lives in the data directory (loopback-aws.json, beside the database): a restart
 * finds the keys and roles Onramp stored. Delete the data directory to start both afresh.
 *
 * Once running, type at the prompt (see scripts/dev-world.ts):
 *   role <connection-id | external-id> [role-name]   what the connection's stack does, call-back included
 *   role <partition> <external-id> [role-name]        a role with the default permissions
 *   keys <partition>                                  another IAM user with the default permissions
 *   help, quit
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DEV_HELP, startDevWorld } from './dev-world.ts';

const world = await startDevWorld({
  dataDir: process.env.ONRAMP_DATA_DIR ?? './data/dev',
  loopbackPort: Number(process.env.LOOPBACK_AWS_PORT ?? 4566),
  serverPort: Number(process.env.PORT ?? 8080),
  ...(process.env.ONRAMP_PUBLIC_URL ? { publicUrl: process.env.ONRAMP_PUBLIC_URL } : {}),
});

const server = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
  env: { ...process.env, ...world.env },
  stdio: ['ignore', 'inherit', 'inherit'],
});
process.stdout.write(`${world.banner.join('\n')}\n`);

const prompt = createInterface({ input: process.stdin, output: process.stdout });
prompt.on('line', (line) => {
  if (line.trim() === 'quit') return prompt.close();
  if (line.trim() === 'help') return void process.stdout.write(`${DEV_HELP}\n`);
  void world.run(line).then((answer) => {
    if (answer) process.stdout.write(`${answer}\n`);
  });
});
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  server.kill('SIGTERM');
  await world.stop();
  process.exit(code);
};
prompt.on('close', () => void stop());
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
server.once('exit', (code) => void stop(code ?? 0));
