import { z } from 'zod';
import {
  accountSchema,
  connectionSchema,
  createAccountRequestSchema,
  replaceCredentialsRequestSchema,
} from './accounts.ts';
import { catalogResponseSchema } from './catalog.ts';
import {
  bundleIdSchema,
  nextCursorSchema,
  pageQuerySchema,
  partitionIdSchema,
  regionIdSchema,
  safeTextSchema,
} from './common.ts';
import { methodSchema, roleMethodSchema } from './identity.ts';

/**
 * Hosted connect sessions (issue 17): the platform's backend asks for a short-lived, single-use link
 * for one of its customers (a tenant), sends the customer there, and reads the outcome back from the
 * API when the browser returns. The link opens Onramp's connect wizard for that one session, with no
 * Onramp sign-in, offering only what the session allows.
 */

/** A bundle or region list the session fixes, or offers the customer to choose from. */
function choiceOf<T extends z.ZodType>(item: T, what: string) {
  return z.union([
    z
      .object({ fixed: z.array(item).max(100) })
      .strict()
      .meta({ description: `The ${what} are these; the customer cannot change them.` }),
    z
      .object({
        choose: z.array(item).min(1).max(100),
        /** Chosen at first; a subset of `choose` (default: the partition's defaults among them). */
        preselected: z.array(item).max(100).optional(),
      })
      .strict()
      .meta({ description: `The customer chooses the ${what} among these.` }),
  ]);
}

export const bundleChoiceSchema = choiceOf(bundleIdSchema, 'permissions (bundles)');
export const regionChoiceSchema = choiceOf(regionIdSchema, 'regions');

/** A reference of the platform's own (its customer's or workspace's id), kept and echoed back. */
export const connectSessionReferenceSchema = safeTextSchema({ max: 200 });

/** POST /v1/connect-sessions */
export const createConnectSessionRequestSchema = z
  .object({
    reference: connectSessionReferenceSchema.optional(),
    /**
     * Where the browser returns, with `connect_session=<id>&outcome=<outcome>` added to its query.
     * Must be on the operator's allow-list (ONRAMP_CONNECT_RETURN_URLS or the operator's settings).
     */
    returnUrl: z.string().trim().min(1).max(2048),
    /** Default: every partition the tenant may use. */
    partitions: z.array(partitionIdSchema).min(1).max(3).optional(),
    /** Default: every method the tenant may use in the chosen partition. */
    methods: z.array(methodSchema).min(1).max(3).optional(),
    /** Default: the customer chooses among every bundle of the catalog. */
    bundles: bundleChoiceSchema.optional(),
    /** Default: every region, unrestricted (`{ "fixed": [] }`); offer `choose` to let the customer limit them. */
    regions: regionChoiceSchema.optional(),
    /** The connected account's name; default: the customer types it (suggested: the reference). */
    accountName: safeTextSchema({ min: 1, max: 100 }).optional(),
    /**
     * An existing account (`acct_…`) to fix or re-connect instead of a new one: new keys, the
     * permission update, or a new role, then a validation. Partitions, methods and bundles follow it.
     */
    account: z.string().min(1).max(100).optional(),
    /** How long the link works, in minutes (default ONRAMP_CONNECT_SESSION_MINUTES, 60). */
    expiresInMinutes: z.number().int().min(5).max(1440).optional(),
  })
  .strict();

export const CONNECT_SESSION_STATES = [
  /** Made; the link was not opened yet. */
  'open',
  /** The link was opened (once) in a browser, which holds the session from then on. */
  'active',
  /** The account was connected (or fixed): `accountId`. */
  'completed',
  /** The customer or the platform cancelled it. */
  'cancelled',
  /** It ran out of time before it completed. */
  'expired',
] as const;
export const connectSessionStateSchema = z.enum(CONNECT_SESSION_STATES);

/** What the browser returns with (`outcome=`), and what the API says happened. */
export const connectSessionOutcomeSchema = z.enum(['connected', 'fixed', 'cancelled', 'expired']);

export const connectSessionSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  reference: z.string().nullable(),
  state: connectSessionStateSchema,
  /** null while open or active. */
  outcome: connectSessionOutcomeSchema.nullable(),
  kind: z.enum(['connect', 'fix']),
  partitions: z.array(partitionIdSchema),
  methods: z.array(methodSchema),
  bundles: bundleChoiceSchema,
  regions: regionChoiceSchema,
  accountName: z.string().nullable(),
  returnUrl: z.string(),
  /** The account connected or fixed (and for `fix`, the account from the start). */
  accountId: z.string().nullable(),
  /** The role set-up the session made, if it made one. */
  connectionId: z.string().nullable(),
  /** Only in the response to POST /v1/connect-sessions: the single-use link. Never stored. */
  url: z.string().optional(),
  expiresAt: z.string(),
  openedAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  createdAt: z.string(),
  /** `token:tok_…` or `user:usr_…`: who made it. */
  createdBy: z.string(),
});

export const listConnectSessionsQuerySchema = pageQuerySchema.extend({
  state: connectSessionStateSchema.optional(),
  reference: z.string().max(200).optional(),
});

export const connectSessionListSchema = z.object({
  sessions: z.array(connectSessionSchema),
  next: nextCursorSchema,
});

// ---- the hosted wizard's side (the browser holding the session) -----------------------------------

export const connectSessionParamsSchema = z.object({ sessionId: z.string().min(1).max(100) });

/** POST /v1/connect/sessions/:sessionId/open: the secret from the link's fragment (`#…`). */
export const openConnectSessionRequestSchema = z.object({ token: z.string().min(1).max(200) });

/** The operator's brand, as every customer-facing page and text shows it. */
export const brandingSchema = z.object({
  /** The platform's product name ("Acme Cloud"): templates, steps and pages name it. */
  name: z.string(),
  /** GET /v1/branding/logo when the operator uploaded one; null: no logo. */
  logoUrl: z.string().nullable(),
  /** CSS hex colours (`#rrggbb`). */
  colors: z.object({ primary: z.string(), accent: z.string() }),
  /** Where the customer gets help (https URL or mailto:); null: none offered. */
  supportUrl: z.string().nullable(),
});

const hexColor = z
  .string()
  .trim()
  .regex(/^#[0-9a-fA-F]{6}$/, 'a colour as #rrggbb');

/** PATCH /v1/operator/settings: the brand and the return-URL allow-list (absent: unchanged). */
export const updateOperatorSettingsRequestSchema = z
  .object({
    brandName: safeTextSchema({ min: 1, max: 60 }).optional(),
    colors: z.object({ primary: hexColor, accent: hexColor }).strict().optional(),
    /** https URL or mailto:; null removes it. */
    supportUrl: z.string().trim().max(2048).nullable().optional(),
    /** Origins or URL prefixes (`https://app.acme.example/settings/aws`); https, or http on localhost. */
    returnUrls: z.array(z.string().trim().min(1).max(2048)).max(50).optional(),
  })
  .strict();

export const operatorSettingsSchema = z.object({
  branding: brandingSchema,
  /** The settings page's own allow-list (what PATCH `returnUrls` replaces). */
  returnUrls: z.array(z.string()),
  /** ONRAMP_CONNECT_RETURN_URLS: allowed too, changed only in configuration. */
  configuredReturnUrls: z.array(z.string()),
  /** Which values come from configuration (they win over the settings page until unset there). */
  fromConfiguration: z.array(z.enum(['brandName', 'colors', 'supportUrl', 'logo', 'returnUrls'])),
});

/** What the hosted wizard shows: the session's choices, never anything else of the tenant. */
export const hostedSessionSchema = z.object({
  id: z.string(),
  state: connectSessionStateSchema,
  outcome: connectSessionOutcomeSchema.nullable(),
  kind: z.enum(['connect', 'fix']),
  branding: brandingSchema,
  /** The partitions offered, each with its methods (what the session allows and the tenant may use). */
  partitions: z.array(
    z.object({
      partition: partitionIdSchema,
      displayName: z.string(),
      methods: z.array(methodSchema),
      /** Why roles or keyless roles are not offered here, when they are not. */
      reason: z.string().nullable(),
    }),
  ),
  bundles: bundleChoiceSchema,
  regions: regionChoiceSchema,
  /**
   * The catalog as GET /v1/catalog answers it, limited to the bundles the session offers (their
   * names, descriptions and actions, for the wizard to show). Absent: the wizard shows bundle ids.
   */
  catalog: catalogResponseSchema.optional(),
  accountName: z.string().nullable(),
  /** The session's role set-up, once made (same shape as the tenant API's connection). */
  connection: connectionSchema.nullable(),
  /**
   * `fix`: the account to fix, as the customer may see it (no secret); `connect` once completed: the
   * account connected.
   */
  account: accountSchema.nullable(),
  /** Once completed or cancelled: the return URL with `connect_session` and `outcome` added. */
  redirectTo: z.string().nullable(),
  expiresAt: z.string(),
  /** Send it in `x-csrf-token` with every POST/PATCH of the session. */
  csrfToken: z.string(),
});

/** POST …/connection and PATCH …/connection: the session's one role set-up. */
export const hostedConnectionRequestSchema = z
  .object({
    partition: partitionIdSchema,
    method: roleMethodSchema.default('role'),
    bundles: z.array(bundleIdSchema).max(100).optional(),
    regions: z.array(regionIdSchema).max(50).optional(),
    setupMethod: z.enum(['cloudformation', 'quick_create', 'terraform', 'manual']).optional(),
  })
  .strict();

/**
 * POST …/validate and POST …/complete of a `connect` session: the account as the tenant API takes it,
 * bound to the session (a role must name the session's connection; bundles and regions must be
 * allowed).
 */
export const hostedAccountRequestSchema = createAccountRequestSchema;

/**
 * POST …/complete of a `fix` session: new keys or a new role for the account, or `{ "verify": true }`
 * once the permission update is applied (the account's stack update or the policies by hand).
 */
export const hostedFixRequestSchema = z.union([
  replaceCredentialsRequestSchema,
  z.object({ verify: z.literal(true) }).strict(),
]);
