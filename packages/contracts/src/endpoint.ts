import type { z } from 'zod';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * One endpoint of the API, declared once: the server mounts it, the OpenAPI document describes it and
 * the client calls it from this, so a path or a schema cannot differ between them.
 */
export interface Endpoint {
  readonly method: HttpMethod;
  /** Fastify's form: `/v1/accounts/:id`. */
  readonly path: string;
  readonly tags: readonly string[];
  readonly summary: string;
  readonly description?: string;
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** By status; a 2xx is what the client parses (none, or `z.null()` for 204, is no body). */
  readonly responses?: Readonly<Record<number, z.ZodType>>;
  /** Callable without a session or token (OpenAPI `security: []`): the credential is in the body. */
  readonly anonymous?: boolean;
  /** Left out of the OpenAPI document. */
  readonly hidden?: boolean;
}

/** Keeps the declaration's literal method, path and schemas in its type, so handlers and callers are typed by it. */
export function defineEndpoint<const E extends Endpoint>(endpoint: E): E {
  return endpoint;
}

type ParamNames<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

/** The path's parameters by name: `/v1/accounts/:id` → `{ id: string }`. */
export type PathParams<P extends string> = { [K in ParamNames<P>]: string };

/** The path with each `:name` replaced by its value, encoded, so an id cannot add a path segment. */
export function fillPath<P extends string>(path: P, params: PathParams<P>): string {
  const values = params as Record<string, string | undefined>;
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${path} needs the parameter ${name}.`);
    return encodeURIComponent(value);
  });
}

/** The schema of the success response (the first 2xx), if the endpoint answers with a body. */
export function successSchemaOf(endpoint: Endpoint): z.ZodType | undefined {
  const statuses = Object.keys(endpoint.responses ?? {})
    .map(Number)
    .filter((status) => status >= 200 && status < 300 && status !== 204)
    .sort((a, b) => a - b);
  const first = statuses[0];
  return first === undefined ? undefined : endpoint.responses?.[first];
}

/** Every endpoint of a group of groups (`api`), for tests and tools that walk them all. */
export function listEndpoints(groups: Record<string, Record<string, Endpoint>>): Endpoint[] {
  return Object.values(groups).flatMap((group) => Object.values(group));
}
