import { api } from '@onramp/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { actorOf, requireOperator } from '../../domain/principal.ts';
import { AppError, notFound } from '../../http/problems.ts';
import { requestMeta } from '../../http/request-meta.ts';
import { mount } from '../../http/route.ts';
import { MAX_LOGO_BYTES } from './brand-values.ts';
import type { BrandingService } from './branding-service.ts';

export interface BrandingRoutesDeps {
  branding: Pick<
    BrandingService,
    'brand' | 'logo' | 'settings' | 'update' | 'putLogo' | 'deleteLogo'
  >;
}

/** The image itself, sent as the body; a bigger body is read only far enough to say it is too big. */
const LOGO_BODY_LIMIT = MAX_LOGO_BYTES * 2;

/**
 * The brand as customers see it (anonymous: the sign-in page and hosted sessions show it before any
 * sign-in) and the operator's settings page.
 */
export async function registerBrandingRoutes(
  app: FastifyInstance,
  deps: BrandingRoutesDeps,
): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  mount(r, api.branding.get, {
    // Not cached by browsers (the default no-store): a rename shows at the next page load, and
    // at once on the settings page that made it. The logo's URL carries its version instead.
    handler: async () => deps.branding.brand(),
  });
  mount(r, api.branding.logo, {
    handler: async (_request, reply) => {
      const logo = await deps.branding.logo();
      if (!logo) throw notFound('A logo');
      // Served with the type its bytes were sniffed as, and no way to run as a document: a file
      // that starts like a PNG and goes on as HTML stays an image (nosniff), and the data CSP every
      // response gets (default-src 'none') stops anything it could load.
      return reply
        .header('content-type', logo.contentType)
        .header('x-content-type-options', 'nosniff')
        .header('cross-origin-resource-policy', 'same-origin')
        .header('cache-control', 'public, max-age=300')
        .header('etag', `"${logo.sha256.slice(0, 32)}"`)
        .send(Buffer.from(logo.bytes));
    },
  });
  mount(r, api.branding.settings, {
    handler: async (request) => {
      requireOperator(request.principal);
      return deps.branding.settings();
    },
  });
  mount(r, api.branding.updateSettings, {
    handler: async (request) => {
      const principal = requireOperator(request.principal);
      return deps.branding.update(request.body, { ...actorOf(principal), ...requestMeta(request) });
    },
  });
  mount(r, api.branding.deleteLogo, {
    handler: async (request) => {
      const principal = requireOperator(request.principal);
      return deps.branding.deleteLogo({ ...actorOf(principal), ...requestMeta(request) });
    },
  });

  // The upload takes the image as it is (no JSON, no multipart), so its parser lives in a context of
  // its own: no other route accepts an image body.
  await app.register(async (scoped) => {
    scoped.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: LOGO_BODY_LIMIT },
      (_request, body, done) => done(null, body),
    );
    mount(scoped.withTypeProvider<ZodTypeProvider>(), api.branding.putLogo, {
      bodyLimit: LOGO_BODY_LIMIT,
      handler: async (request) => {
        const principal = requireOperator(request.principal);
        const bytes = logoBody(request);
        return deps.branding.putLogo(contentTypeOf(request), bytes, {
          ...actorOf(principal),
          ...requestMeta(request),
        });
      },
    });
  });
}

function contentTypeOf(request: FastifyRequest): string {
  return String(request.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase() as string;
}

function logoBody(request: FastifyRequest): Uint8Array {
  const type = contentTypeOf(request);
  if (type === 'image/svg+xml') {
    throw new AppError('validation_failed', 'logo: SVG is refused: it can carry script.', [
      {
        field: 'logo',
        code: 'invalid_format',
        message: 'SVG logos are refused: an SVG is a document that can carry script.',
        hint: 'Export the logo as PNG or WebP (at most 256 KiB) and upload that.',
      },
    ]);
  }
  if (!['image/png', 'image/jpeg', 'image/webp'].includes(type)) {
    throw new AppError(
      'unsupported_media_type',
      `logo: send the image with Content-Type image/png, image/jpeg or image/webp (not ${type || 'none'}).`,
      [
        {
          field: 'logo',
          code: 'invalid_format',
          message: `The logo was sent as ${type || 'no type'}; only image/png, image/jpeg and image/webp are taken.`,
          hint: 'Send the image itself as the body, with its Content-Type.',
        },
      ],
    );
  }
  const body = request.body;
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new AppError('validation_failed', 'logo: the body is empty.', [
      {
        field: 'logo',
        code: 'required',
        message: 'The body is empty: send the image itself as the body.',
      },
    ]);
  }
  if (body.length > MAX_LOGO_BYTES) {
    throw new AppError(
      'payload_too_large',
      `logo: ${Math.ceil(body.length / 1024)} KiB; the limit is 256 KiB.`,
      [
        {
          field: 'logo',
          code: 'too_large',
          message: `The logo is ${Math.ceil(body.length / 1024)} KiB; the limit is 256 KiB.`,
          hint: 'Make the image smaller (a header logo rarely needs more than 50 KiB).',
        },
      ],
    );
  }
  return new Uint8Array(body);
}
