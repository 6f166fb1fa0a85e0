import { z } from 'zod';
import { bundleIdSchema, partitionIdSchema } from './common.ts';

export const catalogBundleViewSchema = z.object({
  id: bundleIdSchema,
  name: z.string(),
  description: z.string(),
  isDefault: z.boolean(),
  partitions: z.array(partitionIdSchema),
  /** Every action the bundle grants, wildcards as written, for "expand to see its actions". */
  actions: z.array(z.string()),
  /** What a role, or an IAM user (access keys), gets from it: some statements are for one kind only. */
  actionsFor: z.object({ role: z.array(z.string()), user: z.array(z.string()) }),
});

export const catalogProductViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string(),
  bundles: z.array(catalogBundleViewSchema),
});

export const catalogPartitionViewSchema = z.object({
  partition: partitionIdSchema,
  displayName: z.string(),
  customizable: z.boolean(),
  defaultBundles: z.array(bundleIdSchema),
  availableBundles: z.array(bundleIdSchema),
});

/** GET /v1/catalog */
export const catalogResponseSchema = z.object({
  platform: z.string(),
  products: z.array(catalogProductViewSchema),
  partitions: z.array(catalogPartitionViewSchema),
});

export type CatalogResponse = z.infer<typeof catalogResponseSchema>;
