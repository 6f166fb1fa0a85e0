/**
 * A small fetch-based client for the Onramp API. Requests are typed by the contracts' input types
 * (what a caller may send, defaults optional); responses are parsed with the contracts' schemas, so a
 * caller gets exactly the documented shape or an error. Every error response becomes an `ApiProblem`
 * carrying the RFC 9457 fields and the `errors: [{field, code, message, hint}]` list.
 */
import {
  type accountCheckPageSchema,
  type accountCheckSchema,
  type accountPageSchema,
  type accountSchema,
  type accountsSummaryQuerySchema,
  api,
  type apiTokenListSchema,
  type apiTokenSchema,
  type attachIamPoliciesRequestSchema,
  type auditPageSchema,
  type brandingSchema,
  type catalogResponseSchema,
  type changePasswordRequestSchema,
  type connectionListSchema,
  type connectionSchema,
  type connectSessionListSchema,
  type connectSessionSchema,
  type consoleLinkSchema,
  type createAccountRequestSchema,
  type createConnectionRequestSchema,
  type createConnectSessionRequestSchema,
  type createdAccountSchema,
  type createdTokenResponseSchema,
  type createdWebhookResponseSchema,
  type createOrganizationRequestSchema,
  type createTenantRequestSchema,
  type createTokenRequestSchema,
  type createUserRequestSchema,
  type createWebhookRequestSchema,
  type Endpoint,
  type FieldError,
  fillPath,
  type hostedAccountRequestSchema,
  type hostedConnectionRequestSchema,
  type hostedFixRequestSchema,
  type hostedSessionSchema,
  type iamPoliciesQuerySchema,
  type iamPolicyPageSchema,
  type listAccountsQuerySchema,
  type listConnectionsQuerySchema,
  type listConnectSessionsQuerySchema,
  type listOrganizationMembersQuerySchema,
  type loginRequestSchema,
  type oidcSigningKeySchema,
  type oidcStatusSchema,
  operatorSettingsSchema,
  type organizationListSchema,
  type organizationMemberPageSchema,
  type organizationMemberSchema,
  type organizationRulesSchema,
  type organizationSchema,
  type organizationSetupSchema,
  type organizationTreeSchema,
  type PathParams,
  type pageQuerySchema,
  type partitionOfferListSchema,
  type passwordResetLinkSchema,
  type policyPreviewRequestSchema,
  type policyPreviewResponseSchema,
  type previewRulesResponseSchema,
  type recheckAccountsRequestSchema,
  type redeemPasswordResetRequestSchema,
  type replaceCredentialsRequestSchema,
  type rotateOidcKeyRequestSchema,
  type rotateWebhookSecretRequestSchema,
  type sessionResponseSchema,
  type setupRequestSchema,
  signInChoiceSchema,
  type stepsResponseSchema,
  successSchemaOf,
  type tenantListSchema,
  type tenantSchema,
  type updateAccountRequestSchema,
  type updateConnectionRequestSchema,
  type updateOperatorSettingsRequestSchema,
  type updateOrganizationRequestSchema,
  type updateTenantRequestSchema,
  type updateUserRequestSchema,
  type updateWebhookRequestSchema,
  type userListSchema,
  type userSchema,
  type userTemplateRequestSchema,
  type userTemplateResponseSchema,
  type validationResultSchema,
  type vendCredentialsRequestSchema,
  type vendedCredentialsSchema,
  type webhookDeliveryPageSchema,
  type webhookDeliverySchema,
  type webhookEndpointListSchema,
  type webhookEndpointSchema,
} from '@onramp/contracts';
import { z } from 'zod';
import {
  createOnrampProvider,
  type FromOnrampOptions,
  type OnrampCredentialProvider,
} from './aws-credentials.ts';

export {
  DEFAULT_REFRESH_BEFORE_SECONDS,
  type FromOnrampOptions,
  type OnrampAwsCredentials,
  type OnrampCredentialProvider,
  OnrampCredentialsError,
} from './aws-credentials.ts';

/** An error response of the API (or a network failure, status 0), as RFC 9457 problem details. */
export class ApiProblem extends Error {
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly errors: FieldError[];
  readonly requestId: string | undefined;
  /** A sign-in whose email and password open several accounts (409): the tenants to choose from. */
  readonly signInChoices: SignInChoice[];

  constructor(problem: {
    status: number;
    type?: string;
    title: string;
    detail?: string;
    errors?: FieldError[];
    requestId?: string;
    signInChoices?: SignInChoice[];
  }) {
    super(problem.detail ?? problem.title);
    this.name = 'ApiProblem';
    this.status = problem.status;
    this.type = problem.type ?? 'about:blank';
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.requestId = problem.requestId;
    this.signInChoices = problem.signInChoices ?? [];
  }

  /** The first error about a field (`accessKeyId`, `permissions.nodes-ec2`…), if any. */
  errorFor(field: string): FieldError | undefined {
    return this.errors.find((e) => e.field === field);
  }
}

const problemBodySchema = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  requestId: z.string().optional(),
  errors: z
    .array(
      z.object({
        field: z.string(),
        code: z.string(),
        message: z.string(),
        hint: z.string().optional(),
      }),
    )
    .optional(),
  signInChoices: z.array(signInChoiceSchema).optional(),
});

export type Session = z.output<typeof sessionResponseSchema>;
export type SignInChoice = z.output<typeof signInChoiceSchema>;
export type PasswordResetLink = z.output<typeof passwordResetLinkSchema>;
export type Account = z.output<typeof accountSchema>;
export type CreatedAccount = z.output<typeof createdAccountSchema>;
export type AccountNotice = CreatedAccount['notices'][number];
export type AccountPage = z.output<typeof accountPageSchema>;
export type Connection = z.output<typeof connectionSchema>;
export type Steps = z.output<typeof stepsResponseSchema>;
export type Catalog = z.output<typeof catalogResponseSchema>;
export type PartitionOffer = z.output<typeof partitionOfferListSchema>['partitions'][number];
export type PolicyPreview = z.output<typeof policyPreviewResponseSchema>;
export type UserTemplate = z.output<typeof userTemplateResponseSchema>;
export type ConsoleLink = z.output<typeof consoleLinkSchema>;
export type VendedCredentials = z.output<typeof vendedCredentialsSchema>;
export type VendCredentialsInput = z.input<typeof vendCredentialsRequestSchema>;
export type ValidationResult = z.output<typeof validationResultSchema>;
export type IamPolicyPage = z.output<typeof iamPolicyPageSchema>;
export type Tenant = z.output<typeof tenantSchema>;
export type User = z.output<typeof userSchema>;
export type ApiToken = z.output<typeof apiTokenSchema>;
export type CreatedToken = z.output<typeof createdTokenResponseSchema>;
export type AuditPage = z.output<typeof auditPageSchema>;
export type AccountCheck = z.output<typeof accountCheckSchema>;
export type AccountCheckPage = z.output<typeof accountCheckPageSchema>;
export type WebhookEndpoint = z.output<typeof webhookEndpointSchema>;
export type CreatedWebhook = z.output<typeof createdWebhookResponseSchema>;
export type WebhookDelivery = z.output<typeof webhookDeliverySchema>;
export type WebhookDeliveryPage = z.output<typeof webhookDeliveryPageSchema>;
export type ConnectionPage = z.output<typeof connectionListSchema>;
export type WebhookEndpointPage = z.output<typeof webhookEndpointListSchema>;
export type UserPage = z.output<typeof userListSchema>;
export type ApiTokenPage = z.output<typeof apiTokenListSchema>;
export type TenantPage = z.output<typeof tenantListSchema>;
export type OidcStatus = z.output<typeof oidcStatusSchema>;
export type OidcSigningKey = z.output<typeof oidcSigningKeySchema>;
export type Branding = z.output<typeof brandingSchema>;
export type OperatorSettings = z.output<typeof operatorSettingsSchema>;
export type Organization = z.output<typeof organizationSchema>;
export type OrganizationPage = z.output<typeof organizationListSchema>;
export type OrganizationMember = z.output<typeof organizationMemberSchema>;
export type OrganizationMemberPage = z.output<typeof organizationMemberPageSchema>;
export type OrganizationTree = z.output<typeof organizationTreeSchema>;
export type OrganizationSetup = z.output<typeof organizationSetupSchema>;
export type OrganizationRules = z.output<typeof organizationRulesSchema>;
export type RulesPreview = z.output<typeof previewRulesResponseSchema>;
export type CreateOrganizationInput = z.input<typeof createOrganizationRequestSchema>;
export type UpdateOrganizationInput = z.input<typeof updateOrganizationRequestSchema>;
export type ListOrganizationMembersQuery = ListQueryOf<typeof listOrganizationMembersQuerySchema>;

export type ConnectSession = z.output<typeof connectSessionSchema>;
export type ConnectSessionPage = z.output<typeof connectSessionListSchema>;
export type CreateConnectSessionInput = z.input<typeof createConnectSessionRequestSchema>;
export type ListConnectSessionsQuery = ListQueryOf<typeof listConnectSessionsQuerySchema>;
/** A hosted connect session as the browser that opened its link sees it. */
export type HostedSession = z.output<typeof hostedSessionSchema>;
export type HostedConnectionInput = z.input<typeof hostedConnectionRequestSchema>;
export type HostedAccountInput = z.input<typeof hostedAccountRequestSchema>;
export type HostedFixInput = z.input<typeof hostedFixRequestSchema>;

export type CreateAccountInput = z.input<typeof createAccountRequestSchema>;
export type CreateConnectionInput = z.input<typeof createConnectionRequestSchema>;
/** The external ID is not among the fields: it changes only by `regenerateExternalId`. */
export type UpdateConnectionInput = Omit<
  z.input<typeof updateConnectionRequestSchema>,
  'externalId'
>;
export type ListConnectionsQuery = ListQueryOf<typeof listConnectionsQuerySchema>;
export type PolicyPreviewInput = z.input<typeof policyPreviewRequestSchema>;
export type UpdateAccountInput = z.input<typeof updateAccountRequestSchema>;
export type ReplaceCredentialsInput = z.input<typeof replaceCredentialsRequestSchema>;
export type ListAccountsQuery = ListQueryOf<typeof listAccountsQuerySchema>;
export type AccountsSummaryQuery = z.input<typeof accountsSummaryQuerySchema>;
export type RecheckAccountsInput = z.input<typeof recheckAccountsRequestSchema>;
export type IamPoliciesQuery = ListQueryOf<typeof iamPoliciesQuerySchema>;
export type CreateWebhookInput = z.input<typeof createWebhookRequestSchema>;
export type UpdateWebhookInput = z.input<typeof updateWebhookRequestSchema>;
export type RotateWebhookSecretInput = z.input<typeof rotateWebhookSecretRequestSchema>;
/**
 * A list's query as a caller writes it: query strings carry numbers as text and the contracts coerce
 * them, so `limit` is a number here; every field is optional.
 */
type ListQueryOf<S extends z.ZodType> = Partial<Omit<z.input<S>, 'limit'> & { limit: number }>;
/**
 * A page of any list: at most `limit` items (default 50, at most 200) after `cursor`, the previous
 * page's `next`.
 */
export type PageQuery = ListQueryOf<typeof pageQuerySchema>;
export interface AuditQuery extends PageQuery {
  targetId?: string;
  /** The older name of `cursor`. */
  before?: string;
}

/**
 * Every item of a list, following `next` from page to page, for callers that need the whole list
 * (a picker of tenants). `max` stops it early (default 10,000 items):
 * `await listAll((cursor) => client.tenants.list({ cursor, limit: 200 }), (page) => page.tenants)`.
 */
export async function listAll<P extends { next: string | null }, T>(
  listPage: (cursor: string | undefined) => Promise<P>,
  itemsOf: (page: P) => T[],
  options: { max?: number } = {},
): Promise<T[]> {
  const max = options.max ?? 10_000;
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await listPage(cursor);
    items.push(...itemsOf(page));
    cursor = page.next ?? undefined;
  } while (cursor !== undefined && items.length < max);
  return items.slice(0, max);
}

export interface ClientOptions {
  /** Where the API is; '' (the default) for the same origin, as the console uses it. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** An API token (onr_…), for scripts; the console uses its session cookie instead. */
  token?: string;
  /** The tenant an operator acts on (sent as Onramp-Tenant), read on every request. */
  tenant?: () => string | undefined;
}

type Query = Record<string, string | number | boolean | undefined>;

type BodyOf<E> = E extends { readonly body: infer B extends z.ZodType } ? z.input<B> : undefined;

/** What an endpoint answers: its 200, 201 or 202 body, parsed; nothing when it answers 204 or declares none. */
type SuccessOf<E> = E extends { readonly responses: infer R }
  ? R extends { readonly 200: infer S extends z.ZodType }
    ? z.output<S>
    : R extends { readonly 201: infer S extends z.ZodType }
      ? z.output<S>
      : R extends { readonly 202: infer S extends z.ZodType }
        ? z.output<S>
        : undefined
  : undefined;

interface RequestInput<E extends Endpoint> {
  params?: PathParams<E['path']>;
  query?: Query;
  body?: BodyOf<E>;
  /** The CSRF token to send instead of the console session's (a hosted connect session's). */
  csrfToken?: string | undefined;
}

/** The parameters are required when the path has any, so a call cannot leave a `:id` unfilled. */
type InputArgs<E extends Endpoint> = [keyof PathParams<E['path']>] extends [never]
  ? [input?: RequestInput<E>]
  : [input: RequestInput<E> & { params: PathParams<E['path']> }];

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Creates a client. A session's CSRF token is remembered from sign-in and sent with every change. */
export function createClient(options: ClientOptions = {}) {
  return createClientSharing(options, { csrfToken: undefined, connectCsrf: new Map() });
}

/** What clients derived from one another (`withTenant`) share: the session's CSRF token. */
interface SharedState {
  csrfToken: string | undefined;
  /** Each hosted connect session's CSRF token, from its `open` or `get`, by session id. */
  connectCsrf: Map<string, string>;
}

function createClientSharing(options: ClientOptions, shared: SharedState) {
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function send<E extends Endpoint>(
    endpoint: E,
    ...[input]: InputArgs<E>
  ): Promise<Response> {
    return sendWith(endpoint, input as RequestInput<Endpoint> | undefined);
  }

  /** `raw`: a body sent as it is (an image), with its own content type, instead of JSON. */
  async function sendWith(
    endpoint: Endpoint,
    input: RequestInput<Endpoint> | undefined,
    raw?: { contentType: string; data: Blob | ArrayBuffer | Uint8Array<ArrayBuffer> },
  ): Promise<Response> {
    const { params, query, body, csrfToken } = input ?? {};
    const path = fillPath(endpoint.path, (params ?? {}) as PathParams<string>);
    const method = endpoint.method;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (raw) headers['content-type'] = raw.contentType;
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const csrf = csrfToken ?? shared.csrfToken;
    if (method !== 'GET' && csrf) headers['x-csrf-token'] = csrf;
    const tenant = options.tenant?.();
    if (tenant) headers['onramp-tenant'] = tenant;
    let response: Response;
    try {
      response = await doFetch(`${baseUrl}${path}${queryString(query)}`, {
        method,
        headers,
        credentials: 'same-origin',
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(raw ? { body: raw.data } : {}),
      });
    } catch (error) {
      throw new ApiProblem({
        status: 0,
        title: 'Onramp cannot be reached',
        detail: `Check your connection and try again (${error instanceof Error ? error.message : String(error)}).`,
      });
    }
    if (!response.ok) throw await toProblem(response);
    return response;
  }

  /**
   * Calls an endpoint as the contracts declare it: the path filled from `params`, the method, and the
   * answer parsed with its success schema (nothing for an endpoint that answers without a body).
   */
  async function request<E extends Endpoint>(
    endpoint: E,
    ...input: InputArgs<E>
  ): Promise<SuccessOf<E>> {
    const response = await send(endpoint, ...input);
    const schema = successSchemaOf(endpoint);
    if (!schema) return undefined as SuccessOf<E>;
    return schema.parse(await response.json()) as SuccessOf<E>;
  }

  const none = async (pending: Promise<unknown>): Promise<void> => {
    await pending;
  };
  const remember = (session: Session) => {
    shared.csrfToken = session.csrfToken;
    return session;
  };
  const { connectCsrf } = shared;
  const rememberHosted = (session: HostedSession) => {
    connectCsrf.set(session.id, session.csrfToken);
    return session;
  };
  /** A hosted session's call: its id in the path, its CSRF token (never the console's) on changes. */
  const inSession = (sessionId: string) => ({
    params: { sessionId },
    csrfToken: connectCsrf.get(sessionId) ?? '',
  });

  return {
    /** The CSRF token of the current session, if signed in through this client. */
    get csrfToken() {
      return shared.csrfToken;
    },
    /**
     * The same client and session acting on another tenant; `undefined` sends no Onramp-Tenant, which
     * for the operator means its own scope (webhooks that receive every tenant's events).
     */
    withTenant: (tenant: string | undefined) =>
      createClientSharing({ ...options, tenant: () => tenant }, shared),
    session: {
      get: async () => remember(await request(api.session.get)),
      login: async (input: z.input<typeof loginRequestSchema>) =>
        remember(await request(api.session.login, { body: input })),
      setup: async (input: z.input<typeof setupRequestSchema>) =>
        remember(await request(api.session.setup, { body: input })),
      /** Changes the signed-in person's password; their other sessions end, this one stays. */
      changePassword: (input: z.input<typeof changePasswordRequestSchema>) =>
        none(request(api.session.changePassword, { body: input })),
      /** Sets a new password with a reset link's token (no session needed); every session ends. */
      resetPassword: (input: z.input<typeof redeemPasswordResetRequestSchema>) =>
        none(request(api.session.resetPassword, { body: input })),
      logout: async () => {
        await request(api.session.logout);
        shared.csrfToken = undefined;
      },
    },
    catalog: () => request(api.catalog.get),
    partitions: async () => (await request(api.partitions.list)).partitions,
    previewPolicy: (input: PolicyPreviewInput) =>
      request(api.catalog.previewPolicy, { body: input }),
    /** The dedicated IAM user of an access-key account: templates, steps and console links. */
    userTemplate: (input: z.input<typeof userTemplateRequestSchema>) =>
      request(api.catalog.userTemplate, { body: input }),
    connections: {
      create: (input: CreateConnectionInput) => request(api.connections.create, { body: input }),
      get: (connectionId: string) => request(api.connections.get, { params: { id: connectionId } }),
      /** Changes a pending set-up (name, partition, permissions, role name); its external ID stays. */
      update: (connectionId: string, input: UpdateConnectionInput) =>
        request(api.connections.update, { params: { id: connectionId }, body: input }),
      /** A page of connections, oldest first; `status: 'pending'` leaves out connected and expired ones. */
      list: (query: ListConnectionsQuery = {}) => request(api.connections.list, { query }),
      steps: (connectionId: string) =>
        request(api.connections.steps, { params: { id: connectionId } }),
      /**
       * The CloudFormation template that creates the role, as text (YAML by default). With a public
       * URL, and for a caller who may add accounts, it reports the role back by itself.
       */
      cloudFormation: async (connectionId: string, query: { format?: 'yaml' | 'json' } = {}) =>
        (
          await send(api.connections.cloudFormation, { params: { id: connectionId }, query })
        ).text(),
      /** The Terraform configuration that creates the role, as text. */
      terraform: async (connectionId: string) =>
        (await send(api.connections.terraform, { params: { id: connectionId } })).text(),
      regenerateExternalId: (connectionId: string) =>
        request(api.connections.regenerateExternalId, { params: { id: connectionId } }),
      delete: (connectionId: string) =>
        none(request(api.connections.delete, { params: { id: connectionId } })),
    },
    accounts: {
      list: (query: ListAccountsQuery = {}) => request(api.accounts.list, { query }),
      /** Accounts per health, outdated and trimmed, per partition and per bundle. */
      summary: (query: AccountsSummaryQuery = {}) => request(api.accounts.summary, { query }),
      /** Queues a check of every account the filter selects; answers how many were queued. */
      recheck: (input: RecheckAccountsInput) => request(api.accounts.recheck, { body: input }),
      get: (accountId: string) => request(api.accounts.get, { params: { id: accountId } }),
      validate: (input: CreateAccountInput) => request(api.accounts.validate, { body: input }),
      create: (input: CreateAccountInput) => request(api.accounts.create, { body: input }),
      /**
       * A new external ID for a role account, with a grace period: the templates list both until it
       * ends, and Onramp switches to the new one once a check with it passes. Answers the connection.
       */
      regenerateExternalId: (accountId: string) =>
        request(api.accounts.regenerateExternalId, { params: { id: accountId } }),
      update: (accountId: string, input: UpdateAccountInput) =>
        request(api.accounts.update, { params: { id: accountId }, body: input }),
      replaceCredentials: (accountId: string, input: ReplaceCredentialsInput) =>
        request(api.accounts.replaceCredentials, { params: { id: accountId }, body: input }),
      delete: (accountId: string) =>
        none(request(api.accounts.delete, { params: { id: accountId } })),
      /**
       * Short-lived credentials of the account (a token with `credentials:vend`); for an AWS SDK v3
       * client, `fromOnramp` keeps and refreshes them.
       */
      vendCredentials: (accountId: string, input: VendCredentialsInput = {}) =>
        request(api.accounts.vendCredentials, { params: { id: accountId }, body: input }),
      /** A one-time AWS console sign-in link as the account's role (people only, not tokens). */
      consoleLink: (accountId: string) =>
        request(api.accounts.consoleLink, { params: { id: accountId } }),
      iamPolicies: (accountId: string, query: IamPoliciesQuery = {}) =>
        request(api.accounts.iamPolicies, { params: { id: accountId }, query }),
      attachIamPolicies: (
        accountId: string,
        input: z.input<typeof attachIamPoliciesRequestSchema>,
      ) => request(api.accounts.attachIamPolicies, { params: { id: accountId }, body: input }),
      /** Checks the account's health now and records the check (the account's health follows it). */
      check: (accountId: string) => request(api.accounts.check, { params: { id: accountId } }),
      /** The account's health checks, newest first. */
      checks: (accountId: string, query: PageQuery = {}) =>
        request(api.accounts.checks, { params: { id: accountId }, query }),
      /**
       * What to apply to give the account the permissions its bundles need now, for the way its
       * role was made (CloudFormation, Terraform, by hand, or the user of access keys). Changes nothing.
       */
      permissionsUpdate: (accountId: string) =>
        request(api.accounts.permissionsUpdate, { params: { id: accountId } }),
      /** Once the update is applied: checks the account against it and records what it holds. */
      permissionsVerify: (accountId: string) =>
        request(api.accounts.permissionsVerify, { params: { id: accountId } }),
    },
    webhooks: {
      /** A page of endpoints, oldest first. */
      list: (query: PageQuery = {}) => request(api.webhooks.list, { query }),
      get: (endpointId: string) => request(api.webhooks.get, { params: { id: endpointId } }),
      /** Registers an endpoint; the response carries its signing secret, this once. */
      create: (input: CreateWebhookInput) => request(api.webhooks.create, { body: input }),
      update: (endpointId: string, input: UpdateWebhookInput) =>
        request(api.webhooks.update, { params: { id: endpointId }, body: input }),
      delete: (endpointId: string) =>
        none(request(api.webhooks.delete, { params: { id: endpointId } })),
      /** Sends a `webhook.test` event now; the delivery, with the endpoint's answer. */
      test: (endpointId: string) => request(api.webhooks.test, { params: { id: endpointId } }),
      /** The endpoint's deliveries, newest first. */
      deliveries: (endpointId: string, query: PageQuery = {}) =>
        request(api.webhooks.deliveries, { params: { id: endpointId }, query }),
      /** A new signing secret (shown once); the old one keeps verifying for the hours asked. */
      rotateSecret: (endpointId: string, input: RotateWebhookSecretInput = {}) =>
        request(api.webhooks.rotateSecret, { params: { id: endpointId }, body: input }),
    },
    users: {
      /** A page of the tenant's users, oldest first. */
      list: (query: PageQuery = {}) => request(api.users.list, { query }),
      create: (input: z.input<typeof createUserRequestSchema>) =>
        request(api.users.create, { body: input }),
      update: (userId: string, input: z.input<typeof updateUserRequestSchema>) =>
        request(api.users.update, { params: { id: userId }, body: input }),
      delete: (userId: string) => none(request(api.users.delete, { params: { id: userId } })),
      /** A single-use reset link for the user, shown in this answer only. */
      createResetLink: (userId: string) =>
        request(api.users.createResetLink, { params: { id: userId } }),
    },
    tokens: {
      /** A page of tokens, newest first, revoked and expired ones too. */
      list: (query: PageQuery = {}) => request(api.tokens.list, { query }),
      create: (input: z.input<typeof createTokenRequestSchema>) =>
        request(api.tokens.create, { body: input }),
      // The answer (the revoked token) is not part of the client's surface: not read, as before.
      revoke: (tokenId: string) => none(send(api.tokens.revoke, { params: { id: tokenId } })),
    },
    audit: (query: AuditQuery = {}) => request(api.audit.list, { query: { ...query } }),
    tenants: {
      /** A page of tenants, oldest first (operator). */
      list: (query: PageQuery = {}) => request(api.tenants.list, { query }),
      create: (input: z.input<typeof createTenantRequestSchema>) =>
        request(api.tenants.create, { body: input }),
      update: (tenantId: string, input: z.input<typeof updateTenantRequestSchema>) =>
        request(api.tenants.update, { params: { id: tenantId }, body: input }),
      delete: (tenantId: string) => none(request(api.tenants.delete, { params: { id: tenantId } })),
    },
    /** Whole AWS organizations: one management stack, member roles by StackSet, discovery, rules. */
    organizations: {
      /** A page of organizations. */
      list: (query: PageQuery = {}) => request(api.organizations.list, { query }),
      create: (input: CreateOrganizationInput) =>
        request(api.organizations.create, { body: input }),
      get: (organizationId: string) =>
        request(api.organizations.get, { params: { id: organizationId } }),
      update: (organizationId: string, input: UpdateOrganizationInput) =>
        request(api.organizations.update, { params: { id: organizationId }, body: input }),
      delete: (organizationId: string) =>
        none(request(api.organizations.delete, { params: { id: organizationId } })),
      /** The management and member templates, Terraform, the commands and what is still missing. */
      setup: (organizationId: string, query: { format?: 'yaml' | 'json'; targets?: string } = {}) =>
        request(api.organizations.setup, { params: { id: organizationId }, query }),
      /** The stack update that gives every member the permissions the catalog asks for now. */
      permissionsUpdate: (
        organizationId: string,
        query: { format?: 'yaml' | 'json'; targets?: string } = {},
      ) => request(api.organizations.permissionsUpdate, { params: { id: organizationId }, query }),
      /** The management role's ARN, pasted where the stack cannot report it (Terraform). */
      managementRole: (organizationId: string, roleArn: string) =>
        request(api.organizations.managementRole, {
          params: { id: organizationId },
          body: { roleArn },
        }),
      /** Asks for a discovery now; `lastDiscovery` changes once it ran. */
      discover: (organizationId: string) =>
        request(api.organizations.discover, { params: { id: organizationId } }),
      rotateToken: (organizationId: string) =>
        request(api.organizations.rotateToken, { params: { id: organizationId } }),
      tree: (organizationId: string) =>
        request(api.organizations.tree, { params: { id: organizationId } }),
      members: (organizationId: string, query: ListOrganizationMembersQuery = {}) =>
        request(api.organizations.members, { params: { id: organizationId }, query }),
      retryMember: (organizationId: string, awsAccountId: string) =>
        request(api.organizations.retryMember, { params: { id: organizationId, awsAccountId } }),
      /** Which members a rule set admits and which change, before saving it. */
      previewRules: (organizationId: string, rules: z.input<typeof organizationRulesSchema>) =>
        request(api.organizations.previewRules, {
          params: { id: organizationId },
          body: { rules },
        }),
    },
    /**
     * Hosted connect sessions, the platform's side: a single-use link for one customer to connect
     * (or fix) one account, and its outcome, read back before trusting the browser's return.
     */
    connectSessions: {
      /** The response's `url` (with the link's secret) is shown in this answer only. */
      create: (input: CreateConnectSessionInput) =>
        request(api.connectSessions.create, { body: input }),
      /** A page of sessions, newest first. */
      list: (query: ListConnectSessionsQuery = {}) => request(api.connectSessions.list, { query }),
      get: (sessionId: string) => request(api.connectSessions.get, { params: { id: sessionId } }),
      cancel: (sessionId: string) =>
        request(api.connectSessions.cancel, { params: { id: sessionId } }),
    },
    /**
     * The hosted wizard's side: the browser that opened a session's link. `open` trades the link's
     * secret for the session's cookie; every change then sends the session's CSRF token, which
     * `open` and `get` remember.
     */
    connect: {
      open: async (sessionId: string, token: string) =>
        rememberHosted(
          await request(api.connect.open, {
            params: { sessionId },
            body: { token },
            csrfToken: '',
          }),
        ),
      get: async (sessionId: string) =>
        rememberHosted(await request(api.connect.get, { params: { sessionId } })),
      /** The session's one role set-up; asked again, the server answers the same one. */
      createConnection: (sessionId: string, input: HostedConnectionInput) =>
        request(api.connect.createConnection, { ...inSession(sessionId), body: input }),
      updateConnection: (sessionId: string, input: Partial<HostedConnectionInput>) =>
        request(api.connect.updateConnection, { ...inSession(sessionId), body: input }),
      steps: (sessionId: string) => request(api.connect.steps, inSession(sessionId)),
      previewPolicy: (sessionId: string, input: PolicyPreviewInput) =>
        request(api.connect.previewPolicy, { ...inSession(sessionId), body: input }),
      userTemplate: (sessionId: string, input: z.input<typeof userTemplateRequestSchema>) =>
        request(api.connect.userTemplate, { ...inSession(sessionId), body: input }),
      validate: (sessionId: string, input: HostedAccountInput) =>
        request(api.connect.validate, { ...inSession(sessionId), body: input }),
      permissionsUpdate: (sessionId: string) =>
        request(api.connect.permissionsUpdate, inSession(sessionId)),
      complete: async (sessionId: string, input: HostedAccountInput | HostedFixInput) =>
        rememberHosted(
          await request(api.connect.complete, { ...inSession(sessionId), body: input }),
        ),
      cancel: async (sessionId: string) =>
        rememberHosted(await request(api.connect.cancel, inSession(sessionId))),
    },
    /** Onramp's OpenID Connect issuer for keyless roles (operators). */
    /** The operator's brand (anyone may read it) and the operator's settings page. */
    branding: {
      get: () => request(api.branding.get),
      settings: () => request(api.branding.settings),
      updateSettings: (input: z.input<typeof updateOperatorSettingsRequestSchema>) =>
        request(api.branding.updateSettings, { body: input }),
      /** The logo itself (PNG, JPEG or WebP, at most 256 KiB), e.g. a File from an <input>. */
      putLogo: async (
        image: Blob | ArrayBuffer | Uint8Array<ArrayBuffer>,
        contentType = image instanceof Blob ? image.type : 'image/png',
      ) =>
        operatorSettingsSchema.parse(
          await (
            await sendWith(api.branding.putLogo, undefined, { contentType, data: image })
          ).json(),
        ),
      deleteLogo: () => request(api.branding.deleteLogo),
    },
    oidc: {
      status: () => request(api.oidc.status),
      /** A new signing key: signs after the pre-publication period, or at once with `immediate`. */
      rotate: (input: z.input<typeof rotateOidcKeyRequestSchema> = {}) =>
        request(api.oidc.rotate, { body: input }),
    },
  };
}

export type OnrampClient = ReturnType<typeof createClient>;

/**
 * An AWS SDK for JavaScript v3 credential provider of a connected account, vended through Onramp:
 * `new STSClient({ credentials: fromOnramp({ account: 'acct_…' }) })`. URL and token default to
 * ONRAMP_URL and ONRAMP_TOKEN (a token with `credentials:vend`). It keeps the session until
 * `refreshBeforeSeconds` (300) before it expires, and callers asking meanwhile share one request.
 */
export function fromOnramp(options: FromOnrampOptions): OnrampCredentialProvider {
  return createOnrampProvider(options, ({ url, token }, body) =>
    createClient({
      baseUrl: url,
      token,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    }).accounts.vendCredentials(options.account, body),
  );
}

async function toProblem(response: Response): Promise<ApiProblem> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const parsed = problemBodySchema.safeParse(body);
  const problem = parsed.success ? parsed.data : {};
  return new ApiProblem({
    status: response.status,
    title: problem.title ?? (response.statusText || `HTTP ${response.status}`),
    ...(problem.type ? { type: problem.type } : {}),
    ...(problem.detail ? { detail: problem.detail } : {}),
    ...(problem.errors ? { errors: problem.errors } : {}),
    ...(problem.requestId ? { requestId: problem.requestId } : {}),
    ...(problem.signInChoices ? { signInChoices: problem.signInChoices } : {}),
  });
}
