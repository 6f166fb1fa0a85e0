import { CoreValidationError } from '@onramp/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
} from 'fastify-type-provider-zod';
import { isDatabaseUnavailable } from '../adapters/db/database.ts';
import { AppError, PROBLEMS, problemType } from './problems.ts';

/** Fastify's limit on one path parameter (its default, kept): ids are far shorter. */
export const MAX_PARAM_LENGTH = 100;

/**
 * Errors Fastify's router raises before a route is found (a malformed %-escape, an over-long
 * parameter): without this they leave as Fastify's own JSON, not as problems.
 */
export function sendFrameworkError(
  error: Error,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  // The path is not repeated as `instance`: it may be kilobytes of a stranger's text.
  sendProblem(error, request, reply, { echoPath: false });
}

/** Sends an error as its problem, logging what is the operator's to watch. */
function sendProblem(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { echoPath: boolean } = { echoPath: true },
): void {
  const problem = toProblem(error);
  if (problem.code === 'unavailable') {
    // An outage of the database is the operator's to watch, not a bug: a warning, without the stack.
    const { code, message } = error as { code?: unknown; message?: unknown };
    request.log.warn({ err: { code, message } }, 'request failed: the database is unavailable');
  } else if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  reply
    .status(problem.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        ...problem.extensions,
        type: problemType(problem.code),
        title: problem.title,
        status: problem.status,
        detail: problem.detail,
        ...(options.echoPath ? { instance: request.url.split('?')[0] } : {}),
        requestId: request.id,
        errors: problem.errors,
      }),
    );
}

/**
 * The one place an error becomes a response: every error, thrown anywhere, leaves as RFC 9457
 * problem+json, and an unknown route as a 404 problem.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler(sendProblem);
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .type('application/problem+json')
      .send(
        JSON.stringify({
          type: problemType('not_found'),
          title: PROBLEMS.not_found.title,
          status: 404,
          detail: `No route ${request.method} ${request.url.split('?')[0]}.`,
          instance: request.url.split('?')[0],
          requestId: request.id,
          errors: [],
        }),
      );
  });
}

interface ProblemOut {
  code: string;
  status: number;
  title: string;
  detail: string;
  errors: readonly { field: string; code: string; message: string; hint?: string }[];
  headers: Record<string, string>;
  extensions?: Record<string, unknown>;
}

/** Every error leaves as problem+json; nothing internal (stack, SQL, secrets) is in it. */
export function toProblem(error: unknown): ProblemOut {
  if (error instanceof AppError) {
    return {
      code: error.code,
      status: error.status,
      title: error.title,
      detail: error.message,
      errors: error.errors,
      headers: error.headers,
      extensions: error.extensions,
    };
  }
  if (error instanceof CoreValidationError) {
    return {
      code: 'validation_failed',
      status: 422,
      title: PROBLEMS.validation_failed.title,
      detail: error.issues.map((i) => `${i.field}: ${i.message}`).join(' '),
      errors: error.issues,
      headers: {},
    };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as { validationContext?: string }).validationContext ?? 'body';
    const errors = error.validation.map((v) => {
      const path = v.instancePath.replace(/^\//, '').split('/').filter(Boolean);
      const field = path.length
        ? path.map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
        : where;
      // No body at all where the route needs one (an empty body is no body, see above).
      if (where === 'body' && !path.length && /received (undefined|null)$/.test(v.message ?? '')) {
        return {
          field,
          code: 'required',
          message: 'This request needs a JSON body.',
        };
      }
      return { field, code: 'invalid_format', message: v.message ?? 'is not valid' };
    });
    return {
      code: 'invalid_request',
      status: 400,
      title: PROBLEMS.invalid_request.title,
      detail: errors.map((e) => `${e.field}: ${e.message}`).join(' '),
      errors,
      headers: {},
    };
  }
  if (isResponseSerializationError(error)) {
    return {
      code: 'internal',
      status: 500,
      title: PROBLEMS.internal.title,
      detail: 'The response did not match its contract.',
      errors: [],
      headers: {},
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      code: 'unavailable',
      status: 503,
      title: PROBLEMS.unavailable.title,
      detail: 'The database cannot be reached right now. Try again in a moment.',
      errors: [],
      // Recovery is automatic and quick once the database is back (a new connection per query).
      headers: { 'retry-after': '1' },
    };
  }
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  // The router refused the path before any route ran (see sendFrameworkError).
  if (fastifyError.code === 'FST_ERR_BAD_URL') {
    const message = 'The path has a malformed %-escape.';
    return {
      code: 'invalid_request',
      status: 400,
      title: PROBLEMS.invalid_request.title,
      detail: message,
      errors: [{ field: 'path', code: 'invalid_format', message }],
      headers: {},
    };
  }
  if (fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const message = `A parameter in the path is longer than ${MAX_PARAM_LENGTH} characters.`;
    return {
      code: 'uri_too_long',
      status: 414,
      title: PROBLEMS.uri_too_long.title,
      detail: message,
      errors: [{ field: 'path', code: 'too_long', message }],
      headers: {},
    };
  }
  if (fastifyError.statusCode === 413) {
    return {
      code: 'payload_too_large',
      status: 413,
      title: PROBLEMS.payload_too_large.title,
      detail: 'Requests are limited to 256 KiB.',
      errors: [],
      headers: {},
    };
  }
  if (fastifyError.statusCode === 415) {
    return {
      code: 'unsupported_media_type',
      status: 415,
      title: PROBLEMS.unsupported_media_type.title,
      detail: 'Send the body as application/json.',
      errors: [],
      headers: {},
    };
  }
  if (fastifyError.statusCode === 400) {
    // Malformed JSON and the like, before any schema ran.
    return {
      code: 'invalid_request',
      status: 400,
      title: PROBLEMS.invalid_request.title,
      detail: 'The body is not valid JSON.',
      errors: [{ field: 'body', code: 'invalid_format', message: 'The body is not valid JSON.' }],
      headers: {},
    };
  }
  return {
    code: 'internal',
    status: 500,
    title: PROBLEMS.internal.title,
    detail: 'Onramp failed unexpectedly; the request id identifies it in the logs.',
    errors: [],
    headers: {},
  };
}
