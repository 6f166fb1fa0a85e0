import { createHash } from 'node:crypto';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  type EvaluationResult,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListPoliciesCommand,
  paginateListAttachedRolePolicies,
  paginateListAttachedUserPolicies,
  paginateListRolePolicies,
  paginateListUserPolicies,
  paginateSimulateCustomPolicy,
  paginateSimulatePrincipalPolicy,
} from '@aws-sdk/client-iam';
import {
  DescribeAccountCommand,
  DescribeOrganizationalUnitCommand,
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListRootsCommand,
  type Account as OrganizationsAccount,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { getPartition, type PartitionId } from '@onramp/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HubConfig } from '../../config.ts';
import {
  type AccountCredentials,
  type AwsCallOptions,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
  type OrganizationAccountInfo,
  type PrincipalPolicy,
  type SimulationQuery,
  type SimulationResult,
  type TemporaryCredentials,
} from '../../ports/aws-gateway.ts';
import { hubCredentialsProvider } from './hub-credentials.ts';

export interface AwsLog {
  warn(details: Record<string, unknown>, message: string): void;
  info?(details: Record<string, unknown>, message: string): void;
}

const ACCOUNT_CLIENTS_KEPT = 512;

type ClientKind = 'sts' | 'iam' | 'organizations';
type AnyClient = STSClient | IAMClient | OrganizationsClient;

/**
 * Where each partition's Organizations endpoint is: the service is global, with one endpoint per
 * partition (organizations.us-east-1.amazonaws.com, organizations.us-gov-west-1.amazonaws.com,
 * organizations.cn-northwest-1.amazonaws.com.cn), which the SDK resolves from these regions.
 */
const ORGANIZATIONS_REGION: Record<PartitionId, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-northwest-1',
};
const ACCOUNT_CLIENT_TTL_MS = 5 * 60_000;

export interface SdkAwsGatewayOptions {
  hubs: Partial<Record<PartitionId, HubConfig>>;
  /** Per attempt. AWS answers STS and IAM in well under a second; 10 s means it is not answering. */
  requestTimeoutMs?: number;
  /**
   * A whole call, its retries and their backoff included (default 20 s): a hung endpoint costs a
   * request this long at most, however many attempts the SDK would still make.
   */
  callTimeoutMs?: number;
  /** Attempts per call, throttling and 5xx retried with the SDK's backoff. */
  maxAttempts?: number;
  /** An explicit endpoint for every service (tests); otherwise the SDK's own resolution and AWS_ENDPOINT_URL_*. */
  endpoint?: string;
  /**
   * Where the federation endpoint is (`AWS_ENDPOINT_URL_SIGNIN`, read by config.ts): it is no SDK
   * client, so the SDK's variables do not reach it. Default `endpoint`, else the partition's sign-in host.
   */
  signinEndpoint?: string;
  log?: AwsLog;
}

/**
 * The AwsGateway over the AWS SDK for JavaScript v3. One client set per partition, each signing for a
 * region of that partition and using its regional STS endpoint and its own IAM endpoint, so a GovCloud
 * or China account never reaches a commercial endpoint. The SDK's standard AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_STS and AWS_ENDPOINT_URL_IAM variables are honoured: that is how tests and local
 * development point Onramp at a loopback AWS.
 */
export function createSdkAwsGateway(options: SdkAwsGatewayOptions): AwsGateway {
  const hubCredentials = new Map<PartitionId, AwsCredentialIdentityProvider>();
  const hubSts = new Map<PartitionId, STSClient>();
  const hubIam = new Map<PartitionId, IAMClient>();
  // One connection pool for every client: a health sweep's calls reuse kept-alive connections.
  const agent = { keepAlive: true, maxSockets: 256 };
  const requestHandler = new NodeHttpHandler({
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    // Without it the SDK only logs a warning when requestTimeout passes, and a hung call hangs on.
    throwOnRequestTimeout: true,
    connectionTimeout: 5_000,
    httpAgent: agent,
    httpsAgent: agent,
  });
  const base = {
    maxAttempts: options.maxAttempts ?? 4,
    retryMode: 'standard',
    requestHandler,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  } as const;
  // STS is regional: the partition's default region. IAM is global: it signs in the partition's IAM region.
  const stsConfig = (partition: PartitionId) => ({
    ...base,
    region: getPartition(partition).defaultRegion,
  });
  const iamConfig = (partition: PartitionId) => ({
    ...base,
    region: getPartition(partition).iam.signingRegion,
  });
  // Organizations is global: one endpoint per partition, in the region AWS documents for it.
  const organizationsConfig = (partition: PartitionId) => ({
    ...base,
    region: ORGANIZATIONS_REGION[partition],
  });
  const configOf = (partition: PartitionId, kind: ClientKind) =>
    kind === 'sts'
      ? stsConfig(partition)
      : kind === 'iam'
        ? iamConfig(partition)
        : organizationsConfig(partition);
  const clientOf = (kind: ClientKind, config: Record<string, unknown>) =>
    kind === 'sts'
      ? new STSClient(config)
      : kind === 'iam'
        ? new IAMClient(config)
        : new OrganizationsClient(config);

  function hubProvider(partition: PartitionId): AwsCredentialIdentityProvider {
    const hub = options.hubs[partition];
    if (!hub) {
      throw new AwsProblem(
        'rejected',
        'partition',
        'hub_not_configured',
        `The platform has no hub identity in ${getPartition(partition).displayName}, so it cannot assume roles there.`,
        'Connect with access keys, or ask the operator to configure a hub identity for this partition.',
      );
    }
    let provider = hubCredentials.get(partition);
    if (!provider) {
      provider = hubCredentialsProvider(hub);
      hubCredentials.set(partition, provider);
    }
    return provider;
  }
  const hubStsClient = (partition: PartitionId) => {
    let client = hubSts.get(partition);
    if (!client) {
      client = new STSClient({ ...stsConfig(partition), credentials: hubProvider(partition) });
      hubSts.set(partition, client);
    }
    return client;
  };
  /**
   * STS clients for AssumeRoleWithWebIdentity. The SDK's auth scheme for that operation is
   * `smithy.api#noAuth`: the request is sent unsigned and the token is the only proof. Their
   * credentials refuse outright rather than being left unset, so that if a future SDK ever chose to
   * sign it, the call would fail loudly instead of reaching for the default credential chain (the
   * operator's own credentials, an instance role) or a hub identity.
   */
  const webIdentitySts = new Map<PartitionId, STSClient>();
  const webIdentityStsClient = (partition: PartitionId) => {
    let client = webIdentitySts.get(partition);
    if (!client) {
      client = new STSClient({
        ...stsConfig(partition),
        credentials: () =>
          Promise.reject(
            new Error('AssumeRoleWithWebIdentity is sent unsigned; no AWS credentials are used.'),
          ),
      });
      webIdentitySts.set(partition, client);
    }
    return client;
  };
  const hubIamClient = (partition: PartitionId) => {
    let client = hubIam.get(partition);
    if (!client) {
      client = new IAMClient({ ...iamConfig(partition), credentials: hubProvider(partition) });
      hubIam.set(partition, client);
    }
    return client;
  };

  /**
   * Clients acting as connected accounts, kept for a few minutes per set of credentials: a validation
   * makes up to a dozen calls with one session, and building a client costs more than a call. Keyed by
   * a hash, never by the secret itself. Never destroyed: that would close the shared connection pool.
   */
  const accountClients = new Map<string, { client: AnyClient; until: number }>();
  /**
   * What the SDK otherwise looks up for every new client (AWS_USE_FIPS_ENDPOINT, AWS_ENDPOINT_URL_IAM,
   * the shared config file…), resolved once per partition and service from a client without
   * credentials, so the environment still decides and a new account client costs little.
   */
  const resolvedSettings = new Map<string, Promise<Record<string, unknown>>>();
  function settingsOf(partition: PartitionId, kind: ClientKind) {
    const key = `${kind} ${partition}`;
    let settings = resolvedSettings.get(key);
    if (!settings) {
      const template = clientOf(kind, configOf(partition, kind));
      const config = template.config as unknown as Record<
        string,
        (() => Promise<unknown>) | undefined
      >;
      const read = (name: string) => config[name]?.();
      settings = Promise.all([
        read('useFipsEndpoint'),
        read('useDualstackEndpoint'),
        read('userAgentAppId'),
        read('authSchemePreference'),
        read('defaultsMode'),
        options.endpoint ? undefined : read('serviceConfiguredEndpoint'),
      ]).then(([fips, dualstack, appId, authSchemes, defaultsMode, configuredEndpoint]) => ({
        useFipsEndpoint: fips,
        useDualstackEndpoint: dualstack,
        // A provider even when unset: undefined would make each new client look it up again.
        userAgentAppId: () => Promise.resolve(appId as string | undefined),
        authSchemePreference: authSchemes ?? [],
        defaultsMode,
        ...(configuredEndpoint === undefined
          ? { ignoreConfiguredEndpointUrls: true }
          : { endpoint: configuredEndpoint }),
      }));
      resolvedSettings.set(key, settings);
    }
    return settings;
  }
  async function accountClient(
    partition: PartitionId,
    credentials: AccountCredentials,
    kind: ClientKind,
  ): Promise<AnyClient> {
    const secret = 'sessionToken' in credentials ? credentials.sessionToken : '';
    const key = createHash('sha256')
      .update(
        `${kind}\n${partition}\n${credentials.accessKeyId}\n${credentials.secretAccessKey}\n${secret}`,
      )
      .digest('base64url');
    const now = Date.now();
    const kept = accountClients.get(key);
    if (kept && kept.until > now) {
      accountClients.delete(key);
      accountClients.set(key, kept);
      return kept.client;
    }
    const identity: AwsCredentialIdentity = {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...('sessionToken' in credentials
        ? { sessionToken: credentials.sessionToken, expiration: credentials.expiration }
        : {}),
    };
    const settings = await settingsOf(partition, kind);
    const client = clientOf(kind, {
      ...configOf(partition, kind),
      ...settings,
      credentials: identity,
    });
    const expires =
      'expiration' in credentials ? credentials.expiration.getTime() - 60_000 : Infinity;
    accountClients.delete(key);
    accountClients.set(key, { client, until: Math.min(now + ACCOUNT_CLIENT_TTL_MS, expires) });
    while (accountClients.size > ACCOUNT_CLIENTS_KEPT) {
      const oldest = accountClients.keys().next().value;
      if (oldest === undefined) break;
      accountClients.delete(oldest);
    }
    return client;
  }

  const callTimeoutMs = options.callTimeoutMs ?? 20_000;
  /** What the SDK's send() and paginators take: the caller's signal, bounded by the call's deadline. */
  function sendOptions(call: AwsCallOptions | undefined) {
    const deadline = AbortSignal.timeout(callTimeoutMs);
    return {
      deadline,
      send: { abortSignal: call?.signal ? AbortSignal.any([call.signal, deadline]) : deadline },
    };
  }

  /** Calls AWS as the connected account itself. */
  async function asAccount<T>(
    partition: PartitionId,
    credentials: AccountCredentials,
    kind: 'sts' | 'iam',
    what: Target,
    call: AwsCallOptions | undefined,
    run: (client: STSClient & IAMClient, send: { abortSignal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const { deadline, send } = sendOptions(call);
    try {
      const client = await accountClient(partition, credentials, kind);
      return await run(client as STSClient & IAMClient, send);
    } catch (error) {
      throw translate(error, what, options.log, { call, deadline, callTimeoutMs });
    }
  }

  /** Calls Organizations with a session of an organization's management role. */
  async function asOrganizations<T>(
    partition: PartitionId,
    credentials: TemporaryCredentials,
    call: AwsCallOptions | undefined,
    run: (client: OrganizationsClient, send: { abortSignal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const { deadline, send } = sendOptions(call);
    try {
      const client = await accountClient(partition, credentials, 'organizations');
      return await run(client as OrganizationsClient, send);
    } catch (error) {
      throw translate(error, 'organizations', options.log, { call, deadline, callTimeoutMs });
    }
  }

  async function asHub<T>(
    what: Target,
    call: AwsCallOptions | undefined,
    run: (send: { abortSignal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const { deadline, send } = sendOptions(call);
    try {
      return await run(send);
    } catch (error) {
      throw translate(error, what, options.log, { call, deadline, callTimeoutMs });
    }
  }

  const page = <T>(items: T[], token: string | undefined) => ({ items, nextToken: token ?? null });
  const units = (list: { Id?: string; Name?: string }[] | undefined) =>
    (list ?? []).map((u) => ({ id: u.Id ?? '', name: u.Name ?? '' }));

  return {
    describeOrganization: (partition, credentials, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(new DescribeOrganizationCommand({}), send);
        const org = out.Organization;
        return {
          id: org?.Id ?? '',
          arn: org?.Arn ?? '',
          managementAccountId: org?.MasterAccountId ?? '',
          featureSet: org?.FeatureSet ?? '',
        };
      }),
    listRoots: (partition, credentials, nextToken, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(
          new ListRootsCommand(nextToken ? { NextToken: nextToken } : {}),
          send,
        );
        return page(units(out.Roots), out.NextToken);
      }),
    listOrganizationalUnitsForParent: (partition, credentials, parentId, nextToken, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(
          new ListOrganizationalUnitsForParentCommand({
            ParentId: parentId,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          send,
        );
        return page(units(out.OrganizationalUnits), out.NextToken);
      }),
    listAccountsForParent: (partition, credentials, parentId, nextToken, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(
          new ListAccountsForParentCommand({
            ParentId: parentId,
            ...(nextToken ? { NextToken: nextToken } : {}),
          }),
          send,
        );
        return page((out.Accounts ?? []).map(organizationAccount), out.NextToken);
      }),
    listAccounts: (partition, credentials, nextToken, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(
          new ListAccountsCommand(nextToken ? { NextToken: nextToken } : {}),
          send,
        );
        return page((out.Accounts ?? []).map(organizationAccount), out.NextToken);
      }),
    listParents: (partition, credentials, childId, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(new ListParentsCommand({ ChildId: childId }), send);
        const parent = out.Parents?.[0];
        if (!parent?.Id) {
          throw new AwsProblem(
            'upstream',
            'organization',
            'upstream_unavailable',
            `AWS Organizations named no parent for ${childId}.`,
          );
        }
        return {
          id: parent.Id,
          type: parent.Type === 'ROOT' ? 'ROOT' : 'ORGANIZATIONAL_UNIT',
        } as const;
      }),
    describeAccount: (partition, credentials, accountId, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(new DescribeAccountCommand({ AccountId: accountId }), send);
        return organizationAccount(out.Account ?? {});
      }),
    describeOrganizationalUnit: (partition, credentials, unitId, call) =>
      asOrganizations(partition, credentials, call, async (client, send) => {
        const out = await client.send(
          new DescribeOrganizationalUnitCommand({ OrganizationalUnitId: unitId }),
          send,
        );
        return {
          id: out.OrganizationalUnit?.Id ?? unitId,
          name: out.OrganizationalUnit?.Name ?? '',
        };
      }),

    identifyKeys: (partition, keys, call) =>
      asAccount(partition, keys, 'sts', 'keys', call, async (client, send) => {
        const out = await client.send(new GetCallerIdentityCommand({}), send);
        return { accountId: out.Account ?? '', arn: out.Arn ?? '', userId: out.UserId ?? '' };
      }),

    assumeRole: (partition, input, call) =>
      asHub('role', call, async (send) => {
        const out = await hubStsClient(partition).send(
          new AssumeRoleCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            ...(input.externalId ? { ExternalId: input.externalId } : {}),
            ...(input.durationSeconds ? { DurationSeconds: input.durationSeconds } : {}),
            ...(input.policy ? { Policy: input.policy } : {}),
            ...(input.tags?.length
              ? { Tags: input.tags.map((t) => ({ Key: t.key, Value: t.value })) }
              : {}),
          }),
          send,
        );
        return assumedSession(out, input.roleArn, 'AssumeRole');
      }),

    assumeRoleWithWebIdentity: (partition, input, call) =>
      asHub('webIdentity', call, async (send) => {
        const out = await webIdentityStsClient(partition).send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: input.roleArn,
            RoleSessionName: input.sessionName,
            WebIdentityToken: input.webIdentityToken,
            ...(input.durationSeconds ? { DurationSeconds: input.durationSeconds } : {}),
            ...(input.policy ? { Policy: input.policy } : {}),
          }),
          send,
        );
        return assumedSession(out, input.roleArn, 'AssumeRoleWithWebIdentity');
      }),

    getSessionToken: (partition, keys, durationSeconds, call) =>
      asAccount(partition, keys, 'sts', 'keys', call, async (client, send) => {
        const out = await client.send(
          new GetSessionTokenCommand(durationSeconds ? { DurationSeconds: durationSeconds } : {}),
          send,
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
          throw new AwsProblem(
            'upstream',
            'accessKeyId',
            'incomplete_response',
            'AWS answered GetSessionToken without credentials.',
          );
        }
        return {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
          expiration: c.Expiration,
        };
      }),

    simulatePrincipalPolicy: (partition, credentials, principalArn, query, call) =>
      asAccount(partition, credentials, 'iam', 'permissions', call, async (client, send) => {
        const results: SimulationResult[] = [];
        const pages = paginateSimulatePrincipalPolicy(
          { client },
          { PolicySourceArn: principalArn, ...simulationInput(query) },
          send,
        );
        for await (const page of pages)
          results.push(...(page.EvaluationResults ?? []).map(toResult));
        return results;
      }),

    readPrincipalPolicies: (partition, credentials, principalArn, call) =>
      asAccount(partition, credentials, 'iam', 'permissions', call, async (client, send) => {
        const { kind, name } = principalOf(principalArn);
        const documents: PrincipalPolicy[] = [];
        const inlineNames: string[] = [];
        const attached: string[] = [];
        if (kind === 'role') {
          for await (const page of paginateListRolePolicies({ client }, { RoleName: name }, send))
            inlineNames.push(...(page.PolicyNames ?? []));
          for await (const page of paginateListAttachedRolePolicies(
            { client },
            { RoleName: name },
            send,
          ))
            attached.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''));
          for (const policyName of inlineNames) {
            const out = await client.send(
              new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName }),
              send,
            );
            documents.push({
              name: policyName,
              document: decodeURIComponent(out.PolicyDocument ?? ''),
            });
          }
        } else {
          for await (const page of paginateListUserPolicies({ client }, { UserName: name }, send))
            inlineNames.push(...(page.PolicyNames ?? []));
          for await (const page of paginateListAttachedUserPolicies(
            { client },
            { UserName: name },
            send,
          ))
            attached.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? ''));
          for (const policyName of inlineNames) {
            const out = await client.send(
              new GetUserPolicyCommand({ UserName: name, PolicyName: policyName }),
              send,
            );
            documents.push({
              name: policyName,
              document: decodeURIComponent(out.PolicyDocument ?? ''),
            });
          }
        }
        for (const arn of attached.filter(Boolean)) {
          const policy = await client.send(new GetPolicyCommand({ PolicyArn: arn }), send);
          const version = await client.send(
            new GetPolicyVersionCommand({
              PolicyArn: arn,
              VersionId: policy.Policy?.DefaultVersionId,
            }),
            send,
          );
          // IAM returns policy documents URL-encoded.
          documents.push({
            name: arn,
            document: decodeURIComponent(version.PolicyVersion?.Document ?? ''),
          });
        }
        return documents;
      }),

    simulateCustomPolicy: (partition, documents, query, call) =>
      asHub('permissions', call, async (send) => {
        const results: SimulationResult[] = [];
        const pages = paginateSimulateCustomPolicy(
          { client: hubIamClient(partition) },
          { PolicyInputList: documents, ...simulationInput(query) },
          send,
        );
        for await (const page of pages)
          results.push(...(page.EvaluationResults ?? []).map(toResult));
        return results;
      }),

    listPolicies: (partition, credentials, query) =>
      asAccount(partition, credentials, 'iam', 'policies', undefined, async (client, send) => {
        const out = await client.send(
          new ListPoliciesCommand({
            Scope: query.scope === 'aws' ? 'AWS' : 'Local',
            MaxItems: query.maxItems,
            ...(query.marker ? { Marker: query.marker } : {}),
          }),
          send,
        );
        return {
          policies: (out.Policies ?? []).map((p) => ({
            arn: p.Arn ?? '',
            name: p.PolicyName ?? '',
            path: p.Path ?? '/',
            description: p.Description ?? '',
            awsManaged: /^arn:[^:]+:iam::aws:policy\//.test(p.Arn ?? ''),
            attachmentCount: p.AttachmentCount ?? 0,
          })),
          marker: out.IsTruncated ? (out.Marker ?? null) : null,
        };
      }),

    listAttachedPolicyArns: (partition, credentials, principalArn) =>
      asAccount(partition, credentials, 'iam', 'policies', undefined, async (client, send) => {
        const { kind, name } = principalOf(principalArn);
        const arns: string[] = [];
        const pages =
          kind === 'role'
            ? paginateListAttachedRolePolicies({ client }, { RoleName: name }, send)
            : paginateListAttachedUserPolicies({ client }, { UserName: name }, send);
        for await (const page of pages)
          arns.push(...(page.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? '').filter(Boolean));
        return arns;
      }),

    getSigninToken: (partition, credentials, signin) =>
      getSigninToken(
        options.signinEndpoint ??
          options.endpoint ??
          `https://${getPartition(partition).signinHost}`,
        credentials,
        options.requestTimeoutMs ?? 10_000,
        options.log,
        signin?.sessionDurationSeconds,
      ),

    attachPolicy: (partition, credentials, principalArn, policyArn) =>
      asAccount(partition, credentials, 'iam', 'policies', undefined, async (client, send) => {
        const { kind, name } = principalOf(principalArn);
        if (kind === 'role')
          await client.send(
            new AttachRolePolicyCommand({ RoleName: name, PolicyArn: policyArn }),
            send,
          );
        else
          await client.send(
            new AttachUserPolicyCommand({ UserName: name, PolicyArn: policyArn }),
            send,
          );
      }),
  };
}

/**
 * The federation endpoint is plain HTTPS, not an SDK client: GET with the session as JSON. The URL
 * carries the session's secret, so it is never logged; neither is the token that comes back.
 */
async function getSigninToken(
  base: string,
  credentials: TemporaryCredentials,
  timeoutMs: number,
  log?: AwsLog,
  sessionDurationSeconds?: number,
): Promise<string> {
  const session = JSON.stringify({
    sessionId: credentials.accessKeyId,
    sessionKey: credentials.secretAccessKey,
    sessionToken: credentials.sessionToken,
  });
  const duration = sessionDurationSeconds ? `&SessionDuration=${sessionDurationSeconds}` : '';
  const url = `${base.replace(/\/+$/, '')}/federation?Action=getSigninToken${duration}&Session=${encodeURIComponent(session)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = (error as { name?: string }).name ?? 'Error';
    log?.warn({ awsError: name, kind: 'upstream', operation: 'getSigninToken' }, 'AWS call failed');
    throw new AwsProblem(
      'upstream',
      'roleArn',
      'upstream_unavailable',
      `AWS's sign-in federation endpoint could not be reached (${name}); try again shortly.`,
    );
  }
  const text = await response.text();
  if (response.status >= 500 || response.status === 429) {
    log?.warn(
      { httpStatus: response.status, kind: 'upstream', operation: 'getSigninToken' },
      'AWS call failed',
    );
    throw new AwsProblem(
      'upstream',
      'roleArn',
      'upstream_unavailable',
      `AWS's sign-in federation endpoint could not answer (HTTP ${response.status}); try again shortly.`,
    );
  }
  let token: unknown;
  try {
    token = (JSON.parse(text) as { SigninToken?: unknown }).SigninToken;
  } catch {
    token = undefined;
  }
  if (response.status !== 200 || typeof token !== 'string' || token === '') {
    log?.info?.(
      { httpStatus: response.status, kind: 'rejected', operation: 'getSigninToken' },
      'AWS refused a call',
    );
    throw new AwsProblem(
      'rejected',
      'roleArn',
      'federation_refused',
      `AWS's sign-in federation endpoint refused the role's session (HTTP ${response.status}).`,
      'Console links need a session of an IAM role; check that the role still exists and that the account is in this partition.',
    );
  }
  return token;
}

function simulationInput(query: SimulationQuery) {
  return {
    ActionNames: query.actions,
    ...(query.resourceArns?.length ? { ResourceArns: query.resourceArns } : {}),
    ...(query.context?.length
      ? {
          ContextEntries: query.context.map((c) => ({
            ContextKeyName: c.key,
            ContextKeyValues: c.values,
            ContextKeyType: c.type,
          })),
        }
      : {}),
  };
}

function toResult(r: EvaluationResult): SimulationResult {
  const decision =
    r.EvalDecision === 'allowed'
      ? 'allowed'
      : r.EvalDecision === 'explicitDeny'
        ? 'explicitDeny'
        : 'implicitDeny';
  return {
    action: r.EvalActionName ?? '',
    resource: r.EvalResourceName ?? '*',
    decision,
    allowedByOrganizations: r.OrganizationsDecisionDetail?.AllowedByOrganizations ?? true,
  };
}

/** `arn:aws:iam::123:role/path/Name` → role Name; `…:user/path/name` → user name. */
function principalOf(arn: string): { kind: 'role' | 'user'; name: string } {
  const resource = arn.split(':').slice(5).join(':');
  const kind = resource.startsWith('role/') ? 'role' : 'user';
  return { kind, name: resource.split('/').at(-1) ?? '' };
}

type Target = 'keys' | 'role' | 'webIdentity' | 'permissions' | 'policies' | 'organizations';

/** A member account as Onramp keeps it; a closed one may lack a name or email. */
function organizationAccount(a: OrganizationsAccount): OrganizationAccountInfo {
  return {
    id: a.Id ?? '',
    arn: a.Arn ?? '',
    name: a.Name ?? '',
    email: a.Email ?? '',
    status: a.Status ?? a.State ?? 'UNKNOWN',
    joinedAt: a.JoinedTimestamp ? a.JoinedTimestamp.toISOString() : null,
  };
}

const FIELD: Record<Target, string> = {
  organizations: 'managementRoleArn',
  keys: 'accessKeyId',
  role: 'roleArn',
  webIdentity: 'roleArn',
  permissions: 'permissions',
  policies: 'policyArns',
};

/**
 * AWS errors a person can cause become field problems with what to do; AWS throttling, failing or not
 * answering is `upstream` — never "your credentials are invalid". The AWS request ID is kept and logged.
 */
function translate(
  error: unknown,
  what: Target,
  log: AwsLog | undefined,
  cut: { call: AwsCallOptions | undefined; deadline: AbortSignal; callTimeoutMs: number },
): AwsProblem {
  if (error instanceof AwsProblem) return error;
  // Cut short on purpose (the outcome was decided, the client left) or by the call's deadline.
  if (cut.call?.signal?.aborted) {
    return new AwsProblem(
      'upstream',
      FIELD[what],
      'cancelled',
      'The platform stopped waiting for AWS: the answer was no longer needed.',
    );
  }
  if (cut.deadline.aborted) {
    log?.warn({ kind: 'upstream', deadlineMs: cut.callTimeoutMs }, 'AWS call timed out');
    return new AwsProblem(
      'upstream',
      FIELD[what],
      'upstream_timeout',
      `AWS did not answer within ${Math.round(cut.callTimeoutMs / 1000)} s; try again shortly.`,
    );
  }
  const e = error as {
    name?: string;
    message?: string;
    $metadata?: { requestId?: string; httpStatusCode?: number };
    $fault?: string;
  };
  const name = e.name ?? 'Error';
  const requestId = e.$metadata?.requestId;
  const status = e.$metadata?.httpStatusCode;
  const field = FIELD[what];
  const rejected = (f: string, code: string, message: string, hint?: string) =>
    new AwsProblem('rejected', f, code, message, hint, name, requestId);
  let problem: AwsProblem;
  switch (what === 'webIdentity' ? webIdentityErrorName(name, e.message) : name) {
    case 'web:NoProvider':
      problem = rejected(
        'oidcProvider',
        'oidc_provider_missing',
        `AWS found no IAM OpenID Connect provider for the platform's issuer in the account: ${e.message ?? name}`,
      );
      break;
    case 'web:Audience':
      problem = rejected(
        'oidcProvider',
        'oidc_audience_not_allowed',
        `The account's IAM OpenID Connect provider for the platform's issuer does not list the token's audience among its client IDs: ${e.message ?? name}`,
      );
      break;
    case 'web:InvalidToken':
      // The token is Onramp's, not the tenant's: AWS refusing its signature or times is the
      // operator's problem (keys, clock), never a reason to call the account invalid.
      problem = new AwsProblem(
        'upstream',
        'oidcProvider',
        'identity_token_refused',
        `AWS refused the token of the platform's OpenID Connect issuer: ${e.message ?? name}. This is not the account's fault; the platform's operator should check the issuer's signing keys and the server's clock.`,
        undefined,
        name,
        requestId,
      );
      break;
    case 'web:IdpUnreachable':
      problem = new AwsProblem(
        'upstream',
        'oidcProvider',
        'issuer_unreachable',
        `AWS could not fetch the discovery document or the keys of the platform's OpenID Connect issuer (${e.message ?? name}). This is not the account's fault: the issuer's /.well-known/openid-configuration and jwks.json must be reachable from AWS over https; try again shortly.`,
        undefined,
        name,
        requestId,
      );
      break;
    case 'web:Expired':
      problem = new AwsProblem(
        'upstream',
        'roleArn',
        'identity_token_expired',
        'AWS says the token of the platform’s OpenID Connect issuer has expired although it was just minted: the server’s clock is probably wrong (clock skew); the platform’s operator should synchronise it (NTP).',
        undefined,
        name,
        requestId,
      );
      break;
    case 'web:RejectedClaim':
      problem = rejected(
        'roleArn',
        'IDPRejectedClaim',
        `AWS refused a claim of the platform's token: ${e.message ?? name}`,
      );
      break;
    case 'web:AccessDenied':
      problem = rejected(
        'roleArn',
        'AccessDenied',
        'AWS refused to let the platform assume this keyless role with its token.',
        'Check that the role’s trust policy trusts the account’s IAM OpenID Connect provider for the platform’s issuer (sts:AssumeRoleWithWebIdentity) with the audience and subject the platform shows for this connection, and that the ARN names the role exactly.',
      );
      break;
    case 'AWSOrganizationsNotInUseException':
      problem = rejected(
        'managementRoleArn',
        'not_in_organization',
        'The account of this role is not in an AWS organization.',
        'Deploy the management template in your organization’s management account.',
      );
      break;
    case 'AccountNotFoundException':
      problem = rejected(
        'awsAccountId',
        'account_not_in_organization',
        'AWS Organizations says this account is not in the organization.',
      );
      break;
    case 'ParentNotFoundException':
    case 'ChildNotFoundException':
    case 'OrganizationalUnitNotFoundException':
      problem = rejected(
        'organizationalUnits',
        name,
        `AWS Organizations has no such root, unit or account: ${e.message ?? name}`,
      );
      break;
    case 'InvalidClientTokenId':
      problem = rejected(
        'accessKeyId',
        name,
        'AWS does not recognise this access key ID in this partition.',
        'Check that the key is active in IAM (Users › Security credentials) and that you chose the account’s partition.',
      );
      break;
    case 'SignatureDoesNotMatch':
      problem = rejected(
        'secretAccessKey',
        name,
        'The secret access key does not match the access key ID.',
        'Copy the secret again from the file AWS offered when the key was created; if it is lost, create a new key.',
      );
      break;
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      problem = rejected(
        what === 'keys' ? 'accessKeyId' : field,
        'ExpiredToken',
        'AWS says these credentials have expired.',
        'Use a long-term access key (AKIA…) of an IAM user.',
      );
      break;
    case 'AccessDenied':
    case 'AccessDeniedException':
      problem =
        what === 'role'
          ? rejected(
              'roleArn',
              'AccessDenied',
              'AWS refused to let the platform assume this role.',
              'Check that (1) the role trusts the principal the platform shows, (2) its trust policy requires the external ID the platform shows for it (the account page’s "Role and external ID", or the wizard’s "Create the role" step), (3) the ARN names the role exactly (names are case-sensitive), and (4) the trust policy has no MFA condition.',
            )
          : what === 'organizations'
            ? rejected(
                'managementRoleArn',
                'organizations_access_denied',
                `AWS Organizations refused the management role: ${e.message ?? 'access denied'}`,
                'The management role must be in the organization’s management account (or a delegated administrator account) and allow the Organizations read actions of the management template; deploy the template again or restore its policy.',
              )
            : rejected(field, 'AccessDenied', `AWS refused: ${e.message ?? 'access denied'}`);
      break;
    case 'RegionDisabledException':
      problem = rejected(
        'partition',
        name,
        'STS is not activated in this region of the account.',
        'Activate STS for the region in IAM › Account settings, or ask the platform’s operator which region it uses.',
      );
      break;
    case 'NoSuchEntity':
    case 'NoSuchEntityException':
      problem = rejected(
        what === 'policies' ? 'policyArns' : field,
        'NoSuchEntity',
        `AWS has no such entity: ${e.message ?? ''}`.trim(),
        what === 'role' ? 'Check the role still exists.' : undefined,
      );
      break;
    case 'MalformedPolicyDocument':
    case 'MalformedPolicyDocumentException':
    case 'PackedPolicyTooLarge':
    case 'PackedPolicyTooLargeException':
    case 'ValidationError':
    case 'InvalidInput':
    case 'InvalidInputException':
      problem = rejected(field, name, `AWS refused the request as invalid: ${e.message ?? name}`);
      break;
    case 'LimitExceeded':
    case 'LimitExceededException':
      problem = rejected(
        field,
        name,
        `An AWS limit is reached: ${e.message ?? name}`,
        'A role can have at most 10 managed policies by default (20 with a quota increase).',
      );
      break;
    default:
      problem = new AwsProblem(
        'upstream',
        field,
        'upstream_unavailable',
        describeUpstream(name, status, e.message),
        undefined,
        name,
        requestId,
      );
  }
  // A refusal is often the expected answer (the confused-deputy check): info. AWS failing: warn.
  const details = {
    awsError: name,
    awsRequestId: requestId,
    httpStatus: status,
    kind: problem.kind,
    detail: e.message,
  };
  if (problem.kind === 'upstream') log?.warn(details, 'AWS call failed');
  else log?.info?.(details, 'AWS refused a call');
  return problem;
}

/**
 * AssumeRoleWithWebIdentity's refusals, told apart: STS names several different problems
 * InvalidIdentityToken, and only its message says which (no provider for the issuer, the audience).
 */
function webIdentityErrorName(name: string, message = ''): string {
  switch (name) {
    case 'InvalidIdentityToken':
    case 'InvalidIdentityTokenException':
      if (/No OpenIDConnect provider/i.test(message)) return 'web:NoProvider';
      if (/audience/i.test(message)) return 'web:Audience';
      return 'web:InvalidToken';
    case 'IDPCommunicationError':
    case 'IDPCommunicationErrorException':
      return 'web:IdpUnreachable';
    case 'ExpiredToken':
    case 'ExpiredTokenException':
      return 'web:Expired';
    case 'IDPRejectedClaim':
    case 'IDPRejectedClaimException':
      return 'web:RejectedClaim';
    case 'AccessDenied':
    case 'AccessDeniedException':
      return 'web:AccessDenied';
    default:
      return name;
  }
}

/** What went wrong upstream, in words: throttled, not answering, or an answer that is not AWS's. */
function describeUpstream(name: string, status: number | undefined, message?: string): string {
  const http = status ? `HTTP ${status}` : undefined;
  if (/throttl|SlowDown|TooManyRequests|RequestLimitExceeded/i.test(name))
    return `AWS throttled the request (${name}) and kept throttling after the platform’s retries; try again shortly.`;
  if (name === 'TimeoutError' || /timed? ?out/i.test(message ?? ''))
    return 'AWS did not answer in time, after the platform’s retries; try again shortly.';
  // The SDK names an error it cannot parse (an HTML page, an empty body) "Unknown".
  if (name === 'Unknown' || name === 'UnknownError' || /Deserialization error/i.test(message ?? ''))
    return `AWS answered ${http ?? 'with an error'} with a body that is not an AWS error (an HTML page or nothing), after the platform’s retries. The endpoint may not implement this call; try again shortly.`;
  return `AWS could not answer (${[name, http].filter(Boolean).join(', ')}), after the platform’s retries; try again shortly.`;
}

/**
 * The session AssumeRole or AssumeRoleWithWebIdentity answered with, as Onramp holds it; an answer
 * without all four parts of the credentials is AWS's fault, not the role's.
 */
function assumedSession(
  out: {
    Credentials?:
      | {
          AccessKeyId?: string | undefined;
          SecretAccessKey?: string | undefined;
          SessionToken?: string | undefined;
          Expiration?: Date | undefined;
        }
      | undefined;
    AssumedRoleUser?: { Arn?: string | undefined; AssumedRoleId?: string | undefined } | undefined;
  },
  roleArn: string,
  action: 'AssumeRole' | 'AssumeRoleWithWebIdentity',
): { credentials: TemporaryCredentials; identity: CallerIdentity } {
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
    throw new AwsProblem(
      'upstream',
      'roleArn',
      'incomplete_response',
      `AWS answered ${action} without credentials.`,
    );
  }
  const [, , , , accountId = ''] = roleArn.split(':');
  return {
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    },
    identity: {
      accountId,
      arn: out.AssumedRoleUser?.Arn ?? '',
      userId: out.AssumedRoleUser?.AssumedRoleId ?? '',
    },
  };
}
