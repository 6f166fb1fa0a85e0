import {
  type Catalog,
  CoreValidationError,
  type FieldIssue,
  fail,
  generateExternalId,
  getPartition,
  type HubPrincipal,
  ok,
  PARTITION_IDS,
  type PartitionId,
  type PolicySelection,
  parseHubPrincipal,
  parseOidcIssuer,
  parsePartitionId,
  parseWebIdentityAudience,
  parseWebIdentitySubject,
  type Result,
  webIdentityAudience,
} from '@onramp/core';
import type { Command } from 'commander';
import { type CliIo, writeNote } from './cli-io.ts';
import { toFlagError } from './errors.ts';

/**
 * Flag values as commander hands them over (strings, unchecked), and the parsers that turn them into
 * what the core takes. Each parser reports a core-style issue whose field maps back to its flag, so a
 * command can check every flag and report every problem at once.
 */

/** Collects the issues of several parsers; throws them together as a usage error. */
export class FlagChecker {
  private readonly issues: FieldIssue[] = [];

  take<T>(result: Result<T>): T | undefined {
    if (result.ok) return result.value;
    this.issues.push(result.issue);
    return undefined;
  }

  /** Runs a core function, keeping its issues (if it throws them) with the others. */
  attempt<T>(build: () => T): T | undefined {
    try {
      return build();
    } catch (error) {
      if (!(error instanceof CoreValidationError)) throw error;
      this.issues.push(...error.issues);
      return undefined;
    }
  }

  /** Throws every issue collected so far, if there is any. */
  done(): void {
    if (this.issues.length > 0) throw this.error();
  }

  /** The error to throw when a value is missing: a parser or the core said why. */
  error(): Error {
    return this.issues.length > 0
      ? toFlagError(this.issues)
      : new Error('a flag value is missing but no problem was recorded');
  }
}

export function parsePartitionFlag(value: string | undefined): Result<PartitionId> {
  return parsePartitionId(value?.trim(), 'partition');
}

export const HUB_PRINCIPAL_HELP =
  "your platform's principal that assumes the role: its 12-digit account ID, or an IAM role or user ARN";

/** The hub principal, required; check it only once the partition is known to be good. */
export function parseHubPrincipalFlag(
  value: string | undefined,
  partition: PartitionId,
): Result<HubPrincipal> {
  if (value === undefined || value.trim() === '') {
    return fail(
      'hubPrincipal',
      'required',
      `Give ${HUB_PRINCIPAL_HELP}.`,
      `For example --hub-principal 123456789012, or --hub-principal arn:${partition}:iam::123456789012:role/platform-hub.`,
    );
  }
  return parseHubPrincipal(value.trim(), partition, 'hubPrincipal');
}

export type BundlesFlag = PolicySelection['bundles'];

export function parseBundlesFlag(value: string | undefined): Result<BundlesFlag> {
  const trimmed = value?.trim() ?? '';
  if (trimmed === 'default' || trimmed === 'all') return ok(trimmed);
  const ids = trimmed
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');
  if (ids.length === 0) {
    return fail(
      'bundles',
      'required',
      'Choose the permissions: bundle ids separated by commas, or default, or all.',
      'List the bundles with: onramp catalog',
    );
  }
  const keyword = ids.find((id) => id === 'default' || id === 'all');
  if (keyword) {
    return fail(
      'bundles',
      'invalid_format',
      `"${keyword}" cannot be combined with bundle ids.`,
      `Use --bundles ${keyword} alone, or list every bundle you want by id (see: onramp catalog).`,
    );
  }
  return ok(ids);
}

/** Regions are checked against the partition by the core; this only splits the list. */
export function parseRegionsFlag(value: string | undefined): Result<string[] | undefined> {
  if (value === undefined) return ok(undefined);
  const regions = value
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  if (regions.length === 0) {
    return fail(
      'regions',
      'required',
      'List at least one region, separated by commas, such as us-east-1,eu-west-1.',
      'Leave out --regions to allow every region.',
    );
  }
  return ok(regions);
}

/** A whole number of at least `min`; the core checks ranges that depend on more than the flag. */
export function parseIntegerFlag(
  value: string | undefined,
  field: string,
  what: string,
  min = 1,
): Result<number | undefined> {
  if (value === undefined) return ok(undefined);
  const trimmed = value.trim();
  const parsed = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    return fail(field, 'invalid_format', `"${value}" is not ${what}.`);
  }
  return ok(parsed);
}

/**
 * `--bundles all` in a partition whose tenants cannot customise (GovCloud and China in the shipped
 * catalog) means all that tenants there may have: the defaults. The core would refuse `all` there,
 * because it asks for every bundle the partition lists, which is more than the defaults.
 */
export function resolveBundleChoice(
  io: CliIo,
  catalog: Catalog,
  partition: PartitionId,
  bundles: BundlesFlag,
): BundlesFlag {
  if (bundles !== 'all' || catalog.isCustomizable(partition)) return bundles;
  const defaults = catalog
    .defaultBundles(partition)
    .map((b) => b.id)
    .sort();
  writeNote(
    io,
    `accounts in ${getPartition(partition).displayName} get the catalog's default permissions and cannot ` +
      `choose others, so --bundles all means the defaults: ${defaults.join(', ')}.`,
  );
  return 'default';
}

export interface ExternalIdChoice {
  externalId: string;
  generated: boolean;
}

/** The external ID the person gave, or a fresh one (announce it with `announceExternalId`). */
export function chooseExternalId(io: CliIo, value: string | undefined): ExternalIdChoice {
  if (value !== undefined) return { externalId: value, generated: false };
  return { externalId: generateExternalId(io.randomBytes(32)), generated: true };
}

export function announceExternalId(io: CliIo, choice: ExternalIdChoice): void {
  if (!choice.generated) return;
  writeNote(
    io,
    `no --external-id given, so Onramp generated one: ${choice.externalId}\n` +
      '      Keep it with the connection: the platform must present it to assume the role. Pass it ' +
      'with --external-id to get the same output again.',
  );
}

/* Option definitions shared by several commands, so each flag reads the same in every --help. */

export interface CatalogFlags {
  catalog?: string;
}

export interface SelectionFlags extends CatalogFlags {
  partition?: string;
  bundles?: string;
  regions?: string;
}

export function addCatalogOption(command: Command): Command {
  return command.option(
    '--catalog <file>',
    'your own permission catalog (YAML) instead of the shipped example',
  );
}

/** --partition, --bundles and --regions; add --catalog last with `addCatalogOption`. */
export function addSelectionOptions(command: Command): Command {
  return command
    .option('--partition <partition>', `(required) AWS partition: ${PARTITION_IDS.join(', ')}`)
    .option(
      '--bundles <ids>',
      '(required) bundle ids separated by commas, or "default" (the partition\'s defaults), or "all"',
    )
    .option(
      '--regions <regions>',
      'limit regional services to these regions, separated by commas (default: every region)',
    );
}

/* The keyless role (--method oidc_role): what its trust names instead of a hub and an external ID. */

export type RoleMethod = 'role' | 'oidc_role';

export interface MethodFlags {
  method?: string;
  issuer?: string;
  subject?: string;
  audience?: string;
  hubPrincipal?: string;
  externalId?: string;
}

export const ISSUER_HELP =
  "Onramp's OpenID Connect issuer URL: ONRAMP_OIDC_ISSUER_URL, or ONRAMP_PUBLIC_URL followed by /oidc";
export const SUBJECT_HELP =
  "the subject of the connection's tokens: tenant:<tenant id>:connection:<connection id>";

/** --method, --issuer, --subject and --audience. */
export function addMethodOptions(command: Command): Command {
  return command
    .option(
      '--method <method>',
      'how the role trusts your platform: role (the hub principal and an external ID) or oidc_role ' +
        "(keyless: Onramp's OpenID Connect issuer)",
      'role',
    )
    .option('--issuer <url>', `(oidc_role) ${ISSUER_HELP}`)
    .option('--subject <subject>', `(oidc_role) ${SUBJECT_HELP}`)
    .option(
      '--audience <audience>',
      '(oidc_role) the audience of the tokens (default: sts.amazonaws.com, sts.amazonaws.com.cn in aws-cn)',
    );
}

export function parseMethodFlag(value: string | undefined): Result<RoleMethod> {
  const trimmed = value?.trim() ?? 'role';
  if (trimmed === 'role' || trimmed === 'oidc_role') return ok(trimmed);
  return fail(
    'method',
    'invalid_format',
    `"${value}" is not a role method.`,
    'Use --method role (the hub principal and an external ID) or --method oidc_role (keyless).',
  );
}

/**
 * The web identity a keyless role trusts, checked flag by flag; undefined for `role`, where the
 * keyless flags are refused. For `oidc_role` the hub and external ID flags are refused instead: a
 * keyless role trusts neither, and accepting them silently would let a person believe it does.
 */
export function checkMethodFlags(
  check: FlagChecker,
  method: RoleMethod | undefined,
  partition: PartitionId | undefined,
  flags: MethodFlags,
): { issuer: string; conditionPrefix: string; audience: string; subject: string } | undefined {
  if (method === 'role') {
    for (const [field, what, value] of [
      ['webIdentity.issuer', 'an issuer', flags.issuer],
      ['webIdentity.subject', 'a subject', flags.subject],
      ['webIdentity.audience', 'an audience', flags.audience],
    ] as const) {
      if (value === undefined) continue;
      check.take(
        fail(
          field,
          'invalid_format',
          `Only a keyless role has ${what}.`,
          'Add --method oidc_role, or leave it out.',
        ),
      );
    }
    return undefined;
  }
  if (method !== 'oidc_role') return undefined;
  for (const [field, flag, value] of [
    ['hubPrincipal', '--hub-principal', flags.hubPrincipal],
    ['externalId', '--external-id', flags.externalId],
  ] as const) {
    if (value === undefined) continue;
    check.take(
      fail(
        field,
        'invalid_format',
        `A keyless role (--method oidc_role) trusts Onramp's issuer, not ${flag === '--hub-principal' ? 'a hub principal' : 'an external ID'}.`,
        `Leave out ${flag}.`,
      ),
    );
  }
  const issuer =
    flags.issuer === undefined
      ? check.take(
          fail(
            'webIdentity.issuer',
            'required',
            `A keyless role needs ${ISSUER_HELP}.`,
            'For example --issuer https://onramp.example.com/oidc.',
          ),
        )
      : check.take(parseOidcIssuer(flags.issuer.trim()));
  const subject =
    flags.subject === undefined
      ? check.take(
          fail(
            'webIdentity.subject',
            'required',
            `A keyless role needs ${SUBJECT_HELP}.`,
            'Onramp shows it with the connection; for example --subject tenant:ten_1:connection:con_1.',
          ),
        )
      : check.take(parseWebIdentitySubject(flags.subject.trim()));
  const audience =
    flags.audience !== undefined
      ? check.take(parseWebIdentityAudience(flags.audience.trim()))
      : partition
        ? webIdentityAudience(partition)
        : undefined;
  if (!issuer || !subject || !audience) return undefined;
  return { issuer: issuer.url, conditionPrefix: issuer.conditionPrefix, audience, subject };
}
