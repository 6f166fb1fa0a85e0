import {
  PARTITION_IDS,
  type PartitionId,
  webIdentityAudience,
  webIdentitySubject,
} from '@onramp/core';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from 'jose';
import type { Kysely } from 'kysely';
import type { Envelope } from '../../adapters/crypto/envelope.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError } from '../../http/problems.ts';
import type { AuditActor, AuditLog } from '../../ports/audit-log.ts';
import type { OidcPublisher } from '../../ports/oidc-publisher.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import { resolveIssuer } from './issuer-url.ts';
import {
  createOidcRepository,
  isUniqueViolation,
  privateKeyBinding,
  type SigningKeyRow,
} from './oidc-repository.ts';

export type OidcAlgorithm = 'RS256' | 'ES256';

/** The issuer's settings (config.ts, ONRAMP_OIDC_*); every one has a default. */
export interface OidcSettings {
  /** An issuer published elsewhere (a static host, S3); default: ONRAMP_PUBLIC_URL + `/oidc`. */
  issuerUrl?: string;
  /** RS256 (default) or ES256: AWS accepts both for AssumeRoleWithWebIdentity. */
  algorithm?: OidcAlgorithm;
  /** How long a key signs before the next replaces it. Default 30 days. */
  rotationMs?: number;
  /** How long the next key is in the JWKS before it signs. Default 24 hours. */
  prePublicationMs?: number;
  /** How long a token is good for. Default 5 minutes, at most 60. */
  tokenLifetimeMs?: number;
}

export const OIDC_DEFAULTS = {
  algorithm: 'RS256' as OidcAlgorithm,
  rotationMs: 30 * 24 * 3_600_000,
  prePublicationMs: 24 * 3_600_000,
  tokenLifetimeMs: 5 * 60_000,
};
export const MAX_TOKEN_LIFETIME_MS = 60 * 60_000;

/**
 * How long a retired key stays in the JWKS beyond the lifetime of the last token it signed: the
 * clocks of the replica that signed and of AWS that checks may differ by this much.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** Cache-Control of the public documents: AWS and proxies may keep them this long. */
export const OIDC_DOCUMENT_CACHE_CONTROL = 'public, max-age=300';

export type KeyState = 'next' | 'signing' | 'retired';

/** A key as the operator sees it: never its private part. */
export interface SigningKeyView {
  kid: string;
  generation: number;
  algorithm: OidcAlgorithm;
  state: KeyState;
  published: boolean;
  createdAt: string;
  signsFrom: string;
  retiredAt: string | null;
  unpublishAt: string | null;
}

export interface PublishResult {
  at: string;
  ok: boolean;
  /** What failed, for the operator (the SDK's or the file system's message; never a credential). */
  error: string | null;
}

export interface OidcLog {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface OidcServiceDeps {
  db: Kysely<Database>;
  envelope: Envelope;
  clock: () => Date;
  randomBytes: (size: number) => Uint8Array;
  audit: AuditLog;
  publicUrl?: string | undefined;
  oidc?: OidcSettings | undefined;
  oidcPublishers?: readonly OidcPublisher[] | undefined;
  oidcLog?: OidcLog | undefined;
}

/** Why a rotation made no key. */
export class RotationConflict extends AppError {
  constructor(message: string, hint: string) {
    super('conflict', message, [{ field: 'immediate', code: 'rotation_conflict', message, hint }]);
  }
}

/**
 * A key's state at `now`, from the keys alone, so every replica agrees without talking: the signing
 * key is the newest generation whose `signsFrom` has come; a key is retired once a newer one has
 * begun signing (the earliest such start is its `retiredAt`), and leaves the JWKS `tokenLifetime +
 * skew` later, when no token it signed can still be presented.
 */
export function keyStates(rows: readonly SigningKeyRow[], now: Date, tokenLifetimeMs: number) {
  const at = now.getTime();
  const started = rows.filter((r) => Date.parse(r.signsFrom) <= at);
  const signing = started.reduce<SigningKeyRow | undefined>(
    (best, r) => (!best || r.generation > best.generation ? r : best),
    undefined,
  );
  return rows.map((row) => {
    const successors = started.filter((r) => r.generation > row.generation);
    const computedRetired = successors.length
      ? new Date(Math.min(...successors.map((r) => Date.parse(r.signsFrom)))).toISOString()
      : null;
    const retiredAt = row.retiredAt ?? computedRetired;
    const unpublishAt =
      row.unpublishAt ??
      (retiredAt
        ? new Date(Date.parse(retiredAt) + tokenLifetimeMs + CLOCK_SKEW_MS).toISOString()
        : null);
    // The newest key that has begun signing by this replica's clock signs, even if a replica whose
    // clock runs ahead already recorded its retirement: otherwise, for the moment the clocks differ,
    // this replica would have no key to sign with. Its tokens stay good: the key is published until
    // the recorded retirement plus a token's lifetime and the clock skew.
    const state: KeyState = row === signing ? 'signing' : retiredAt ? 'retired' : 'next';
    return {
      row,
      state,
      retiredAt,
      unpublishAt,
      published: unpublishAt === null || Date.parse(unpublishAt) > at,
      /** The database has not recorded the retirement yet. */
      unrecorded: row.retiredAt === null && retiredAt !== null,
    };
  });
}

/**
 * Onramp's OpenID Connect issuer (issue 15): signing keys shared by every replica through the
 * database, their rotation with a pre-published successor, the discovery document and JWKS AWS
 * fetches, and the short-lived tokens Onramp's own services present to
 * sts:AssumeRoleWithWebIdentity. No route ever returns a token.
 */
export function createOidcService(deps: OidcServiceDeps) {
  const settings = { ...OIDC_DEFAULTS, ...deps.oidc };
  const { issuer, unavailableReason } = resolveIssuer({
    issuerUrl: deps.oidc?.issuerUrl,
    publicUrl: deps.publicUrl,
  });
  const repository = createOidcRepository(deps.db, deps.clock);
  const publishers = deps.oidcPublishers ?? [];
  /** Private keys opened once per kid: a kid's key never changes. */
  const privateKeys = new Map<string, Promise<CryptoKey>>();
  const lastPublished = new Map<string, string>();
  const lastResults = new Map<string, PublishResult>();
  /** Once a key exists, it always will (keys are never deleted): no need to look again. */
  let keysExist = false;
  /** Keys out of the JWKS whose private key this replica has already deleted. */
  const purged = new Set<string>();

  /** The keys and their states now, recording any retirement not yet written (once, idempotent). */
  async function load() {
    const now = deps.clock();
    const rows = await repository.list();
    if (rows.length > 0) keysExist = true;
    const states = keyStates(rows, now, settings.tokenLifetimeMs);
    for (const s of states) {
      if (s.unrecorded && s.retiredAt && s.unpublishAt) {
        await repository.recordRetirement(s.row.kid, s.retiredAt, s.unpublishAt);
      }
    }
    const gone = states.filter((s) => !s.published && !purged.has(s.row.kid)).map((s) => s.row.kid);
    if (gone.length > 0) {
      await repository.purgePrivateKeys(gone);
      for (const kid of gone) {
        privateKeys.delete(kid);
        purged.add(kid);
      }
    }
    return { now, rows, states };
  }

  /** The audit entry of a new key, written in the transaction that stores it. */
  type KeyAudit = (
    row: { kid: string; generation: number; signsFrom: string },
    trx: Kysely<Database>,
  ) => Promise<void>;

  /** Makes, seals and stores a key, published now, that signs `delayMs` later. */
  async function newKey(
    generation: number,
    delayMs: number,
    createdBy: string | null,
    audit?: KeyAudit,
  ) {
    const createdAt = deps.clock();
    const signsFrom = new Date(createdAt.getTime() + delayMs);
    const algorithm = settings.algorithm;
    const { publicKey, privateKey } = await generateKeyPair(algorithm, {
      extractable: true,
      ...(algorithm === 'RS256' ? { modulusLength: 2048 } : {}),
    });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = await exportJWK(privateKey);
    const sealed = deps.envelope.seal(JSON.stringify(privateJwk), privateKeyBinding(kid));
    const row = {
      kid,
      generation,
      algorithm,
      publicJwk: { ...publicJwk, kid, alg: algorithm, use: 'sig' },
      createdAt: createdAt.toISOString(),
      signsFrom: signsFrom.toISOString(),
      createdBy,
    };
    await repository.insert(row, sealed, audit ? (trx) => audit(row, trx) : undefined);
    privateKeys.set(kid, Promise.resolve(privateKey));
    return row;
  }

  /**
   * The first key, signing at once. Of replicas starting together one inserts it and the others read
   * it (the unique generation); within a process, requests arriving together wait for one attempt
   * instead of each generating a key pair.
   */
  let firstKey: Promise<void> | undefined;
  async function ensureKey(): Promise<void> {
    if (keysExist) return;
    firstKey ??= (async () => {
      if ((await repository.list()).length === 0) {
        try {
          await newKey(1, 0, null);
        } catch (error) {
          if (!isUniqueViolation(error)) throw error;
        }
      }
      keysExist = true;
    })().finally(() => {
      firstKey = undefined;
    });
    await firstKey;
  }

  async function privateKeyOf(row: SigningKeyRow): Promise<CryptoKey> {
    let key = privateKeys.get(row.kid);
    if (!key) {
      key = (async () => {
        const sealed = await repository.sealedPrivateKey(row.kid);
        if (!sealed) throw new Error(`the private key of signing key ${row.kid} is not stored`);
        const jwk = JSON.parse(deps.envelope.open(sealed, privateKeyBinding(row.kid))) as JWK;
        return (await importJWK(jwk, row.algorithm)) as CryptoKey;
      })();
      privateKeys.set(row.kid, key);
      // A failure is not remembered: the next token tries again.
      key.catch(() => privateKeys.delete(row.kid));
    }
    return key;
  }

  function requireIssuer(): string {
    // Anyone may ask: the reason (which names settings) is for the operator, in GET /v1/oidc.
    if (!issuer) {
      throw new AppError(
        'not_found',
        'This Onramp has no OpenID Connect issuer, so keyless roles are off; an operator sees why in GET /v1/oidc.',
      );
    }
    return issuer;
  }

  async function jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    await ensureKey();
    const { states } = await load();
    return { keys: states.filter((s) => s.published).map((s) => s.row.publicJwk) };
  }

  function discovery(issuerUrl: string) {
    return {
      issuer: issuerUrl,
      jwks_uri: `${issuerUrl}/jwks.json`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: [settings.algorithm],
      claims_supported: ['iss', 'sub', 'aud', 'iat', 'nbf', 'exp', 'jti'],
    };
  }

  async function documents(): Promise<{ discovery: string; jwks: string }> {
    const issuerUrl = requireIssuer();
    return {
      discovery: `${JSON.stringify(discovery(issuerUrl), null, 2)}\n`,
      jwks: `${JSON.stringify(await jwks(), null, 2)}\n`,
    };
  }

  /**
   * Copies the documents to every publish target whose copy differs from what this replica last
   * wrote there (`force`: all of them). A failure is logged and shown in the status, never thrown:
   * the issuer Onramp serves itself keeps working.
   */
  async function publish(options: { force?: boolean } = {}): Promise<void> {
    if (!issuer || publishers.length === 0) return;
    const docs = await documents();
    const text = docs.discovery + docs.jwks;
    for (const publisher of publishers) {
      if (!options.force && lastPublished.get(publisher.target) === text) continue;
      const at = deps.clock().toISOString();
      try {
        await publisher.publish(docs);
        lastPublished.set(publisher.target, text);
        lastResults.set(publisher.target, { at, ok: true, error: null });
        deps.oidcLog?.info({ target: publisher.target }, 'published the OpenID Connect documents');
      } catch (error) {
        lastPublished.delete(publisher.target);
        const message = error instanceof Error ? error.message : String(error);
        lastResults.set(publisher.target, { at, ok: false, error: message });
        deps.oidcLog?.warn(
          { target: publisher.target, error: message },
          'publishing the OpenID Connect documents failed; retrying on the next pass',
        );
      }
    }
  }

  async function insertNext(
    generation: number,
    delayMs: number,
    createdBy: string | null,
    audit: KeyAudit,
  ): Promise<SigningKeyRow | null> {
    try {
      const row = await newKey(generation, delayMs, createdBy, audit);
      return { ...row, retiredAt: null, unpublishAt: null };
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      throw error;
    }
  }

  const service = {
    issuer,
    unavailableReason,

    audienceFor: (partition: PartitionId): string => webIdentityAudience(partition),

    subjectFor: (tenantId: string, connectionId: string): string =>
      webIdentitySubject(tenantId, connectionId),

    async mint(input: { subject: string; audience: string; ttlSeconds?: number }): Promise<string> {
      const issuerUrl = issuer;
      if (!issuerUrl) throw new Error(`keyless roles are not offered: ${unavailableReason}`);
      await ensureKey();
      const { now, states } = await load();
      const signing = states.find((s) => s.state === 'signing');
      if (!signing) throw new Error('no signing key has begun signing yet');
      const maxSeconds = Math.floor(settings.tokenLifetimeMs / 1000);
      const ttl = Math.max(1, Math.min(input.ttlSeconds ?? maxSeconds, maxSeconds));
      const iat = Math.floor(now.getTime() / 1000);
      const jti = Buffer.from(deps.randomBytes(16)).toString('base64url');
      return new SignJWT({})
        .setProtectedHeader({ alg: signing.row.algorithm, kid: signing.row.kid, typ: 'JWT' })
        .setIssuer(issuerUrl)
        .setSubject(input.subject)
        .setAudience(input.audience)
        .setIssuedAt(iat)
        .setNotBefore(iat)
        .setExpirationTime(iat + ttl)
        .setJti(jti)
        .sign(await privateKeyOf(signing.row));
    },

    /** The discovery document Onramp serves (404 problem when no issuer is configured). */
    discoveryDocument() {
      return discovery(requireIssuer());
    },

    /** The JWKS: every key not past its unpublish time, the next one included. */
    async jwksDocument() {
      requireIssuer();
      return jwks();
    },

    /** The keys and their states, newest first (never a private part). */
    async keys(): Promise<SigningKeyView[]> {
      const { states } = await load();
      return states
        .map((s) => ({
          kid: s.row.kid,
          generation: s.row.generation,
          algorithm: s.row.algorithm,
          state: s.state,
          published: s.published,
          createdAt: s.row.createdAt,
          signsFrom: s.row.signsFrom,
          retiredAt: s.retiredAt,
          unpublishAt: s.unpublishAt,
        }))
        .reverse();
    },

    /** Everything GET /v1/oidc shows. */
    async status() {
      return {
        offered: issuer !== null,
        issuer,
        unavailableReason,
        discoveryUrl: issuer ? `${issuer}/.well-known/openid-configuration` : null,
        jwksUri: issuer ? `${issuer}/jwks.json` : null,
        algorithm: settings.algorithm,
        tokenLifetimeSeconds: Math.floor(settings.tokenLifetimeMs / 1000),
        rotationSeconds: Math.floor(settings.rotationMs / 1000),
        prePublicationSeconds: Math.floor(settings.prePublicationMs / 1000),
        audiences: Object.fromEntries(
          PARTITION_IDS.map((p) => [p, service.audienceFor(p)]),
        ) as Record<PartitionId, string>,
        keys: await service.keys(),
        publish: publishers.map((p) => ({
          target: p.target,
          lastResult: lastResults.get(p.target) ?? null,
        })),
      };
    },

    /**
     * A new key, asked for by an operator: it signs after the pre-publication period, or at once when
     * `immediate` (a key that leaked). One key per call; a call that finds the next key already
     * waiting (unless immediate), or that loses the race for the generation to another call at the
     * same moment, makes none and is refused with 409. Audited `oidc.key_rotated`.
     */
    async rotate(
      input: { immediate?: boolean | undefined },
      actor: AuditActor,
      /** Where the rotation was asked for, when not the API (`onramp oidc rotate`). */
      via?: string,
    ): Promise<SigningKeyView> {
      if (!issuer) {
        throw new AppError(
          'conflict',
          `Keyless roles are off, so there is no issuer key to rotate: ${unavailableReason}`,
        );
      }
      await ensureKey();
      const { rows, states } = await load();
      const latest = rows.at(-1);
      const waiting = states.find((s) => s.state === 'next' && s.row === latest);
      if (waiting && !input.immediate) {
        throw new RotationConflict(
          `Signing key ${waiting.row.kid} is already waiting to sign from ${waiting.row.signsFrom}; no second key was made.`,
          'To replace the signing key now (a key that leaked), rotate with immediate: POST {"immediate": true}, or `onramp oidc rotate --immediate`.',
        );
      }
      const created = await insertNext(
        (latest?.generation ?? 0) + 1,
        input.immediate ? 0 : settings.prePublicationMs,
        actor.actorId,
        (row, trx) =>
          deps.audit.append(
            {
              tenantId: null,
              ...actor,
              action: 'oidc.key_rotated',
              targetType: 'oidc_signing_key',
              targetId: row.kid,
              details: {
                generation: row.generation,
                immediate: Boolean(input.immediate),
                signsFrom: row.signsFrom,
                ...(via ? { via } : {}),
              },
            },
            trx,
          ),
      );
      if (!created) {
        throw new RotationConflict(
          'Another rotation made a key at the same moment; this one made none.',
          'See GET /v1/oidc for the keys, and rotate again only if you still need another.',
        );
      }
      // The key is made and audited: a copy that cannot be written now (even for want of the
      // database) is the rotation job's to retry, not a failure of the rotation.
      await publish().catch((error: unknown) =>
        deps.oidcLog?.warn(
          { error: error instanceof Error ? error.message : String(error) },
          'publishing the OpenID Connect documents after a rotation failed; the job retries',
        ),
      );
      const view = (await service.keys()).find((k) => k.kid === created.kid);
      if (!view) throw new Error(`signing key ${created.kid} vanished after it was made`);
      return view;
    },

    /**
     * The schedule, run by the rotation job on every replica: the first key if there is none, then
     * the next key once the signing one has signed for `rotation − pre-publication`. Replicas that
     * get there together insert one key between them (the unique generation). Then publishes.
     */
    async runSchedule(): Promise<{ created: string | null }> {
      await ensureKey();
      const { now, rows } = await load();
      const latest = rows.at(-1);
      let created: string | null = null;
      if (latest && Date.parse(latest.signsFrom) <= now.getTime()) {
        const due = Date.parse(latest.signsFrom) + settings.rotationMs - settings.prePublicationMs;
        if (now.getTime() >= due) {
          const row = await insertNext(
            latest.generation + 1,
            settings.prePublicationMs,
            null,
            (key, trx) =>
              deps.audit.append(
                {
                  tenantId: null,
                  actorType: 'system',
                  actorId: null,
                  action: 'oidc.key_rotated',
                  targetType: 'oidc_signing_key',
                  targetId: key.kid,
                  details: {
                    generation: key.generation,
                    immediate: false,
                    scheduled: true,
                    signsFrom: key.signsFrom,
                  },
                },
                trx,
              ),
          );
          if (row) created = row.kid;
        }
      }
      await publish();
      return { created };
    },

    publish,
  };
  return service satisfies WebIdentityIssuer;
}

export type OidcService = ReturnType<typeof createOidcService>;
