export * from './catalog/catalog.ts';
export * from './catalog/catalog-schema.ts';
export * from './errors.ts';
export * from './identifiers.ts';
export * from './partitions/partitions.ts';
export * from './policy/global-services.ts';
export * from './policy/placeholders.ts';
export * from './policy/policy-builder.ts';
export * from './policy/policy-document.ts';
export * from './policy/principal-statements.ts';
export * from './policy/trust-policy.ts';
export * from './policy/validation-bundle.ts';
export * from './render/callback-function.ts';
export * from './render/cloudformation.ts';
export * from './render/manual-steps.ts';
export * from './render/organization-blueprint.ts';
export * from './render/organization-model.ts';
export * from './render/organization-steps.ts';
export * from './render/organization-templates.ts';
export * from './render/organization-terraform.ts';
export * from './render/role-blueprint.ts';
export * from './render/terraform.ts';
export * from './render/user-blueprint.ts';
export * from './render/user-templates.ts';

/** Location of the shipped example catalog; reading it is left to the caller (the core does no I/O). */
export const DEFAULT_CATALOG_URL = new URL('../catalog/default.yaml', import.meta.url);
export * from './organizations/organization-rules.ts';
