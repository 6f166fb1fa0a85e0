import type { FastifyReply } from 'fastify';

/**
 * A signal that aborts when the client goes away before its response is sent, so the AWS calls made
 * for it are cut instead of running on for nobody.
 */
export function abortOnClose(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
