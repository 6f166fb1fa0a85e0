import {
  cloudFormationCallbackRequestSchema,
  cloudFormationCallbackResponseSchema,
} from '../callbacks.ts';
import { problemSchema } from '../common.ts';
import { defineEndpoint } from '../endpoint.ts';

/** What a CloudFormation stack Onramp rendered calls back. */
export const callbacksEndpoints = {
  cloudFormation: defineEndpoint({
    method: 'POST',
    path: '/v1/callbacks/cloudformation',
    tags: ['callbacks'],
    summary: 'Report the role a CloudFormation stack created (called by the stack)',
    description:
      'Called by the callback function of a template Onramp rendered, never by a person. The one-time token in the body is the credential. Create and Update connect the role as the connection’s account (the same token and role again get the same answer); Delete marks that account invalid. A token that is unknown, expired or spent on another role gets 404, whichever it is.',
    anonymous: true,
    body: cloudFormationCallbackRequestSchema,
    responses: {
      200: cloudFormationCallbackResponseSchema,
      404: problemSchema,
      422: problemSchema,
      429: problemSchema,
    },
  }),
};
