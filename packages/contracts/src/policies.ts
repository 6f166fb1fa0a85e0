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
