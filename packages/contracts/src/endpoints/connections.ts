import {
  cloudFormationQuerySchema,
  connectionListSchema,
  connectionSchema,
  createConnectionRequestSchema,
  listConnectionsQuerySchema,
  stepsResponseSchema,
  updateConnectionRequestSchema,
} from '../accounts.ts';
import { idParamsSchema } from '../common.ts';
import { defineEndpoint } from '../endpoint.ts';

/** Role set-ups, pending until the role is connected as an account. */
export const connectionsEndpoints = {
  create: defineEndpoint({
    method: 'POST',
    path: '/v1/connections',
    tags: ['connections'],
    summary: 'Start a role set-up',
    description:
      'Onramp generates the external ID (a client cannot choose it) and returns the templates and steps that create the role.',
    body: createConnectionRequestSchema,
    responses: { 201: connectionSchema },
  }),
  update: defineEndpoint({
    method: 'PATCH',
    path: '/v1/connections/:id',
    tags: ['connections'],
    summary: 'Change a pending role set-up',
    description:
      'Name, description, partition, permissions, regions, role name, or how the role will be made. The external ID never changes here: a role created with it keeps working. A new partition takes its default permissions and all regions unless `bundles` and `regions` are sent too. 409 once connected or expired.',
    params: idParamsSchema,
    body: updateConnectionRequestSchema,
    responses: { 200: connectionSchema },
  }),
  list: defineEndpoint({
    method: 'GET',
    path: '/v1/connections',
    tags: ['connections'],
    summary: 'List connections',
    description:
      'Oldest first; pass `next` as `cursor` for the following page. `status=pending` lists the set-ups a tenant can still resume (not connected, not expired).',
    query: listConnectionsQuerySchema,
    responses: { 200: connectionListSchema },
  }),
  get: defineEndpoint({
    method: 'GET',
    path: '/v1/connections/:id',
    tags: ['connections'],
    summary: 'Get a connection',
    description: 'Retrying a set-up reuses it: the external ID stays the same.',
    params: idParamsSchema,
    responses: { 200: connectionSchema },
  }),
  regenerateExternalId: defineEndpoint({
    method: 'POST',
    path: '/v1/connections/:id/external-id',
    tags: ['connections'],
    summary: 'Generate a new external ID',
    description:
      'Only while the connection is pending; the role must then be created with the new one.',
    params: idParamsSchema,
    responses: { 200: connectionSchema },
  }),
  delete: defineEndpoint({
    method: 'DELETE',
    path: '/v1/connections/:id',
    tags: ['connections'],
    summary: 'Delete a pending connection',
    params: idParamsSchema,
  }),
  cloudFormation: defineEndpoint({
    method: 'GET',
    path: '/v1/connections/:id/cloudformation',
    tags: ['connections'],
    summary: 'Download the CloudFormation template',
    description:
      'When Onramp has a public URL, the template also reports the role back by itself: a function and a custom resource that call Onramp with a one-time token once the role exists.',
    params: idParamsSchema,
    query: cloudFormationQuerySchema,
  }),
  terraform: defineEndpoint({
    method: 'GET',
    path: '/v1/connections/:id/terraform',
    tags: ['connections'],
    summary: 'Download the Terraform configuration',
    params: idParamsSchema,
  }),
  steps: defineEndpoint({
    method: 'GET',
    path: '/v1/connections/:id/steps',
    tags: ['connections'],
    summary: 'The role set-up as manual steps in the AWS console',
    params: idParamsSchema,
    responses: { 200: stepsResponseSchema },
  }),
};
