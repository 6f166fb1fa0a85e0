import { z } from 'zod';
import {
  bundleIdSchema,
  bundleSelectionSchema,
  partitionIdSchema,
  regionIdSchema,
} from './common.ts';

/** POST /v1/policies/preview: the live "View JSON". */
export const policyPreviewRequestSchema = z.object({
  partition: partitionIdSchema,
  bundles: bundleSelectionSchema.default('default'),
  regions: z.array(regionIdSchema).max(50).optional(),
  principal: z.enum(['role', 'user']).default('role'),
});

const conditionValueSchema = z.union([
  z.string(),
  z.number(),
  z.boolean(),
  z.array(z.union([z.string(), z.number(), z.boolean()])),
]);

export const policyStatementSchema = z.object({
  Sid: z.string(),
  Effect: z.literal('Allow'),
  Action: z.array(z.string()),
  Resource: z.union([z.string(), z.array(z.string())]),
  Condition: z.record(z.string(), z.record(z.string(), conditionValueSchema)).optional(),
});

export const policyDocumentSchema = z
  .object({ Version: z.literal('2012-10-17'), Statement: z.array(policyStatementSchema) })
  .meta({ description: 'An IAM policy document, exactly as AWS accepts it.' });

export const policyPreviewResponseSchema = z.object({
  partition: partitionIdSchema,
  bundles: z.array(bundleIdSchema),
  regions: z.array(z.string()),
  policies: z.array(
    z.object({
      name: z.string(),
      /** Characters IAM counts (whitespace excluded), against the limit of 6,144. */
      size: z.number().int(),
      document: policyDocumentSchema,
    }),
  ),
});

export type PolicyPreviewRequest = z.input<typeof policyPreviewRequestSchema>;
export type PolicyPreviewResponse = z.infer<typeof policyPreviewResponseSchema>;

/**
 * POST /v1/catalog/user-template: the dedicated IAM user of an access-key account (Tutum's "create a
 * tutum user"), as templates that create the user and its policies and never an access key.
 */
export const userTemplateRequestSchema = z.object({
  partition: partitionIdSchema,
  bundles: bundleSelectionSchema.default('default'),
  regions: z.array(regionIdSchema).max(50).optional(),
  /** Default: named after the platform, such as `acme-cloud-onramp`. */
  userName: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, 'A user name is 1 to 64 letters, digits and + = , . @ _ -.')
    .optional(),
});

export const userTemplateResponseSchema = z.object({
  partition: partitionIdSchema,
  userName: z.string(),
  bundles: z.array(bundleIdSchema),
  regions: z.array(z.string()),
  /** The partition's IAM console: the users list, "Create user", and the user's access keys. */
  consoleLinks: z.object({ users: z.string(), createUser: z.string(), accessKeys: z.string() }),
  /** The user's policies as pasted in the console (`*` for the account). */
  policies: z.array(z.object({ name: z.string(), document: policyDocumentSchema })),
  /** The same as manual steps in the IAM console, ending with the access key made there. */
  steps: z.array(
    z.object({
      title: z.string(),
      detail: z.string(),
      link: z.string().optional(),
      values: z.array(
        z.object({ label: z.string(), value: z.string(), format: z.enum(['text', 'json']) }),
      ),
    }),
  ),
  cloudformation: z.object({ fileName: z.string(), yaml: z.string() }),
  terraform: z.object({ fileName: z.string(), hcl: z.string() }),
});

export type UserTemplateRequest = z.input<typeof userTemplateRequestSchema>;
export type UserTemplateResponse = z.infer<typeof userTemplateResponseSchema>;
