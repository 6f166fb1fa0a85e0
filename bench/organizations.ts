/**
 * The organization benchmark (issue 16): discovery and enrollment of 1,000 and 5,000 member accounts.
 * For each size, in processes of their own: the loopback AWS (bench/servers/organization-aws.ts) with
 * an organization of that many accounts in a few OUs and a latency added to every AWS call, and
 * Onramp as `npm start` runs it (apps/server/src/main.ts, a new SQLite database), pointed at the
 * loopback by AWS_ENDPOINT_URL. This process is the tenant and the StackSet: it uses only the HTTP API
 * (the operator set-up, a tenant admin's API token, POST /v1/organizations, GET …/setup) and sends
 * the stacks' call-backs as their functions would, 50 at once.
 *
 * Each figure's baseline is the same figure at the smaller size in the same run: per-member time at
 * 5,000 ÷ per-member time at 1,000, 1.0× being linear growth.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface BenchRow {
  figure: string;
  measured: string;
  baseline: string;
  ratio: number;
  goal?: { max?: number; min?: number; text: string };
  note?: string;
}

const ROOT = new URL('..', import.meta.url).pathname;
const PUBLIC_URL = 'https://onramp.bench.example';
/** How many call-backs are in flight at once, as a StackSet deploying many instances sends them. */
const CALLBACK_CONCURRENCY = Number(process.env.BENCH_ORG_CALLBACK_CONCURRENCY ?? 50);
/** Pause between two probes of the API (a /healthz and a /v1/accounts each). */
const PROBE_PAUSE_MS = 100;
const log = (message: string) => process.stderr.write(`${message}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmt = (n: number) => n.toLocaleString('en');
const ms = (value: number) => `${value.toFixed(value < 10 ? 1 : 0)} ms`;

interface Callback {
  callbackUrl: string;
  token: string;
  roleArn: string;
  stackId: string;
}
interface CallStats {
  n: number;
  firstAt: number;
  lastEndedAt: number;
}

/** The loopback AWS process: its first line, then one answer line per command line. */
async function startAws(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/organization-aws.ts'], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: ((line: string) => void)[] = [];
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else lines.push(line);
  });
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const early = lines.shift();
      if (early !== undefined) return resolve(early);
      waiting.push(resolve);
      child.once('exit', (code) => reject(new Error(`organization-aws exited with ${code}`)));
    });
  const info = JSON.parse(await nextLine()) as {
    url: string;
    env: Record<string, string>;
    rootId: string;
    managementAccountId: string;
  };
  return {
    child,
    info,
    async ask<T>(command: Record<string, unknown>): Promise<T> {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return JSON.parse(await nextLine()) as T;
    },
    async calls(since: number) {
      return (await this.ask<{ calls: Record<string, CallStats> }>({ op: 'calls', since })).calls;
    },
  };
}

/** Onramp as `npm start` runs it; its URL and the one-time set-up token come from what it prints. */
async function startOnramp(env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'onramp-org-bench-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      HOST: '127.0.0.1',
      PORT: '0',
      ONRAMP_DATA_DIR: dataDir,
      ONRAMP_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
    process.stderr.write(chunk);
  });
  const started = await new Promise<{ url: string; setupToken: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Onramp did not start:\n${output}`)), 60_000);
    child.stdout.on('data', () => {
      const url = /Onramp is running at (\S+)/.exec(output)?.[1];
      const setupToken = /(setup_[A-Za-z0-9_-]+)/.exec(output)?.[1];
      if (url && setupToken) {
        clearTimeout(timer);
        resolve({ url: url.replace('localhost', '127.0.0.1'), setupToken });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Onramp exited with ${code}:\n${output}`));
    });
  });
  return { child, dataDir, ...started };
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(5000)]);
  if (child.exitCode === null) child.kill('SIGKILL');
}

/** CPU time (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
function cpuMsOf(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name; 100 Hz ticks.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

async function call(
  url: string,
  method: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: response.headers,
  };
}

async function expectCall(
  what: string,
  expected: number,
  ...args: Parameters<typeof call>
): Promise<Record<string, unknown>> {
  const answer = await call(...args);
  if (answer.status !== expected)
    throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.json)}`);
  return answer.json;
}

/** A session's cookie and CSRF token from a sign-in or set-up answer. */
function sessionHeaders(answer: { headers: Headers; json: Record<string, unknown> }) {
  const cookie = answer.headers.getSetCookie().map((c) => c.split(';')[0]);
  return { cookie: cookie.join('; '), 'x-csrf-token': String(answer.json.csrfToken) };
}

/** The operator, a tenant with its admin, and that admin's API token, all through the API. */
async function tenantToken(url: string, setupToken: string): Promise<string> {
  const operator = { email: 'operator@bench.example', name: 'Bench Operator' };
  const admin = { email: 'admin@bench.example', name: 'Bench Admin' };
  const password = 'quartz lantern meadow 42';
  const setup = await call(`${url}/v1/setup`, 'POST', { setupToken, ...operator, password });
  if (setup.status !== 201) throw new Error(`set-up: HTTP ${setup.status}`);
  await expectCall(
    'tenant',
    201,
    `${url}/v1/tenants`,
    'POST',
    {
      name: 'Bench organization tenant',
      admin: { ...admin, password },
    },
    sessionHeaders(setup),
  );
  const signIn = await call(`${url}/v1/session`, 'POST', { email: admin.email, password });
  if (signIn.status !== 200) throw new Error(`sign-in: HTTP ${signIn.status}`);
  const created = await expectCall(
    'token',
    201,
    `${url}/v1/tokens`,
    'POST',
    { name: 'bench organizations', scopes: ['accounts:read', 'accounts:write'] },
    sessionHeaders(signIn),
  );
  return String(created.secret);
}

/** Percentile of latencies (ms). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** GET /healthz and GET /v1/accounts in turn, one at a time, until stopped: their latencies. */
function probe(url: string, auth: Record<string, string>) {
  const samples = { healthz: [] as number[], accounts: [] as number[], errors: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      for (const [key, path, headers] of [
        ['healthz', '/healthz', {}],
        ['accounts', '/v1/accounts?limit=50', auth],
      ] as const) {
        const started = performance.now();
        const response = await fetch(`${url}${path}`, { headers }).catch(() => undefined);
        await response?.arrayBuffer();
        if (!response?.ok) samples.errors += 1;
        samples[key].push(performance.now() - started);
      }
      await sleep(PROBE_PAUSE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return samples;
    },
  };
}

/** Sends every call-back, `concurrency` at once; a 429 is counted and sent again after Retry-After. */
async function sendCallbacks(url: string, callbacks: Callback[], concurrency: number) {
  const result = { accepted: 0, rateLimited: 0, refused: [] as string[], maxRetryAfter: 0 };
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const callback = callbacks[index];
      if (!callback) return;
      const path = new URL(callback.callbackUrl).pathname;
      for (;;) {
        const answer = await call(`${url}${path}`, 'POST', {
          requestType: 'Create',
          token: callback.token,
          roleArn: callback.roleArn,
          stackId: callback.stackId,
        });
        if (answer.status === 429) {
          result.rateLimited += 1;
          const wait = Number(answer.headers.get('retry-after') ?? 1);
          result.maxRetryAfter = Math.max(result.maxRetryAfter, wait);
          await sleep(wait * 1000);
          continue;
        }
        if (answer.status === 202) result.accepted += 1;
        else
          result.refused.push(`HTTP ${answer.status} ${JSON.stringify(answer.json).slice(0, 200)}`);
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return result;
}

interface OrgView {
  counts: Record<string, number>;
  lastDiscovery: { at: string; ok: boolean; accounts: number; error: string | null } | null;
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() - started > timeoutMs)
      throw new Error(`${what} not done within ${seconds(timeoutMs)}: ${JSON.stringify(value)}`);
    await sleep(everyMs);
  }
}

export interface OrganizationRun {
  size: number;
  discovery: {
    ms: number;
    workMs: number;
    organizationsCalls: number;
    stsCalls: number;
    cpuMs: number | undefined;
    discovered: number;
  };
  enrollment: {
    ms: number;
    acceptMs: number;
    cpuMs: number | undefined;
    connected: number;
    failed: number;
    rateLimited: number;
    maxRetryAfter: number;
    refused: string[];
    awsCalls: number;
  };
  probe: {
    idle: {
      healthzP99: number;
      accountsP99: number;
      healthzP50: number;
      accountsP50: number;
      cpuMsPerSecond: number | undefined;
    };
    busy: {
      healthzP99: number;
      accountsP99: number;
      healthzP50: number;
      accountsP50: number;
      errors: number;
      samples: number;
    };
  };
  deployMs: number;
}

/** One size: new processes, the organization connected through the API, discovery, then enrollment. */
async function runSize(
  size: number,
  options: { latencyMs: number; units: number; enrollConcurrency: number | undefined },
): Promise<OrganizationRun> {
  log(`organizations: ${fmt(size)} member accounts in ${options.units} OUs…`);
  const aws = await startAws({
    BENCH_ORG_ACCOUNTS: String(size),
    BENCH_ORG_UNITS: String(options.units),
    BENCH_AWS_LATENCY_MS: String(options.latencyMs),
  });
  let onramp: Awaited<ReturnType<typeof startOnramp>> | undefined;
  try {
    onramp = await startOnramp({
      AWS_ENDPOINT_URL: aws.info.url,
      ONRAMP_PUBLIC_URL: PUBLIC_URL,
      ...(options.enrollConcurrency
        ? { ONRAMP_ORGANIZATION_ENROLL_CONCURRENCY: String(options.enrollConcurrency) }
        : {}),
      ...aws.info.env,
    });
    const { url } = onramp;
    const pid = onramp.child.pid;
    const auth = { authorization: `Bearer ${await tenantToken(url, onramp.setupToken)}` };
    const org = await expectCall(
      'organization',
      201,
      `${url}/v1/organizations`,
      'POST',
      {
        name: `Bench ${size}`,
        partition: 'aws',
        bundles: ['cost-explorer'],
        managementAccountId: aws.info.managementAccountId,
      },
      auth,
    );
    const orgUrl = `${url}/v1/organizations/${String(org.id)}`;
    const setup = await expectCall(
      'set-up',
      200,
      `${orgUrl}/setup?format=json`,
      'GET',
      undefined,
      auth,
    );
    // Before the first discovery Onramp cannot know the root: the tenant fills it in.
    const deployed = await aws.ask<{
      management: Callback[];
      members: Callback[];
      failedInstances: number;
      failedReasons: string[];
      deployMs: number;
    }>({
      op: 'deploy',
      template: setup.managementTemplate,
      parameters: { DeploymentTargets: aws.info.rootId },
    });
    if (deployed.failedInstances > 0 || deployed.members.length !== size)
      throw new Error(
        `StackSet: ${deployed.members.length} instances, ${deployed.failedInstances} failed: ${deployed.failedReasons.join('; ')}`,
      );
    const readOrg = async () =>
      (await expectCall('organization', 200, orgUrl, 'GET', undefined, auth)) as unknown as OrgView;

    // Discovery: the management stack's call-back makes it due at once; the job's next tick runs it.
    const discoveryCpu = cpuMsOf(pid);
    const discoverySince = Date.now();
    const discoveryStarted = performance.now();
    const management = deployed.management[0];
    if (!management) throw new Error('the management stack has no call-back');
    const managementAnswer = await sendCallbacks(url, [management], 1);
    if (managementAnswer.accepted !== 1)
      throw new Error(`management call-back: ${managementAnswer.refused.join('; ')}`);
    const discovered = await until(
      'discovery',
      readOrg,
      (o) => o.lastDiscovery !== null,
      15 * 60_000,
    );
    const discoveryMs = performance.now() - discoveryStarted;
    const discoveryCpuUsed =
      discoveryCpu === undefined ? undefined : (cpuMsOf(pid) ?? 0) - discoveryCpu;
    if (!discovered.lastDiscovery?.ok)
      throw new Error(`discovery failed: ${discovered.lastDiscovery?.error}`);
    const discoveryCalls = await aws.calls(discoverySince);
    const orgCalls = discoveryCalls.organizations ?? { n: 0, firstAt: 0, lastEndedAt: 0 };
    const stsCalls = discoveryCalls.sts ?? { n: 0, firstAt: 0, lastEndedAt: 0 };
    const discoveredMembers = Object.values(discovered.counts).reduce((a, b) => a + b, 0);
    if (discovered.lastDiscovery.accounts !== size + 1)
      throw new Error(
        `discovery listed ${discovered.lastDiscovery.accounts} accounts, expected ${size + 1}`,
      );
    // The management account (a member too) is validated once its stack reported: wait for it, so
    // the enrollment measured is the members' alone.
    await until(
      'the management account',
      readOrg,
      (o) => (o.counts.connected ?? 0) + (o.counts.failed ?? 0) >= 1,
      120_000,
    );

    // The API's latency with nothing else to do, then during the burst and the validations.
    const idleCpu = cpuMsOf(pid);
    const idleStarted = performance.now();
    const idleProbe = probe(url, auth);
    await sleep(3000);
    const idle = await idleProbe.stop();
    const idleCpuMsPerSecond =
      idleCpu === undefined
        ? undefined
        : ((cpuMsOf(pid) ?? 0) - idleCpu) / ((performance.now() - idleStarted) / 1000);
    const busyProbe = probe(url, auth);
    const enrollCpu = cpuMsOf(pid);
    const enrollSince = Date.now();
    const enrollStarted = performance.now();
    const sent = await sendCallbacks(url, deployed.members, CALLBACK_CONCURRENCY);
    const acceptMs = performance.now() - enrollStarted;
    const enrolled = await until(
      'enrollment',
      readOrg,
      (o) => (o.counts.connected ?? 0) + (o.counts.failed ?? 0) >= size + 1,
      40 * 60_000,
      500,
    );
    const enrollMs = performance.now() - enrollStarted;
    const enrollCpuUsed = enrollCpu === undefined ? undefined : (cpuMsOf(pid) ?? 0) - enrollCpu;
    const busy = await busyProbe.stop();
    const enrollCalls = Object.values(await aws.calls(enrollSince)).reduce((a, c) => a + c.n, 0);
    return {
      size,
      deployMs: deployed.deployMs,
      discovery: {
        ms: discoveryMs,
        // From discovery's first Organizations call to its end: the job's tick (up to 5 s) left out.
        workMs: discoveryMs - (orgCalls.firstAt - discoverySince),
        organizationsCalls: orgCalls.n,
        stsCalls: stsCalls.n,
        cpuMs: discoveryCpuUsed,
        discovered: discoveredMembers,
      },
      enrollment: {
        ms: enrollMs,
        acceptMs,
        cpuMs: enrollCpuUsed,
        connected: enrolled.counts.connected ?? 0,
        failed: enrolled.counts.failed ?? 0,
        rateLimited: sent.rateLimited,
        maxRetryAfter: sent.maxRetryAfter,
        refused: sent.refused,
        awsCalls: enrollCalls,
      },
      probe: {
        idle: {
          healthzP50: percentile(idle.healthz, 50),
          healthzP99: percentile(idle.healthz, 99),
          accountsP50: percentile(idle.accounts, 50),
          accountsP99: percentile(idle.accounts, 99),
          cpuMsPerSecond: idleCpuMsPerSecond,
        },
        busy: {
          healthzP50: percentile(busy.healthz, 50),
          healthzP99: percentile(busy.healthz, 99),
          accountsP50: percentile(busy.accounts, 50),
          accountsP99: percentile(busy.accounts, 99),
          errors: busy.errors,
          samples: busy.healthz.length + busy.accounts.length,
        },
      },
    };
  } finally {
    if (onramp) {
      await stop(onramp.child);
      rmSync(onramp.dataDir, { recursive: true, force: true });
    }
    await stop(aws.child);
  }
}

/** Every size of BENCH_ORG_SIZES (default 1,000 and 5,000), and the rows they give. */
export async function benchOrganizations(): Promise<BenchRow[]> {
  const sizes = (process.env.BENCH_ORG_SIZES ?? '1000,5000').split(',').map(Number);
  const latencyMs = Number(process.env.BENCH_ORG_LATENCY_MS ?? 50);
  const units = Number(process.env.BENCH_ORG_UNITS ?? 5);
  // Onramp's default (ONRAMP_ORGANIZATION_ENROLL_CONCURRENCY, 8) unless BENCH_ORG_ENROLL_CONCURRENCY.
  const concurrencySetting = process.env.BENCH_ORG_ENROLL_CONCURRENCY;
  const enrollConcurrency = concurrencySetting ? Number(concurrencySetting) : undefined;
  const runs: OrganizationRun[] = [];
  for (const size of sizes) {
    const run = await runSize(size, { latencyMs, units, enrollConcurrency });
    log(`  ${JSON.stringify(run)}`);
    runs.push(run);
  }
  const rows: BenchRow[] = [];
  const linear = { max: 1.2, text: '≤ 1.2× (linear)' };
  for (const [index, run] of runs.entries()) {
    const previous = runs[index - 1];
    const d = run.discovery;
    const perDiscovered = (r: OrganizationRun) => r.discovery.workMs / r.size;
    rows.push({
      figure: `Organization discovery: ${fmt(run.size)} member accounts in ${units} OUs (${latencyMs} ms added per AWS call; ${fmt(d.organizationsCalls)} Organizations calls)`,
      measured: `${seconds(d.workMs)} (${ms(perDiscovered(run))} per member; ${seconds(d.ms)} from the management call-back, the job's tick included${d.cpuMs === undefined ? '' : `; Onramp CPU ${(d.cpuMs / run.size).toFixed(2)} ms per member`})`,
      baseline: previous
        ? `the ${fmt(previous.size)}-member discovery: ${ms(perDiscovered(previous))} per member`
        : `itself: ${ms(perDiscovered(run))} per member`,
      ratio: previous ? perDiscovered(run) / perDiscovered(previous) : 1,
      ...(previous ? { goal: linear } : {}),
      ...(index === runs.length - 1
        ? {
            note: `Discovery as it runs in Onramp's job: the management role assumed with its external ID, DescribeOrganization, ListRoots, the OU tree, ListAccountsForParent per unit and ListAccounts, 20 a page as AWS answers, paced at 5 Organizations calls per second per partition and replica (a token bucket; AWS's own quota is a few per second per account), then the members written 500 a transaction. Its time is measured from its first Organizations call to the organization's lastDiscovery changing (polled every 100 ms): the job's tick (every 5 s) is left out, and shown apart from the management stack's call-back. The organization: ${units} OUs under the root, the accounts spread evenly, plus the management account.`,
          }
        : {}),
    });
  }
  for (const [index, run] of runs.entries()) {
    const previous = runs[index - 1];
    const e = run.enrollment;
    const perMember = (r: OrganizationRun) => r.enrollment.ms / r.size;
    rows.push({
      figure: `Organization enrollment: ${fmt(run.size)} member call-backs, ${CALLBACK_CONCURRENCY} at once, to ${fmt(e.connected)} connected${e.failed ? ` and ${e.failed} failed` : ''} (${latencyMs} ms per AWS call, ${enrollConcurrency ?? 'Onramp’s default of 8'} validations at once; ${fmt(e.awsCalls)} AWS calls)`,
      measured: `${seconds(e.ms)} (${Math.round(run.size / (e.ms / 1000))} members/s; call-backs all accepted after ${seconds(e.acceptMs)}${e.rateLimited ? `, ${fmt(e.rateLimited)} answered 429 first` : ''}${e.cpuMs === undefined ? '' : `; Onramp CPU ${(e.cpuMs / run.size).toFixed(1)} ms per member`})`,
      baseline: previous
        ? `the ${fmt(previous.size)}-member enrollment: ${ms(perMember(previous))} per member`
        : `itself: ${ms(perMember(run))} per member`,
      ratio: previous ? perMember(run) / perMember(previous) : 1,
      ...(previous ? { goal: linear } : {}),
      ...(index === runs.length - 1
        ? {
            note: `From the first member call-back sent to every member connected (GET /v1/organizations/:id polled every 500 ms). This process plays the StackSet: the management stack deployed from the set-up's template (the root ID filled in as DeploymentTargets) in the loopback, its StackSet's instances created from the StackSet's own template in every member account (real roles, trust and policies), and each instance's call-back (CallbackUrl, Token, RoleArn, StackId) sent ${CALLBACK_CONCURRENCY} at once as its function sends it; a 429 (past the accepted call-backs per organization and minute) is waited out by its Retry-After and sent again, as the stacks' call-back function does, and counted${e.rateLimited ? ` (${fmt(e.rateLimited)} here)` : ''}. Each member is then validated by the enrollment worker as a single role account is (AssumeRole with its external ID, the confused-deputy check, the permission simulation of cost-explorer's 42 actions), started at 5 per second per partition and replica (ENROLLMENTS_PER_SECOND): that pace, not Onramp's CPU, sets the time, so growth is linear by design and 5,000 members take about 17 minutes on one replica. Onramp's CPU is read from /proc for the server process, and includes the API probe of the next row and the polling (idle with the probe: ${run.probe.idle.cpuMsPerSecond === undefined ? 'unknown' : `${run.probe.idle.cpuMsPerSecond.toFixed(0)} ms of CPU per second`}).`,
          }
        : {}),
    });
  }
  const largest = runs.at(-1);
  if (largest) {
    const { idle, busy } = largest.probe;
    rows.push({
      figure: `API during the ${fmt(largest.size)}-member enrollment: p99 of GET /healthz and GET /v1/accounts (50 a page), one at a time`,
      measured: `/healthz p99 ${ms(busy.healthzP99)} (p50 ${ms(busy.healthzP50)}), /v1/accounts p99 ${ms(busy.accountsP99)} (p50 ${ms(busy.accountsP50)}); ${busy.errors} errors in ${fmt(busy.samples)}`,
      baseline: `the same, idle before the burst: /healthz p99 ${ms(idle.healthzP99)}, /v1/accounts p99 ${ms(idle.accountsP99)}`,
      ratio: busy.accountsP99 / Math.max(idle.accountsP99, 0.001),
      note: `The probe sends GET /healthz and then GET /v1/accounts (a tenant token; the list holds the connected member accounts), one at a time with ${PROBE_PAUSE_MS} ms between pairs, for 3 s before the burst and then from the first call-back to the last member connected: what another tenant's console or an API client sees meanwhile. Ratio: the p99 of /v1/accounts during enrollment ÷ idle.`,
    });
  }
  return rows;
}
