import type { Catalog } from '@onramp/core';
import type { Kysely } from 'kysely';
import type { Dialect } from '../../adapters/db/dialect.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account, GrantedBundle, PermissionChange } from '../../domain/account.ts';
import type { WebIdentityIssuer } from '../../ports/web-identity.ts';
import type { SerialisedWebhookEvent, WebhookEvent } from '../webhooks/webhooks-service.ts';
import { toAccountResponse } from './account-view.ts';
import { createAccountsRepository, type SweptAccount } from './accounts-repository.ts';
import { diffGrants, grantsOf, principalOf, wantedBundles } from './permission-grants.ts';

/** What the sweep is built from: the database, the catalog this process loaded, and the outbox. */
export interface OutdatedSweepDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  catalog: Catalog;
  clock: () => Date;
  /** Onramp's OpenID Connect issuer: what a keyless role account's event shows it trusts. */
  webIdentity?: WebIdentityIssuer | undefined;
  /** Records the events of a page in its transaction (features/webhooks `publishAll`). */
  events?:
    | {
        publishAll(
          events: readonly (WebhookEvent | SerialisedWebhookEvent)[],
          executor: Kysely<Database>,
        ): Promise<number>;
      }
    | undefined;
}

/** What one sweep did, for the job log and the tests. */
export interface OutdatedSweepSummary {
  /** Accounts compared with the catalog. */
  compared: number;
  /** Accounts that became outdated, or whose changes changed: one event each. */
  outdated: number;
  /** Accounts no longer outdated (the catalog came back to what they were granted). */
  cleared: number;
  /** Accounts connected before grants were kept: the catalog of now recorded as their grant. */
  baselined: number;
  /**
   * Rows not written: another replica or a request changed them between this sweep's read and its
   * write, or their stored values do not have their shape (logged; nothing is compared for them).
   */
  skipped: number;
  ms: number;
}

export const SWEEP_PAGE = 500;
/**
 * Rows written per transaction: a few pages, so that a commit (a WAL sync on SQLite) is paid a few
 * times per 10,000 accounts rather than per page, while a transaction holds SQLite's write lock for
 * tens of milliseconds (about 15 µs a row with its outbox row), never seconds.
 */
export const SWEEP_BATCH = 2_000;

interface Batch {
  writes: SweptAccount[];
  kinds: Map<string, 'outdated' | 'cleared' | 'baselined'>;
  announced: Map<string, SerialisedWebhookEvent>;
}

/** Changes as stored and as compared: the same fields in the same order, whoever wrote them. */
function canonical(changes: readonly PermissionChange[]): string | null {
  if (changes.length === 0) return null;
  return JSON.stringify(changes.map((c) => ({ bundle: c.bundle, add: c.add, remove: c.remove })));
}

/**
 * Compares every account's recorded grant with what the catalog this process loaded asks of its
 * bundles now, with no AWS call, and records the difference (permission-grants.ts): an account whose
 * grant no longer matches becomes outdated with its changes per bundle, and one event
 * `account.permissions_outdated` is written to the outbox when it becomes so (or its changes
 * change); one that matches again is cleared; one connected before grants were kept gets the catalog
 * of now as its grant (unverified). Read in pages of 500 by id, outside any transaction; written
 * SWEEP_BATCH rows at a time, each batch's writes and their events in one transaction (applySweep,
 * publishAll), the events' data serialised beforehand so the transaction holds its locks only for the
 * writes. Every write is a compare-and-set on what was read, so replicas starting together (or a
 * PATCH meanwhile) neither publish twice nor overwrite a newer state. Running it again with the same
 * catalog writes nothing; a stop writes what was read before it.
 */
export function createOutdatedSweep(deps: OutdatedSweepDeps) {
  const repo = createAccountsRepository(deps.db, deps.clock);
  // Accounts share a few bundle sets and a few grants: what each set asks now is worked out (and
  // hashed) once per sweep, and so is each grant's difference from it (a grant is known by its
  // bundles' hashes, which cover their statements whole).
  const wantedCache = new Map<string, { grants: Record<string, GrantedBundle>; text: string }>();
  const diffCache = new Map<string, { changes: PermissionChange[]; text: string | null }>();
  function wantedOf(account: Account, read: SweptAccount['read']) {
    const principal = principalOf(account.method);
    const key = `${principal}|${account.partition}|${account.bundleChoice}|${read.bundles}`;
    let wanted = wantedCache.get(key);
    if (!wanted) {
      const grants = grantsOf(deps.catalog, wantedBundles(deps.catalog, account), principal);
      wanted = { grants, text: JSON.stringify(grants) };
      wantedCache.set(key, wanted);
    }
    return { key, ...wanted };
  }
  function diffOf(granted: Record<string, GrantedBundle>, wanted: ReturnType<typeof wantedOf>) {
    let key = wanted.key;
    for (const id in granted) key += `|${id}:${granted[id]?.hash}`;
    let diff = diffCache.get(key);
    if (!diff) {
      const changes = diffGrants(granted, wanted.grants);
      diff = { changes, text: canonical(changes) };
      diffCache.set(key, diff);
    }
    return diff;
  }

  /** One transaction: a batch's compare-and-set writes, and the events of the rows written. */
  async function write(batch: Batch, summary: OutdatedSweepSummary): Promise<void> {
    if (batch.writes.length === 0) return;
    await deps.db.transaction().execute(async (trx) => {
      const written = await repo.applySweep(batch.writes, deps.dialect, trx);
      summary.skipped += batch.writes.length - written.length;
      const events: SerialisedWebhookEvent[] = [];
      for (const id of written) {
        const kind = batch.kinds.get(id);
        if (kind) summary[kind] += 1;
        const event = batch.announced.get(id);
        if (event) events.push(event);
      }
      if (deps.events) await deps.events.publishAll(events, trx);
    });
  }

  async function run(
    options: {
      pageSize?: number;
      batchSize?: number;
      signal?: { stopping: boolean };
      /** Where a corrupt row is reported (the job's log). */
      log?: { warn(details: Record<string, unknown>, message: string): void };
    } = {},
  ): Promise<OutdatedSweepSummary> {
    const started = performance.now();
    const pageSize = options.pageSize ?? SWEEP_PAGE;
    const batchSize = options.batchSize ?? SWEEP_BATCH;
    const summary: OutdatedSweepSummary = {
      compared: 0,
      outdated: 0,
      cleared: 0,
      baselined: 0,
      skipped: 0,
      ms: 0,
    };
    wantedCache.clear();
    diffCache.clear();
    // What the pages read so far ask to write, written together once there are enough of them.
    let batch: Batch = { writes: [], kinds: new Map(), announced: new Map() };
    let after: string | null = null;
    while (!options.signal?.stopping) {
      const page = await repo.pageAllTenants(after, pageSize);
      if (page.length === 0) break;
      after = page[page.length - 1]?.account.id ?? null;
      summary.compared += page.length;
      const at = deps.clock().toISOString();
      for (const { account, read, corrupt } of page) {
        if (corrupt.length) {
          // A row edited by hand or restored badly: comparing it would record its empty reading as
          // the account's state. It is left as it is, and said so; the rest of the fleet goes on.
          summary.skipped += 1;
          options.log?.warn(
            { accountId: account.id, tenantId: account.tenantId, columns: corrupt },
            'account skipped by the catalog comparison: stored values of the wrong shape',
          );
          continue;
        }
        const wanted = wantedOf(account, read);
        const state = account.permissions;
        if (state.granted === null) {
          batch.writes.push({
            id: account.id,
            granted: wanted.text,
            grantedAt: at,
            changes: null,
            outdatedSince: null,
            read,
          });
          batch.kinds.set(account.id, 'baselined');
          continue;
        }
        const { changes, text } = diffOf(state.granted, wanted);
        const before = canonical(state.changes);
        if (text === null) {
          if (before === null && state.outdatedSince === null) continue;
          batch.writes.push({ ...unchanged(account.id, read), changes: null, outdatedSince: null });
          batch.kinds.set(account.id, 'cleared');
          continue;
        }
        if (text === before && state.outdatedSince !== null) continue;
        const outdatedSince = state.outdatedSince ?? at;
        batch.writes.push({ ...unchanged(account.id, read), changes: text, outdatedSince });
        if (text !== before) {
          batch.kinds.set(account.id, 'outdated');
          // The event's data, serialised here rather than in the transaction that records it.
          batch.announced.set(account.id, {
            tenantId: account.tenantId,
            type: 'account.permissions_outdated',
            dataJson: `{"account":${JSON.stringify(
              toAccountResponse(
                { ...account, permissions: { ...state, changes, outdatedSince } },
                deps.webIdentity,
              ),
            )},"changes":${text}}`,
          });
        }
      }
      if (batch.writes.length >= batchSize) {
        await write(batch, summary);
        batch = { writes: [], kinds: new Map(), announced: new Map() };
      }
    }
    // Pages read before a stop are written still: their compare-and-set holds whenever it runs.
    await write(batch, summary);
    summary.ms = Math.round(performance.now() - started);
    return summary;
  }

  return { run };
}

/** A write that leaves the grant as it is. */
function unchanged(
  id: string,
  read: SweptAccount['read'],
): Omit<SweptAccount, 'changes' | 'outdatedSince'> {
  return { id, granted: null, grantedAt: null, read };
}

export type OutdatedSweep = ReturnType<typeof createOutdatedSweep>;
