import { z } from 'zod';
import { PARTITION_IDS } from '../partitions/partitions.ts';

/**
 * The shape of an operator's catalog file (YAML). Products group bundles; a bundle is what Spot's
 * console calls an integration: a named set of IAM statements that one feature of the platform needs.
 */
const idSchema = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{1,62}$/,
    'use 2–63 lower-case letters, digits and hyphens, starting with a letter',
  );

const conditionValueSchema = z.union([
  z.string(),
  z.boolean(),
  z.number(),
  z.array(z.union([z.string(), z.boolean(), z.number()])).min(1),
]);

/** `{ StringEquals: { 'aws:ResourceTag/owner': 'onramp' } }`: operator → key → value(s). */
export const catalogConditionsSchema = z.record(
  z.string().regex(/^[A-Za-z]+(?::[A-Za-z]+)?$/, 'a condition operator such as StringEquals'),
  z.record(z.string().min(1), conditionValueSchema),
);

export const catalogStatementSchema = z.strictObject({
  /**
   * Only for this kind of principal: `role` (Onramp signs in by assuming a role) or `user` (access
   * keys of an IAM user). Absent: for both. What a feature needs of the connected identity itself
   * differs by kind (iam:AttachRolePolicy vs iam:AttachUserPolicy).
   */
  principal: z.enum(['role', 'user']).optional(),
  actions: z.array(z.string().min(1)).min(1, 'list at least one action'),
  resources: z.array(z.string().min(1)).min(1).default(['*']),
  conditions: catalogConditionsSchema.optional(),
});

export const catalogBundleSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1).max(80),
  description: z.string().min(1).max(500),
  default: z.boolean().default(false),
  /** Where the bundle may be used; all partitions when absent. */
  partitions: z.array(z.enum(PARTITION_IDS)).min(1).optional(),
  statements: z.array(catalogStatementSchema).min(1, 'a bundle grants at least one statement'),
});

export const catalogProductSchema = z.strictObject({
  id: idSchema,
  name: z.string().min(1).max(80),
  description: z.string().min(1).max(500),
  bundles: z.array(catalogBundleSchema).min(1, 'a product has at least one bundle'),
});

export const catalogPartitionRulesSchema = z.strictObject({
  /**
   * false: tenants in this partition get the default bundles and cannot choose others (Spot offers no
   * customisation in GovCloud and China).
   */
  customizable: z.boolean().default(true),
});

export const catalogFileSchema = z.strictObject({
  version: z.literal(1),
  /** The operator's product name, used in role descriptions and instructions. */
  platform: z.string().min(1).max(60),
  partitions: z.partialRecord(z.enum(PARTITION_IDS), catalogPartitionRulesSchema).default({}),
  products: z.array(catalogProductSchema).min(1, 'a catalog has at least one product'),
});

export type CatalogFile = z.infer<typeof catalogFileSchema>;
export type CatalogConditions = z.infer<typeof catalogConditionsSchema>;
