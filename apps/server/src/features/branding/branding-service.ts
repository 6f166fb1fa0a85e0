import { createHash } from 'node:crypto';
import type { Catalog } from '@onramp/core';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../../adapters/db/dialect.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError } from '../../http/problems.ts';
import type { AuditActor, AuditLog } from '../../ports/audit-log.ts';
import type { Brand, BrandingSource } from '../../ports/branding.ts';
import { createTtlCache } from '../../ttl-cache.ts';
import type { BrandConfig } from './brand-config.ts';
import {
  DEFAULT_COLORS,
  type LogoType,
  logoProblem,
  returnUrlListProblems,
  sniffLogoType,
  supportUrlProblem,
} from './brand-values.ts';

/** The rows of the `settings` table this feature owns. */
const BRANDING_KEY = 'branding';
const RETURN_URLS_KEY = 'connect_return_urls';
/** The logo's bytes (base64), apart from `branding` so reading the brand's text stays small. */
const LOGO_KEY = 'branding_logo';

/** A replica sees another's change within this long; its own at once. */
const CACHE_MS = 5000;

export const LOGO_PATH = '/v1/branding/logo';

type ConfigurableField = 'brandName' | 'colors' | 'supportUrl' | 'logo' | 'returnUrls';

/** What the settings rows hold. Every field is optional: absent means "not set on the page". */
interface StoredBranding {
  name?: string;
  colors?: { primary: string; accent: string };
  supportUrl?: string | null;
  logo?: { contentType: LogoType; sha256: string };
}

interface Loaded {
  stored: StoredBranding;
  returnUrls: string[];
  logo: { contentType: LogoType; bytes: Uint8Array; sha256: string } | null;
}

export interface OperatorSettingsView {
  branding: Brand;
  returnUrls: string[];
  configuredReturnUrls: string[];
  fromConfiguration: ConfigurableField[];
}

export interface SettingsUpdate {
  brandName?: string | undefined;
  colors?: { primary: string; accent: string } | undefined;
  supportUrl?: string | null | undefined;
  returnUrls?: string[] | undefined;
}

export interface BrandingServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  audit: AuditLog;
  catalog: Pick<Catalog, 'platform'>;
  /** The brand set by configuration (main.ts reads and checks it once); it wins while set. */
  brandConfig?: BrandConfig;
}

export type BrandingService = ReturnType<typeof createBrandingService>;

/**
 * The operator's brand and return-URL allow-list: configuration first, then the operator's settings
 * page (rows of `settings`), then neutral defaults (the catalog's platform name, a neutral palette,
 * no logo, no support link). Read at most every 5 s per replica; this replica forgets at once what
 * it changes itself.
 */
export function createBrandingService(deps: BrandingServiceDeps) {
  const configured = deps.brandConfig ?? {};
  const configuredLogo = configured.logo
    ? { ...configured.logo, sha256: sha256(configured.logo.bytes) }
    : null;
  const cache = createTtlCache<Loaded>({
    ttlMs: CACHE_MS,
    maxEntries: 1,
    now: () => deps.clock().getTime(),
  });

  // Requests arriving while the settings are read share that one read.
  let loading: Promise<Loaded> | undefined;
  /** Bumped by this replica's own changes: a read begun before one is not cached. */
  let generation = 0;
  async function load(): Promise<Loaded> {
    const hit = cache.get('settings');
    if (hit) return hit;
    if (loading) return loading;
    const current: Promise<Loaded> = read().finally(() => {
      if (loading === current) loading = undefined;
    });
    loading = current;
    return current;
  }

  async function read(): Promise<Loaded> {
    const startedAt = generation;
    const rows = await deps.db
      .selectFrom('settings')
      .select(['key', 'value'])
      .where('key', 'in', [BRANDING_KEY, RETURN_URLS_KEY, LOGO_KEY])
      .execute();
    const value = (key: string) => rows.find((r) => r.key === key)?.value;
    const stored = readStored(value(BRANDING_KEY));
    const logoText = value(LOGO_KEY);
    let logo: Loaded['logo'] = null;
    if (stored.logo && logoText) {
      const bytes = new Uint8Array(Buffer.from(logoText, 'base64'));
      // Served only if the bytes are still what was checked when they were stored.
      if (sniffLogoType(bytes) === stored.logo.contentType)
        logo = { contentType: stored.logo.contentType, bytes, sha256: stored.logo.sha256 };
    }
    const loaded = { stored, returnUrls: readUrls(value(RETURN_URLS_KEY)), logo };
    if (startedAt === generation) cache.set('settings', loaded);
    return loaded;
  }

  function logoOf(loaded: Loaded) {
    return configuredLogo ?? loaded.logo;
  }

  function brandOf(loaded: Loaded): Brand {
    const { stored } = loaded;
    const logo = logoOf(loaded);
    return {
      name: configured.name ?? stored.name ?? deps.catalog.platform,
      // The version in the URL lets a browser keep the image while it is the same one.
      logoUrl: logo ? `${LOGO_PATH}?v=${logo.sha256.slice(0, 16)}` : null,
      colors: {
        primary: configured.colors?.primary ?? stored.colors?.primary ?? DEFAULT_COLORS.primary,
        accent: configured.colors?.accent ?? stored.colors?.accent ?? DEFAULT_COLORS.accent,
      },
      supportUrl: configured.supportUrl ?? stored.supportUrl ?? null,
    };
  }

  const fromConfiguration: ConfigurableField[] = [
    ...(configured.name !== undefined ? (['brandName'] as const) : []),
    ...(configured.colors ? (['colors'] as const) : []),
    ...(configured.supportUrl !== undefined ? (['supportUrl'] as const) : []),
    ...(configured.logo ? (['logo'] as const) : []),
    ...(configured.returnUrls?.length ? (['returnUrls'] as const) : []),
  ];

  function viewOf(loaded: Loaded): OperatorSettingsView {
    return {
      branding: brandOf(loaded),
      returnUrls: loaded.returnUrls,
      configuredReturnUrls: [...(configured.returnUrls ?? [])],
      fromConfiguration,
    };
  }

  function refuseConfigured(field: ConfigurableField, env: string): never {
    const message = `is set by configuration (${env}); change or unset it there.`;
    throw new AppError('validation_failed', `${field} ${message}`, [
      {
        field,
        code: 'set_by_configuration',
        message,
        hint: `The configured value wins while ${env} is set.`,
      },
    ]);
  }

  /**
   * Read-modify-write of the `branding` row under a lock (the row's on PostgreSQL, the one writer's
   * on SQLite), so two operators changing different fields at once both keep their change.
   */
  async function changeStored(
    change: (stored: StoredBranding, trx: Kysely<Database>) => Promise<StoredBranding>,
  ): Promise<void> {
    const now = deps.clock().toISOString();
    await deps.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('settings')
        .values({ key: BRANDING_KEY, value: '{}', updated_at: now })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      if (deps.dialect === 'postgres') {
        await trx
          .selectFrom('settings')
          .select('key')
          .where('key', '=', BRANDING_KEY)
          .forUpdate()
          .execute();
      } else {
        await trx
          .updateTable('settings')
          .set({ key: sql`key` })
          .where('key', '=', BRANDING_KEY)
          .execute();
      }
      const row = await trx
        .selectFrom('settings')
        .select('value')
        .where('key', '=', BRANDING_KEY)
        .executeTakeFirst();
      const next = await change(readStored(row?.value), trx);
      await trx
        .updateTable('settings')
        .set({ value: JSON.stringify(next), updated_at: now })
        .where('key', '=', BRANDING_KEY)
        .execute();
    });
    forget();
  }

  /** After this replica's own change: the next read goes to the database, not to an older read. */
  function forget(): void {
    generation += 1;
    cache.clear();
    loading = undefined;
  }

  const service = {
    async brand(): Promise<Brand> {
      return brandOf(await load());
    },

    /** Configuration's origins and prefixes, then the settings page's. */
    async returnUrls(): Promise<readonly string[]> {
      const loaded = await load();
      return [...new Set([...(configured.returnUrls ?? []), ...loaded.returnUrls])];
    },

    /** The logo to serve, or null: configuration's, else the settings page's. */
    async logo(): Promise<{ contentType: LogoType; bytes: Uint8Array; sha256: string } | null> {
      return logoOf(await load());
    },

    async settings(): Promise<OperatorSettingsView> {
      return viewOf(await load());
    },

    async update(input: SettingsUpdate, actor: AuditActor): Promise<OperatorSettingsView> {
      if (input.brandName !== undefined && configured.name !== undefined)
        refuseConfigured('brandName', 'ONRAMP_BRAND_NAME');
      if (input.colors !== undefined && configured.colors)
        refuseConfigured('colors', 'ONRAMP_BRAND_PRIMARY_COLOR / ONRAMP_BRAND_ACCENT_COLOR');
      if (input.supportUrl !== undefined && configured.supportUrl !== undefined)
        refuseConfigured('supportUrl', 'ONRAMP_BRAND_SUPPORT_URL');
      const problems: { field: string; code: string; message: string; hint?: string }[] = [];
      if (input.supportUrl) {
        const problem = supportUrlProblem(input.supportUrl);
        if (problem)
          problems.push({
            field: 'supportUrl',
            code: 'invalid_format',
            message: `The support link ${problem}.`,
            hint: 'Use https://… (a help page) or mailto:help@example.com; null removes the link.',
          });
      }
      if (input.returnUrls) {
        for (const p of returnUrlListProblems(input.returnUrls, 'returnUrls'))
          problems.push({
            field: p.field,
            code: 'invalid_format',
            message: `${p.message}.`,
            hint: 'An origin (https://app.example.com) or a URL prefix (https://app.example.com/settings/aws); http only on localhost.',
          });
      }
      if (problems.length > 0) {
        throw new AppError(
          'validation_failed',
          problems.map((p) => `${p.field}: ${p.message}`).join(' '),
          problems,
        );
      }
      const changed: Record<string, unknown> = {};
      if (
        input.brandName !== undefined ||
        input.colors !== undefined ||
        input.supportUrl !== undefined
      ) {
        await changeStored(async (stored, trx) => {
          const next = { ...stored };
          if (input.brandName !== undefined) next.name = changed.brandName = input.brandName;
          if (input.colors !== undefined) {
            next.colors = {
              primary: input.colors.primary.toLowerCase(),
              accent: input.colors.accent.toLowerCase(),
            };
            changed.colors = next.colors;
          }
          if (input.supportUrl !== undefined) {
            next.supportUrl = input.supportUrl || null;
            changed.supportUrl = next.supportUrl;
          }
          if (input.returnUrls !== undefined) {
            await writeReturnUrls(trx, input.returnUrls);
            changed.returnUrls = dedupe(input.returnUrls);
          }
          await deps.audit.append(
            {
              tenantId: null,
              ...actor,
              action: 'branding.updated',
              targetType: 'settings',
              targetId: BRANDING_KEY,
              details: changed,
            },
            trx,
          );
          return next;
        });
      } else if (input.returnUrls !== undefined) {
        const urls = input.returnUrls;
        await deps.db.transaction().execute(async (trx) => {
          await writeReturnUrls(trx, urls);
          await deps.audit.append(
            {
              tenantId: null,
              ...actor,
              action: 'branding.updated',
              targetType: 'settings',
              targetId: RETURN_URLS_KEY,
              details: { returnUrls: dedupe(urls) },
            },
            trx,
          );
        });
        forget();
      }
      return viewOf(await load());
    },

    /** Stores the logo after checking its size and bytes against the type it was sent as. */
    async putLogo(
      contentType: string,
      bytes: Uint8Array,
      actor: AuditActor,
    ): Promise<OperatorSettingsView> {
      if (configured.logo) refuseConfigured('logo', 'ONRAMP_BRAND_LOGO_FILE');
      const problem = logoProblem(bytes, contentType);
      const sniffed = sniffLogoType(bytes);
      if (problem || !sniffed) {
        throw new AppError('validation_failed', `logo ${problem}`, [
          {
            field: 'logo',
            code: 'invalid_format',
            message: `The logo ${problem}.`,
            hint: 'Upload a PNG, JPEG or WebP image of at most 256 KiB, with its own Content-Type.',
          },
        ]);
      }
      const digest = sha256(bytes);
      const now = deps.clock().toISOString();
      await changeStored(async (stored, trx) => {
        await trx
          .insertInto('settings')
          .values({ key: LOGO_KEY, value: Buffer.from(bytes).toString('base64'), updated_at: now })
          .onConflict((oc) =>
            oc.column('key').doUpdateSet({
              value: Buffer.from(bytes).toString('base64'),
              updated_at: now,
            }),
          )
          .execute();
        await deps.audit.append(
          {
            tenantId: null,
            ...actor,
            action: 'branding.logo_uploaded',
            targetType: 'settings',
            targetId: LOGO_KEY,
            details: { contentType: sniffed, bytes: bytes.length, sha256: digest },
          },
          trx,
        );
        return { ...stored, logo: { contentType: sniffed, sha256: digest } };
      });
      return viewOf(await load());
    },

    async deleteLogo(actor: AuditActor): Promise<OperatorSettingsView> {
      if (configured.logo) refuseConfigured('logo', 'ONRAMP_BRAND_LOGO_FILE');
      await changeStored(async (stored, trx) => {
        await trx.deleteFrom('settings').where('key', '=', LOGO_KEY).execute();
        if (stored.logo) {
          await deps.audit.append(
            {
              tenantId: null,
              ...actor,
              action: 'branding.logo_removed',
              targetType: 'settings',
              targetId: LOGO_KEY,
              details: { sha256: stored.logo.sha256 },
            },
            trx,
          );
        }
        const { logo: _removed, ...rest } = stored;
        return rest;
      });
      return viewOf(await load());
    },
  };

  async function writeReturnUrls(trx: Kysely<Database>, urls: readonly string[]): Promise<void> {
    const value = JSON.stringify(dedupe(urls));
    const now = deps.clock().toISOString();
    await trx
      .insertInto('settings')
      .values({ key: RETURN_URLS_KEY, value, updated_at: now })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: now }))
      .execute();
  }

  return service satisfies BrandingSource;
}

function dedupe(urls: readonly string[]): string[] {
  return [...new Set(urls.map((u) => u.trim()))];
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A row that lost its shape reads as "nothing set": the brand falls back, it never fails. */
function readStored(text: string | undefined): StoredBranding {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as StoredBranding;
    return value && typeof value === 'object' ? value : {};
  } catch {
    return {};
  }
}

function readUrls(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((u): u is string => typeof u === 'string') : [];
  } catch {
    return [];
  }
}
