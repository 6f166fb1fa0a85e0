import { z } from 'zod';
import {
  accountSchema,
  accountStatusSchema,
  bundleFindingSchema,
  checkSchema,
  fieldErrorListSchema,
} from './accounts.ts';
import { nextCursorSchema, pageQuerySchema, partitionIdSchema, safeTextSchema } from './common.ts';

/**
 * Looking after connected accounts once they exist: health checks on a schedule and on demand, and
 * webhooks that tell the platform when something about an account changed.
 */

// ---- health -------------------------------------------------------------------------------------

/**
 * What recorded a check: the schedule, a request (`manual`), the validation that connected the account
 * (`connect`), changed its permissions (`permissions_changed`) or replaced its credentials
 * (`credentials_replaced`), or the CloudFormation stack that created the account's role reporting its
 * own deletion (`stack_deleted`: nothing was asked of AWS).
 */
export const checkTriggerSchema = z.enum([
  'schedule',
  'manual',
  'connect',
  'permissions_changed',
  'credentials_replaced',
  'stack_deleted',
  /** The tenant applied the permission update and asked Onramp to verify it. */
  'permissions_updated',
]);

/** One health check of an account, as recorded (GET /v1/accounts/:id/checks, POST …/check). */
export const accountCheckSchema = z.object({
  id: z.string(),
  at: z.string(),
  /** The account's health after this check (unchanged when AWS could not be reached: see `stale`). */
  status: accountStatusSchema,
  previousStatus: accountStatusSchema,
  changed: z.boolean(),
  /**
   * AWS could not be reached or throttled Onramp: nothing was learnt, the account keeps its previous
   * health, and the check is retried sooner than usual.
   */
  stale: z.boolean(),
  checks: z.array(checkSchema),
  findings: z.array(bundleFindingSchema),
  errors: fieldErrorListSchema,
  durationMs: z.number().int(),
  trigger: checkTriggerSchema,
});

export const accountCheckPageSchema = z.object({
  checks: z.array(accountCheckSchema),
  next: nextCursorSchema,
});

export const listChecksQuerySchema = pageQuerySchema;

// ---- webhooks -----------------------------------------------------------------------------------

export const WEBHOOK_EVENT_TYPES = [
  'account.created',
  'account.updated',
  'account.deleted',
  'account.health_changed',
  'account.credentials_rotated',
  /** An external ID regenerated, switched to once the role accepts it, or its predecessor dropped. */
  'account.external_id_changed',
  /** A catalog change left the account's granted permissions behind what its bundles need. */
  'account.permissions_outdated',
  /** The account's permissions were updated and verified (a check with trigger permissions_updated). */
  'account.permissions_updated',
  /** A member account of a connected organization was found (discovery or its stack's report). */
  'organization.account_discovered',
  /** A member account was validated and connected as an account. */
  'organization.account_connected',
  /** A member account could not be connected (the reason says why and what to do). */
  'organization.account_failed',
  /** A member account left the organization or was closed; it is no longer checked. */
  'organization.account_left',
  /** A hosted connect session connected or fixed its account (`data.session`, `data.account`). */
  'connect_session.completed',
] as const;

export const webhookEventTypeSchema = z.enum(WEBHOOK_EVENT_TYPES);

const webhookUrl = z.string().trim().min(1).max(2048);
const webhookDescription = safeTextSchema({ max: 500 });
const webhookEvents = z
  .array(webhookEventTypeSchema)
  .min(1, 'choose at least one event')
  .max(WEBHOOK_EVENT_TYPES.length);

/** POST /v1/webhooks */
export const createWebhookRequestSchema = z.object({
  url: webhookUrl,
  events: webhookEvents,
  description: webhookDescription.default(''),
  enabled: z.boolean().default(true),
});

/** PATCH /v1/webhooks/:id */
export const updateWebhookRequestSchema = z.object({
  url: webhookUrl.optional(),
  events: webhookEvents.optional(),
  description: webhookDescription.optional(),
  enabled: z.boolean().optional(),
});

/** An endpoint as every interface shows it: never its signing secret. */
export const webhookEndpointSchema = z.object({
  id: z.string(),
  /** `tenant`: one tenant's events; `operator`: every tenant's events (tenantId null). */
  scope: z.enum(['tenant', 'operator']),
  tenantId: z.string().nullable(),
  url: z.string(),
  description: z.string(),
  events: z.array(webhookEventTypeSchema),
  enabled: z.boolean(),
  /**
   * After a rotation, until when the replaced secret still signs deliveries beside the new one (ISO
   * time); null when only the current secret signs.
   */
  previousSecretExpiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The longest a replaced signing secret may keep signing: a week. */
export const MAX_PREVIOUS_SECRET_HOURS = 168;

const rotateWebhookSecretBodySchema = z.object({
  /** How long the replaced secret keeps signing beside the new one; 0 stops it at once. */
  previousSecretValidForHours: z.number().int().min(0).max(MAX_PREVIOUS_SECRET_HOURS).default(24),
});

/** POST /v1/webhooks/:id/rotate-secret; the body may be left out (24 hours). */
export const rotateWebhookSecretRequestSchema = rotateWebhookSecretBodySchema
  .nullish()
  .transform((body) => body ?? rotateWebhookSecretBodySchema.parse({}));

/** The creation (and rotation) response: the only time the signing secret is shown. */
export const createdWebhookResponseSchema = z.object({
  endpoint: webhookEndpointSchema,
  /** `whsec_…`: verify each delivery's Onramp-Webhook-Signature with it. Shown once. */
  secret: z.string(),
});

/** GET /v1/webhooks: oldest first, a page at a time. */
export const webhookEndpointListSchema = z.object({
  endpoints: z.array(webhookEndpointSchema),
  next: nextCursorSchema,
});
export const listWebhooksQuerySchema = pageQuerySchema;

export const webhookDeliverySchema = z.object({
  id: z.string(),
  /** The event's id, sent as Onramp-Webhook-Id: the same on every retry. */
  eventId: z.string(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  /** Attempts made so far. */
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  /** The first 500 characters of the last response's body. */
  lastResponseExcerpt: z.string().nullable(),
  /** Why the last attempt failed when there was no response (timeout, refused address…). */
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
});

export const webhookDeliveryPageSchema = z.object({
  deliveries: z.array(webhookDeliverySchema),
  next: nextCursorSchema,
});

export const listDeliveriesQuerySchema = listChecksQuerySchema;

export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;
export type AccountCheck = z.infer<typeof accountCheckSchema>;
export type WebhookEndpoint = z.infer<typeof webhookEndpointSchema>;
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

// ---- permission upgrades ------------------------------------------------------------------------

/**
 * POST /v1/accounts/recheck: check again, now, every account of the tenant that a filter selects (all
 * outdated accounts, say), paced by the health checks' own concurrency and AWS rate limits. At least
 * one filter is required, so a stray call cannot re-check a whole fleet by accident.
 */
export const recheckAccountsRequestSchema = z
  .object({
    outdated: z.literal(true).optional(),
    status: accountStatusSchema.optional(),
    partition: partitionIdSchema.optional(),
  })
  .refine((f) => f.outdated !== undefined || f.status !== undefined || f.partition !== undefined, {
    message: 'Name at least one filter (outdated, status or partition).',
  });

/** How many accounts the filter selected and are now queued for a check (they run in the background). */
export const recheckAccountsResponseSchema = z.object({ scheduled: z.number().int() });

/**
 * POST /v1/accounts/:id/permissions/verify: after the tenant applied the update, Onramp checks the
 * account again (trigger `permissions_updated`); when it passes, what it now holds is recorded as
 * granted and the account is no longer outdated or trimmed.
 */
export const permissionsVerifyResponseSchema = z.object({
  account: accountSchema,
  check: accountCheckSchema,
});
