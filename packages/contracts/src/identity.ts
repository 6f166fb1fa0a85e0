import { z } from 'zod';
import { nameSchema, nextCursorSchema, pageQuerySchema, partitionIdSchema } from './common.ts';

export const roleSchema = z.enum(['operator_admin', 'tenant_admin', 'tenant_viewer']);
export const scopeSchema = z.enum(['accounts:read', 'accounts:write', 'credentials:vend', 'admin']);

/**
 * The scopes a user in each role may put on a token they make: the operator every scope
 * (credentials:vend is the operator's alone), a tenant admin everything but vending, a viewer none.
 * The server enforces it (tokens/token-rights.ts); the console offers only these.
 */
export const GRANTABLE_SCOPES: Record<
  z.infer<typeof roleSchema>,
  readonly z.infer<typeof scopeSchema>[]
> = {
  operator_admin: scopeSchema.options,
  tenant_admin: ['accounts:read', 'accounts:write', 'admin'],
  tenant_viewer: [],
};
/**
 * How Onramp reaches an account: `role` (a role trusting the operator's hub principal with an external
 * ID), `oidc_role` (a keyless role trusting Onramp's own OpenID Connect issuer through
 * sts:AssumeRoleWithWebIdentity), or `access_keys` (an IAM user's keys).
 */
export const methodSchema = z.enum(['role', 'oidc_role', 'access_keys']);
/** The methods a connection (a role set-up) can use. */
export const roleMethodSchema = z.enum(['role', 'oidc_role']);

const email = z
  .email()
  .max(254)
  .transform((e) => e.toLowerCase());
/**
 * A new password: 12 to 256 characters, not only spaces. The server also refuses common passwords and
 * ones that contain the person's email or name (field errors code `weak_password`).
 */
const password = z
  .string()
  .min(12, 'use at least 12 characters')
  .max(256)
  .refine((text) => text.trim() !== '', 'must not be only spaces');
const name = nameSchema;

/** POST /v1/setup: the first operator admin, with the one-time set-up token the server printed. */
export const setupRequestSchema = z.object({
  setupToken: z.string().min(10),
  email,
  name,
  password,
});

/** POST /v1/session */
export const loginRequestSchema = z.object({
  email,
  password: z.string().min(1).max(256),
  /**
   * Only when the email and password open accounts in more than one tenant (the API answers 409 with
   * the choices in `signInChoices`): the tenant to sign in to, or null for the operator account.
   */
  tenantId: z.string().min(1).max(100).nullable().optional(),
});

/** The accounts a sign-in may choose between (the 409 problem's `signInChoices`). */
export const signInChoiceSchema = z.object({
  tenantId: z.string().nullable(),
  tenantName: z.string().nullable(),
});

export const sessionResponseSchema = z.object({
  user: z.object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: roleSchema,
    tenantId: z.string().nullable(),
  }),
  /** Send back in the X-CSRF-Token header with every POST, PATCH, PUT and DELETE. */
  csrfToken: z.string(),
  expiresAt: z.string().optional(),
});

const cap = z.number().int().min(0).max(100_000);

/**
 * What a tenant may have and do. `maxAccounts` is unlimited when absent; the other counts default to
 * the server's configuration (ONRAMP_MAX_PENDING_CONNECTIONS, …) and, when set here, replace it for
 * this tenant.
 */
export const tenantLimitsSchema = z.object({
  maxAccounts: cap.optional(),
  partitions: z.array(partitionIdSchema).min(1).optional(),
  methods: z.array(methodSchema).min(1).optional(),
  /** Connections not yet connected to an account. */
  maxPendingConnections: cap.optional(),
  maxWebhooks: cap.optional(),
  /** Tokens neither revoked nor expired. */
  maxTokens: cap.optional(),
  maxUsers: cap.optional(),
  /** Connected AWS organizations (each with its member accounts, which `maxAccounts` counts). */
  maxOrganizations: cap.optional(),
});

export const tenantSchema = z.object({
  id: z.string(),
  name: z.string(),
  limits: tenantLimitsSchema,
  createdAt: z.string(),
});

export const createTenantRequestSchema = z.object({
  name,
  limits: tenantLimitsSchema.default({}),
  /** The tenant's first admin, created with the tenant. */
  admin: z.object({ email, name, password }).optional(),
});
export const updateTenantRequestSchema = z.object({
  name: name.optional(),
  limits: tenantLimitsSchema.optional(),
});

/** GET /v1/tenants: oldest first, a page at a time. */
export const tenantListSchema = z.object({
  tenants: z.array(tenantSchema),
  next: nextCursorSchema,
});
export const listTenantsQuerySchema = pageQuerySchema;

export const userSchema = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  email: z.string(),
  name: z.string(),
  role: roleSchema,
  createdAt: z.string(),
  disabled: z.boolean(),
});
/** GET /v1/users: oldest first, a page at a time. */
export const userListSchema = z.object({ users: z.array(userSchema), next: nextCursorSchema });
export const listUsersQuerySchema = pageQuerySchema;

export const createUserRequestSchema = z.object({
  email,
  name,
  password,
  role: z.enum(['tenant_admin', 'tenant_viewer']),
});
export const updateUserRequestSchema = z.object({
  name: name.optional(),
  role: z.enum(['tenant_admin', 'tenant_viewer']).optional(),
  disabled: z.boolean().optional(),
});

export const apiTokenSchema = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  name: z.string(),
  /** The first characters, to recognise the token: onr_AbC1… */
  prefix: z.string(),
  scopes: z.array(scopeSchema),
  createdBy: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
  /** The token that made this one (a machine token), or null for one made in a console session. */
  parentTokenId: z.string().nullable(),
});
export const createTokenRequestSchema = z.object({
  name,
  scopes: z.array(scopeSchema).min(1),
  /**
   * Days until it expires; omit for a token that does not expire. A token made with another token
   * never outlives it: asking for longer (or for no expiry) gets the parent's expiry.
   */
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});
/** GET /v1/tokens: newest first, a page at a time. */
export const apiTokenListSchema = z.object({
  tokens: z.array(apiTokenSchema),
  next: nextCursorSchema,
});
export const listTokensQuerySchema = pageQuerySchema;

/** The only response that carries the token itself, once. */
export const createdTokenResponseSchema = z.object({ token: apiTokenSchema, secret: z.string() });

export const auditEntrySchema = z.object({
  id: z.string(),
  tenantId: z.string().nullable(),
  actorType: z.enum(['user', 'token', 'system', 'setup', 'connect_session']),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string(),
  targetId: z.string(),
  requestId: z.string(),
  sourceIp: z.string(),
  at: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export const auditPageSchema = z.object({
  entries: z.array(auditEntrySchema),
  next: nextCursorSchema,
});

/** PUT /v1/me/password: the signed-in person changes their own password. Other sessions end. */
export const changePasswordRequestSchema = z.object({
  currentPassword: z.string().min(1).max(256),
  newPassword: password,
});

/**
 * POST /v1/users/:id/password-reset: an admin makes a single-use reset link for a user. The link is in
 * this response only; hand it to the person. Making another replaces it.
 */
export const passwordResetLinkSchema = z.object({
  /** The console's reset page with the token in its fragment; relative when no public URL is set. */
  url: z.string(),
  expiresAt: z.string(),
});

/** POST /v1/password-reset: the person sets a new password with the link's token. Sessions end. */
export const redeemPasswordResetRequestSchema = z.object({
  token: z.string().min(1).max(200),
  newPassword: password,
});

/** GET /v1/audit: a page, optionally of one record's entries. */
export const auditQuerySchema = pageQuerySchema.extend({
  /** The older name of `cursor`, still understood. */
  before: z.string().max(100).optional(),
  targetId: z.string().max(64).optional(),
});
