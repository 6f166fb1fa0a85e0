import { partitionOfferListSchema } from '../accounts.ts';
import { catalogResponseSchema } from '../catalog.ts';
import { defineEndpoint } from '../endpoint.ts';
import {
  policyPreviewRequestSchema,
  policyPreviewResponseSchema,
  userTemplateRequestSchema,
  userTemplateResponseSchema,
} from '../policies.ts';

/** The catalog, and the policies and user templates made from a selection of it. */
export const catalogEndpoints = {
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/catalog',
    tags: ['catalog'],
    summary: 'Products and bundles, what is default and where each is available',
    responses: { 200: catalogResponseSchema },
  }),
  previewPolicy: defineEndpoint({
    method: 'POST',
    path: '/v1/policies/preview',
    tags: ['catalog'],
    summary: 'The exact IAM policies for a selection (the console’s live “View JSON”)',
    body: policyPreviewRequestSchema,
    responses: { 200: policyPreviewResponseSchema },
  }),
  userTemplate: defineEndpoint({
    method: 'POST',
    path: '/v1/catalog/user-template',
    tags: ['catalog'],
    summary: 'The dedicated IAM user of an access-key account, as templates and steps',
    description:
      'For the access-keys path: a user holding only the selection’s policy, as CloudFormation (AWS::IAM::User and AWS::IAM::ManagedPolicy), Terraform and manual steps, with links to the partition’s IAM console. Neither template creates an access key (its secret would sit in the stack or the Terraform state): the tenant makes one in the IAM console and gives it to Onramp.',
    body: userTemplateRequestSchema,
    responses: { 200: userTemplateResponseSchema },
  }),
};

/** What a tenant may connect, per partition. */
export const partitionsEndpoints = {
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/partitions',
    tags: ['accounts'],
    summary: 'Partitions and the ways to connect accounts in them',
    responses: { 200: partitionOfferListSchema },
  }),
};
