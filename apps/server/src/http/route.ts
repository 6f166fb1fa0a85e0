import type { Endpoint } from '@onramp/contracts';
import type {
  ContextConfigDefault,
  FastifyBaseLogger,
  FastifyInstance,
  FastifySchema,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
  RouteHandlerMethod,
  RouteOptions,
  RouteShorthandOptions,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';

type Field<E, K extends string> = E extends { readonly [P in K]: infer S extends z.ZodType }
  ? S
  : undefined;

/** The Fastify schema of a declaration, as the type provider reads it to type a handler. */
export interface SchemaOf<E extends Endpoint> {
  params: Field<E, 'params'>;
  querystring: Field<E, 'query'>;
  body: Field<E, 'body'>;
  response: E extends { readonly responses: infer R } ? R : undefined;
}

export type EndpointHandler<E extends Endpoint> = RouteHandlerMethod<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  RouteGenericInterface,
  ContextConfigDefault,
  SchemaOf<E>,
  ZodTypeProvider,
  FastifyBaseLogger
>;

/** The handler and whatever else a route needs besides its declaration (config, bodyLimit, hooks). */
export type MountOptions<E extends Endpoint> = Omit<RouteShorthandOptions, 'schema'> & {
  handler: EndpointHandler<E>;
};

// biome-ignore lint/suspicious/noExplicitAny: route modules pass their app with or without the zod provider.
type AnyApp = FastifyInstance<RawServerDefault, any, any, FastifyBaseLogger, FastifyTypeProvider>;

/** What each server mounted, for the test that holds the routes to the declarations. */
const mountedByServer = new WeakMap<object, Endpoint[]>();

/** The Fastify schema of a declaration: what validates, serialises and documents the route. */
export function schemaOf(endpoint: Endpoint): FastifySchema & Record<string, unknown> {
  return {
    ...(endpoint.hidden ? { hide: true } : {}),
    tags: [...endpoint.tags],
    summary: endpoint.summary,
    ...(endpoint.description !== undefined ? { description: endpoint.description } : {}),
    ...(endpoint.anonymous ? { security: [] } : {}),
    ...(endpoint.params ? { params: endpoint.params } : {}),
    ...(endpoint.query ? { querystring: endpoint.query } : {}),
    ...(endpoint.body ? { body: endpoint.body } : {}),
    ...(endpoint.responses ? { response: endpoint.responses } : {}),
  };
}

/**
 * Registers a route from its declaration in the contracts: method, path and schema come from there,
 * so the route, the OpenAPI document and the client cannot disagree. The handler is typed by the
 * declaration's schemas, as a route written with the zod type provider is.
 */
export function mount<E extends Endpoint>(
  app: AnyApp,
  endpoint: E,
  options: MountOptions<E>,
): void {
  const { handler, ...extra } = options;
  const route = {
    ...extra,
    method: endpoint.method,
    url: endpoint.path,
    schema: schemaOf(endpoint),
    handler,
  } as unknown as RouteOptions;
  (app as unknown as FastifyInstance).route(route);
  const mounted = mountedByServer.get(app.server) ?? [];
  mounted.push(endpoint);
  mountedByServer.set(app.server, mounted);
}

/** The declarations mounted on an app (any of its plugin contexts), in the order they were mounted. */
export function mountedEndpoints(app: AnyApp): readonly Endpoint[] {
  return mountedByServer.get(app.server) ?? [];
}
