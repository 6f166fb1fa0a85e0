import { createHash, timingSafeEqual } from 'node:crypto';
import type { hostedSessionSchema } from '@onramp/contracts';
import { api } from '@onramp/contracts';
import { describeCatalog } from '@onramp/core';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../adapters/db/schema.ts';
import { abortOnClose } from '../../http/abort-on-close.ts';
import { AppError } from '../../http/problems.ts';
import { clientAddress, requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import type { BrandingSource } from '../../ports/branding.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { toAccountResponse, toValidationResponse } from '../accounts/account-view.ts';
import type { AccountsService } from '../accounts/accounts-service.ts';
import type { PermissionsUpdateService } from '../accounts/permissions-update.ts';
import { createRateLimiter, limitedAddress } from '../auth/rate-limits.ts';
import { previewPolicyOf, userTemplateOf } from '../catalog/catalog-routes.ts';
import {
  type ConnectionsRoutesDeps,
  cloudFormationFile,
  sendDownload,
  stepsOf,
  terraformFile,
  toConnectionResponse,
} from '../connections/connections-routes.ts';
import type { StoredSession } from './connect-sessions-repository.ts';
import type { ConnectSessionsService } from './connect-sessions-service.ts';

/** What the hosted wizard's routes use. They never read `request.principal`. */
export interface HostedRoutesDeps extends ConnectionsRoutesDeps {
  db: Kysely<Database>;
  clock: () => Date;
  catalog: Parameters<typeof previewPolicyOf>[0];
  connectSessions: ConnectSessionsService;
  accounts: ConnectionsRoutesDeps['accounts'] & Pick<AccountsService, 'getAccount'>;
  permissionsUpdate: Pick<PermissionsUpdateService, 'render'>;
  branding: BrandingSource;
  webIdentity?: WebIdentityIssuer | undefined;
  /** Mark the session cookie Secure (behind TLS) even when the request reached Onramp over http. */
  secureCookies?: boolean | undefined;
}

/** The CSRF header against the session's token, in constant time (digests of equal length). */
function sameToken(presented: string | string[] | undefined, expected: string | null): boolean {
  if (typeof presented !== 'string' || !expected) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The cookie that binds a session to the one browser that opened its link. */
export function connectCookieName(sessionId: string): string {
  return `onramp_connect_${sessionId}`;
}

/** Opening attempts per address and minute: a link's secret is 256 bits, this only bounds load. */
const OPEN_LIMIT = 60;
const OPEN_WINDOW_SECONDS = 60;
/** The wizard's requests are small; nothing it sends needs the API's default body size. */
const HOSTED_BODY_LIMIT = 16 * 1024;

/**
 * The hosted wizard's side of a connect session: no Onramp sign-in. `open` trades the link's
 * secret for a cookie bound to this session; every other route needs that cookie (else the same 404
 * as an unknown session) and, to change anything, the session's CSRF token. Each acts only on the
 * session's own set-up and account, within what the session allows.
 */
export async function registerHostedRoutes(
  app: FastifyInstance,
  deps: HostedRoutesDeps,
): Promise<void> {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const limiter = createRateLimiter(deps.db, deps.clock);
  const sessions = deps.connectSessions;

  async function held(
    request: Pick<FastifyRequest, 'cookies' | 'method' | 'headers'> & {
      params: { sessionId: string };
    },
  ): Promise<StoredSession> {
    const id = request.params.sessionId;
    const session = await sessions.forBrowser(id, request.cookies[connectCookieName(id)]);
    if (!['GET', 'HEAD'].includes(request.method)) {
      if (!sameToken(request.headers['x-csrf-token'], session.csrfToken))
        throw new AppError(
          'csrf_failed',
          'Send the session’s csrfToken (from open or GET) in the x-csrf-token header.',
        );
    }
    return session;
  }

  async function hostedView(
    session: StoredSession,
    log: FastifyBaseLogger,
    meta: { requestId: string; sourceIp: string },
  ): Promise<z.input<typeof hostedSessionSchema>> {
    const caller = sessions.hostedCaller(session, meta);
    const connection = session.connectionId ? await sessions.connectionOf(session) : undefined;
    let connectionView: Awaited<ReturnType<typeof toConnectionResponse>> | null = null;
    if (connection) {
      const shown = await toConnectionResponse(deps, caller, connection, log, true);
      const base = `${deps.publicUrl?.replace(/\/+$/, '') ?? ''}/v1/connect/sessions/${session.id}/connection`;
      // The tenant's connection paths need a tenant's credentials: the wizard's are the session's.
      connectionView = {
        ...shown,
        links: {
          ...shown.links,
          cloudformationYaml: `${base}/cloudformation?format=yaml`,
          cloudformationJson: `${base}/cloudformation?format=json`,
          terraform: `${base}/terraform`,
          steps: `${base}/steps`,
        },
      };
    }
    const account = session.accountId
      ? await deps.accounts.getAccount(session.tenantId, session.accountId).catch(() => undefined)
      : undefined;
    const state = sessions.stateOf(session);
    return {
      id: session.id,
      state,
      outcome: sessions.view(session).outcome,
      kind: session.kind,
      branding: await deps.branding.brand(),
      partitions: await sessions.hostedPartitions(session),
      bundles: session.allowed.bundles,
      regions: session.allowed.regions,
      catalog: offeredCatalog(deps.catalog, session.allowed.bundles),
      accountName: session.allowed.accountName,
      connection: connectionView,
      account: account ? toAccountResponse(account, deps.webIdentity) : null,
      redirectTo: sessions.redirectOf(session),
      expiresAt: session.expiresAt,
      csrfToken: session.csrfToken ?? '',
    };
  }

  function setCookie(
    request: FastifyRequest,
    reply: FastifyReply,
    session: StoredSession,
    value: string,
  ) {
    reply.setCookie(connectCookieName(session.id), value, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      secure: request.protocol === 'https' || deps.secureCookies === true,
      expires: new Date(session.expiresAt),
    });
  }

  mount(routes, api.connect.open, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request, reply) => {
      const decision = await limiter.hit(
        `connect-open:${limitedAddress(clientAddress(request))}`,
        OPEN_LIMIT,
        OPEN_WINDOW_SECONDS,
      );
      if (!decision.allowed)
        throw new AppError('rate_limited', 'Too many attempts to open connect links.', [], {
          'retry-after': String(decision.retryAfter),
        });
      const id = request.params.sessionId;
      const { session, browserSecret } = await sessions.open(
        id,
        request.body.token,
        request.cookies[connectCookieName(id)],
        requestMeta(request),
      );
      if (browserSecret) setCookie(request, reply, session, browserSecret);
      return hostedView(session, request.log, requestMeta(request));
    },
  });

  mount(routes, api.connect.get, {
    handler: async (request) => hostedView(await held(request), request.log, requestMeta(request)),
  });

  mount(routes, api.connect.createConnection, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request) => {
      const session = await held(request);
      const meta = requestMeta(request);
      const had = session.connectionId;
      const connection = await sessions.createConnection(session, request.body, meta);
      const caller = sessions.hostedCaller(session, meta);
      if (!had) await deps.callbacks.issue(caller, connection, 'created');
      const view = await hostedView({ ...session, connectionId: connection.id }, request.log, meta);
      return view.connection ?? (await toConnectionResponse(deps, caller, connection, request.log));
    },
  });

  mount(routes, api.connect.updateConnection, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request) => {
      const session = await held(request);
      const meta = requestMeta(request);
      await sessions.updateConnection(session, request.body, meta);
      const view = await hostedView(session, request.log, meta);
      if (!view.connection) throw new Error('a session connection vanished');
      return view.connection;
    },
  });

  mount(routes, api.connect.steps, {
    handler: async (request) => {
      const session = await held(request);
      const connection = await sessions.connectionOf(session);
      return stepsOf(deps.connections.blueprintOf(connection, (await deps.branding.brand()).name));
    },
  });

  mount(routes, api.connect.cloudFormation, {
    handler: async (request, reply) => {
      const session = await held(request);
      const connection = await sessions.connectionOf(session);
      const caller = sessions.hostedCaller(session, requestMeta(request));
      // The call-back token lets the customer's stack connect the role, which is what the session is for.
      const callback =
        sessions.stateOf(session) === 'active'
          ? await deps.callbacks.callbackFor(caller, connection)
          : undefined;
      const file = cloudFormationFile(
        connection,
        deps.connections.blueprintOf(connection, (await deps.branding.brand()).name),
        request.query.format,
        callback,
      );
      return sendDownload(reply, file);
    },
  });

  mount(routes, api.connect.terraform, {
    handler: async (request, reply) => {
      const session = await held(request);
      const connection = await sessions.connectionOf(session);
      const file = terraformFile(
        connection,
        deps.connections.blueprintOf(connection, (await deps.branding.brand()).name),
      );
      return sendDownload(reply, file);
    },
  });

  mount(routes, api.connect.previewPolicy, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request) => {
      const session = await held(request);
      const method = request.body.principal === 'user' ? 'access_keys' : 'role';
      const selection = await sessions.constrainSelection(
        session,
        request.body,
        method === 'role' && session.allowed.methods.includes('oidc_role') ? 'oidc_role' : method,
      );
      return previewPolicyOf(deps.catalog, { ...request.body, ...selection });
    },
  });

  mount(routes, api.connect.userTemplate, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request) => {
      const session = await held(request);
      const selection = await sessions.constrainSelection(session, request.body, 'access_keys');
      return userTemplateOf(
        deps.catalog,
        { ...request.body, ...selection },
        (await deps.branding.brand()).name,
      );
    },
  });

  mount(routes, api.connect.validate, {
    bodyLimit: HOSTED_BODY_LIMIT,
    handler: async (request, reply) => {
      const session = await held(request);
      const report = await sessions.validate(session, request.body, abortOnClose(reply));
      // No notices: they would tell the customer about the tenant's other accounts.
      return {
        notices: [],
        ...toValidationResponse(report),
      };
    },
  });

  mount(routes, api.connect.permissionsUpdate, {
    handler: async (request) => {
      const session = await held(request);
      sessions.ensureLive(session);
      if (session.kind !== 'fix' || !session.accountId)
        throw new AppError('conflict', 'Only a session that fixes an account has an update.', [
          {
            field: 'session',
            code: 'connect_session',
            message: 'This session connects a new account.',
          },
        ]);
      return deps.permissionsUpdate.render(
        sessions.hostedCaller(session, requestMeta(request)),
        session.accountId,
        request.log,
      );
    },
  });

  mount(routes, api.connect.complete, {
    bodyLimit: HOSTED_BODY_LIMIT,
    // Its body is a union, whose own error for no body at all would not say that it is missing.
    preValidation: async (request) => {
      if (request.body === undefined || request.body === null)
        throw new AppError('invalid_request', 'body: This request needs a JSON body.', [
          { field: 'body', code: 'required', message: 'This request needs a JSON body.' },
        ]);
    },
    handler: async (request) => {
      const session = await held(request);
      const meta = requestMeta(request);
      const after = await sessions.complete(
        session,
        request.body as unknown as Record<string, unknown>,
        meta,
      );
      return hostedView(after, request.log, meta);
    },
  });

  mount(routes, api.connect.cancel, {
    handler: async (request) => {
      const session = await held(request);
      const meta = requestMeta(request);
      const after = await sessions.cancel(sessions.hostedCaller(session, meta), session);
      return hostedView(after, request.log, meta);
    },
  });
}

/**
 * The catalog as GET /v1/catalog describes it, limited to the bundles the session offers: the wizard
 * names them (and lists their actions) without the tenant's catalog endpoint.
 */
function offeredCatalog(
  catalog: HostedRoutesDeps['catalog'],
  choice: StoredSession['allowed']['bundles'],
): NonNullable<z.input<typeof hostedSessionSchema>['catalog']> {
  const offered = new Set('fixed' in choice ? choice.fixed : choice.choose);
  const description = describeCatalog(catalog);
  return {
    ...description,
    products: description.products
      .map((p) => ({ ...p, bundles: p.bundles.filter((b) => offered.has(b.id)) }))
      .filter((p) => p.bundles.length > 0),
    partitions: description.partitions.map((p) => ({
      ...p,
      defaultBundles: p.defaultBundles.filter((b) => offered.has(b)),
      availableBundles: p.availableBundles.filter((b) => offered.has(b)),
    })),
  };
}
