import { ERROR_CODES, PARTITION_IDS } from '@onramp/core';
import { z } from 'zod';

export const partitionIdSchema = z.enum(PARTITION_IDS).meta({
  description: 'AWS partition: aws (commercial), aws-us-gov (GovCloud US) or aws-cn (China).',
});

export const bundleIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a bundle id such as nodes-ec2');

export const regionIdSchema = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region such as eu-west-1');

/** One problem with a request, tied to the field it belongs to (RFC 9457 extension member `errors`). */
export const fieldErrorSchema = z.object({
  field: z.string(),
  code: z.union([z.enum(ERROR_CODES), z.string()]),
  message: z.string(),
  hint: z.string().optional(),
});

/** RFC 9457 problem details, as every Onramp error response is shaped. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(fieldErrorSchema).default([]),
});

export type FieldError = z.infer<typeof fieldErrorSchema>;
export type Problem = z.infer<typeof problemSchema>;

/** Which permissions a tenant wants: bundle ids, or the partition's defaults, or all it offers. */
export const bundleSelectionSchema = z.union([
  z.literal('default'),
  z.literal('all'),
  z.array(bundleIdSchema).max(100),
]);

/**
 * The query of every list: at most `limit` items (default 50, at most 200) after `cursor`, the `next`
 * of the previous page passed back unchanged.
 */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
});

/** Where the following page starts (pass it as `cursor`); null on the last page. */
export const nextCursorSchema = z.string().nullable();
