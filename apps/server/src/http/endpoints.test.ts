import { api, type Endpoint, listEndpoints } from '@onramp/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALLBACK_PATH } from '../features/callbacks/callbacks-service.ts';
import { createHarness } from '../testing/harness.ts';
import { mountedEndpoints } from './route.ts';

const declared = listEndpoints(api);
const keyOf = (method: string, path: string) => `${method} ${path}`;

/**
 * Every route Fastify knows, as `METHOD /path` (without the HEAD it adds for each GET), read from
 * its own tree listing: each line is a node's path after its parent's, indented four per level.
 */
function routesOf(listing: string): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of listing.split('\n')) {
    const match = /^(.*?)[└├]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match || match[2] === undefined) continue;
    const depth = (match[1] ?? '').length / 4;
    const path = (prefixes[depth - 1] ?? '') + match[2];
    prefixes[depth] = path;
    prefixes.length = depth + 1;
    for (const method of match[3]?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(keyOf(method, path));
    }
  }
  return routes;
}

describe('endpoints declared in the contracts', () => {
  let h: Awaited<ReturnType<typeof createHarness>>;
  beforeAll(async () => {
    h = await createHarness('sqlite');
  });
  afterAll(async () => {
    await h.close();
  });

  it('are each declared once, by method and path', () => {
    const keys = declared.map((e) => keyOf(e.method, e.path));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('is what every /v1 route Fastify has was mounted from', () => {
    const mounted = new Set(mountedEndpoints(h.app).map((e) => keyOf(e.method, e.path)));
    const v1 = routesOf(h.app.printRoutes({ commonPrefix: false })).filter((r) =>
      r.split(' ')[1]?.startsWith('/v1/'),
    );
    expect(new Set(v1).size).toBe(declared.length);
    expect(v1.filter((route) => !mounted.has(route))).toEqual([]);
  });

  it('are each mounted exactly once', () => {
    const mounted = mountedEndpoints(h.app);
    const times = (endpoint: Endpoint) => mounted.filter((e) => e === endpoint).length;
    expect(declared.filter((e) => times(e) !== 1).map((e) => keyOf(e.method, e.path))).toEqual([]);
    expect(mounted).toHaveLength(declared.length);
  });

  it('are in the OpenAPI document with their summaries, unless hidden', async () => {
    const spec = (await h.anonymous.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    for (const endpoint of declared) {
      const path = endpoint.path.replace(/:(\w+)/g, '{$1}');
      const operation = spec.paths[path]?.[endpoint.method.toLowerCase()];
      if (endpoint.hidden) expect(operation, keyOf(endpoint.method, path)).toBeUndefined();
      else expect(operation?.summary, keyOf(endpoint.method, path)).toBe(endpoint.summary);
    }
  });

  it('document the routes a stranger may call, and only those, as needing no credential', async () => {
    const spec = (await h.anonymous.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const open = Object.entries(spec.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, operation]) => operation.security?.length === 0)
        .map(([method]) => keyOf(method.toUpperCase(), path)),
    );
    // Each carries its credential in the body: a set-up token, a password, a reset, call-back or
    // enrollment token; a hosted connect session's routes, the link's secret (open) or the cookie
    // open set for that one session. The brand is public: the sign-in page and every hosted page
    // show it before anyone is known.
    expect(open.sort()).toEqual([
      'GET /v1/branding',
      'GET /v1/branding/logo',
      'GET /v1/connect/sessions/{sessionId}',
      'GET /v1/connect/sessions/{sessionId}/connection/cloudformation',
      'GET /v1/connect/sessions/{sessionId}/connection/steps',
      'GET /v1/connect/sessions/{sessionId}/connection/terraform',
      'GET /v1/connect/sessions/{sessionId}/permissions-update',
      'PATCH /v1/connect/sessions/{sessionId}/connection',
      'POST /v1/callbacks/cloudformation',
      'POST /v1/callbacks/organizations/{kind}',
      'POST /v1/connect/sessions/{sessionId}/cancel',
      'POST /v1/connect/sessions/{sessionId}/complete',
      'POST /v1/connect/sessions/{sessionId}/connection',
      'POST /v1/connect/sessions/{sessionId}/open',
      'POST /v1/connect/sessions/{sessionId}/policy-preview',
      'POST /v1/connect/sessions/{sessionId}/user-template',
      'POST /v1/connect/sessions/{sessionId}/validate',
      'POST /v1/password-reset',
      'POST /v1/session',
      'POST /v1/setup',
    ]);
  });

  it('name the path the CloudFormation call-back is rendered with', () => {
    expect(api.callbacks.cloudFormation.path).toBe(CALLBACK_PATH);
  });
});
