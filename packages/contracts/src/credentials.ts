import { z } from 'zod';
import { bundleIdSchema } from './common.ts';

/**
 * POST /v1/accounts/:id/credentials: short-lived credentials of a connected account, for the
 * platform's own services. Without `bundles` the session has every permission of the account; with
 * them, a session policy narrows it to those bundles (role accounts only).
 */
export const vendCredentialsRequestSchema = z
  .object({
    bundles: z
      .array(bundleIdSchema)
      .min(1)
      .max(20)
      .optional()
      .meta({ description: 'Narrow the session to some of the account’s bundles.' }),
    durationSeconds: z.number().int().min(900).max(43200).optional().meta({
      description:
        'Default 3600. At most 3600 when Onramp’s hub identity is itself a role (AWS caps role chaining at one hour), and at most the role’s MaxSessionDuration.',
    }),
  })
  .meta({
    description: 'Optional: an empty or absent body asks for the account’s full permissions.',
  });

/**
 * The one response of the API that carries credentials. Its own contract, shared with no account
 * view: nothing else may ever grow a field that holds a secret.
 */
export const vendedCredentialsSchema = z.object({
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  sessionToken: z.string(),
  /** ISO 8601; Onramp serves the same credentials until five minutes before this. */
  expiration: z.string(),
});

/** POST /v1/accounts/:id/console-link: a one-time AWS console sign-in link for a role account. */
export const consoleLinkSchema = z.object({
  /** The partition's federation sign-in URL; it signs in whoever opens it, so treat it as a secret. */
  url: z.string(),
  /** AWS accepts the link for 15 minutes after it was made. */
  expiresAt: z.string(),
  /** When the console session it opens ends. */
  sessionExpiresAt: z.string(),
});

export type VendCredentialsRequest = z.infer<typeof vendCredentialsRequestSchema>;
export type VendedCredentials = z.infer<typeof vendedCredentialsSchema>;
export type ConsoleLink = z.infer<typeof consoleLinkSchema>;
