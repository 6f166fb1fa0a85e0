import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../adapters/db/schema.ts';

export interface AuditEntry {
  tenantId: string | null;
  actorType: 'user' | 'token' | 'system' | 'setup' | 'connect_session';
  actorId: string | null;
  action: string;
  targetType?: string;
  targetId?: string;
  requestId?: string;
  sourceIp?: string;
  /** Names and changed fields only: callers never put a secret here (see the audit tests). */
  details?: Record<string, unknown>;
}

/**
 * Who acts and from where, as a service hears it from a route: the part of an entry the service does
 * not decide itself.
 */
export type AuditActor = Pick<AuditEntry, 'actorType' | 'actorId' | 'requestId' | 'sourceIp'>;

/**
 * The audit log as every feature writes to it. Features depend on this, not on the repository that
 * stores it (features/audit/audit-repository.ts), so no feature reaches into another's tables.
 */
export interface AuditLog {
  /** Appends one entry; given a transaction, the entry commits (or rolls back) with the change. */
  append(entry: AuditEntry, executor?: Kysely<Database>): Promise<void>;
  /**
   * Appends outside any transaction, grouped with entries of requests arriving together; resolves
   * once the entry is committed. For hot paths.
   */
  appendGrouped(entry: AuditEntry): Promise<void>;
}

/** How much of a stranger's text an audit entry keeps readable. */
const UNTRUSTED_PREVIEW = 64;

/**
 * What the audit log keeps of text an unauthenticated caller chose (an email that is nobody's, the
 * role ARN of a refused call-back): the audit log is append-only, so it must not become a place where
 * strangers store kilobytes, or escape sequences for whoever reads it in a terminal. A short prefix
 * with everything but printable ASCII replaced by `?`, the full length, and a SHA-256 to recognise
 * the same value again (or confirm a suspected one) without storing it.
 */
export function untrustedText(value: string): { preview: string; length: number; sha256: string } {
  const printable = value.slice(0, UNTRUSTED_PREVIEW).replace(/[^\x20-\x7e]/g, '?');
  return {
    preview: value.length > UNTRUSTED_PREVIEW ? `${printable}…` : printable,
    length: value.length,
    sha256: createHash('sha256').update(value).digest('hex'),
  };
}
