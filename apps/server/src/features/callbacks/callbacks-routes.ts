import { api } from '@onramp/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError } from '../../http/problems.ts';
import { clientAddress, requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import type { CallbacksService } from './callbacks-service.ts';
import { CallbackRefusedError } from './callbacks-service.ts';

/** What the call-back route uses: the service, and the database and clock of its rate limiter. */
export interface CallbacksRoutesDeps {
  callbacks: CallbacksService;
  db: Kysely<Database>;
  clock: () => Date;
}

/**
 * Callbacks per source address and window. Generous: the functions of many customers' stacks may
 * reach Onramp from the same AWS addresses, and a token (256 random bits) cannot be guessed anyway;
 * the limit keeps a stranger from making Onramp call AWS (validation) as fast as it can ask.
 */
export const CALLBACK_ATTEMPTS = 30;
export const CALLBACK_WINDOW_SECONDS = 60;

export async function registerCallbacksRoutes(
  app: FastifyInstance,
  deps: CallbacksRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const limiter = createRateLimiter(deps.db, deps.clock);

  mount(routes, api.callbacks.cloudFormation, {
    handler: async (request) => {
      const limit = await limiter.hit(
        `callback:${limitedAddress(clientAddress(request))}`,
        CALLBACK_ATTEMPTS,
        CALLBACK_WINDOW_SECONDS,
      );
      if (!limit.allowed) {
        throw new AppError(
          'rate_limited',
          `Too many callbacks from this address; try again in ${limit.retryAfter} seconds.`,
          [],
          { 'retry-after': String(limit.retryAfter) },
        );
      }
      try {
        return await deps.callbacks.handle(requestMeta(request), request.body);
      } catch (error) {
        if (error instanceof CallbackRefusedError) {
          request.log.warn(
            { reason: error.reason, requestType: request.body.requestType },
            'CloudFormation callback refused',
          );
        }
        throw error;
      }
    },
  });
}
