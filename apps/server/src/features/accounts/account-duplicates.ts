import type { accountNoticeSchema } from '@onramp/contracts';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../adapters/db/schema.ts';
import type { Account } from '../../domain/account.ts';
import { AppError } from '../../http/problems.ts';
import { type AccountsRepository, credentialKeyOf } from './accounts-repository.ts';

export type AccountNotice = z.output<typeof accountNoticeSchema>;

/** The part of an account that names its principal. */
type Credential = Pick<Account, 'method' | 'roleArn' | 'accessKeyId'>;

/** What a transaction's unique violation may mean: a taken name, a taken principal. */
export interface TransactionGuard {
  name?: string | undefined;
  taken?: {
    tenantId: string;
    credential: Credential;
    exceptId?: string;
  };
}

export interface AccountDuplicatesDeps {
  db: Kysely<Database>;
  accounts: Pick<AccountsRepository, 'nameExists' | 'findByCredential' | 'listInAwsAccount'>;
}

/**
 * A tenant's accounts are unique by name and by principal. The checks run before AWS is asked, so a
 * duplicate fails fast; the unique indexes decide when requests race, and a transaction's violation
 * becomes the same 409 the checks give. Notices tell the tenant the same before it saves.
 */
export function createAccountDuplicates(deps: AccountDuplicatesDeps) {
  async function ensureCredentialFree(
    tenantId: string,
    credential: Credential,
    exceptId?: string,
  ): Promise<void> {
    const existing = await deps.accounts.findByCredential(tenantId, credential, exceptId);
    if (existing) throw duplicateCredential(credential, existing);
  }

  return {
    async ensureNameFree(tenantId: string, name: string, exceptId?: string): Promise<void> {
      if (await deps.accounts.nameExists(tenantId, name, exceptId)) throw duplicateName(name);
    },

    /** Refuses a role ARN or access key ID another account of the tenant already signs in with. */
    ensureCredentialFree,

    /**
     * Runs the writes of one request together. A duplicate that slipped past the checks (two requests
     * at once) is a 409 naming what is taken: the principal first, since two identical requests share
     * the name too, and the principal is what the tenant must know about.
     */
    async inTransaction<T>(
      guard: string | undefined | TransactionGuard,
      work: (trx: Kysely<Database>) => Promise<T>,
    ): Promise<T> {
      const { name, taken } = typeof guard === 'object' ? guard : { name: guard, taken: undefined };
      try {
        return await deps.db.transaction().execute(work);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (taken) await ensureCredentialFree(taken.tenantId, taken.credential, taken.exceptId);
        if (name !== undefined) throw duplicateName(name);
        throw error;
      }
    },

    /**
     * What a tenant should know before or after connecting this principal: another of its accounts
     * already signs in with it (create would be refused), or others are in the same AWS account with
     * another principal (allowed: a second role for another team is legitimate, a forgotten one not).
     */
    async noticesFor(
      tenantId: string,
      about: {
        awsAccountId: string;
        credential:
          | { method: 'role' | 'oidc_role'; roleArn: string }
          | { method: 'access_keys'; accessKeyId: string };
        exceptId?: string;
      },
    ): Promise<AccountNotice[]> {
      const credential = credentialOf(about.credential);
      const notices: AccountNotice[] = [];
      const twin = await deps.accounts.findByCredential(tenantId, credential, about.exceptId);
      if (twin) {
        notices.push({
          code: 'already_connected',
          message: duplicateCredential(credential, twin).message,
          accounts: [{ id: twin.id, name: twin.name }],
        });
      }
      const siblings = (
        await deps.accounts.listInAwsAccount(tenantId, about.awsAccountId, {
          ...(about.exceptId ? { id: about.exceptId } : {}),
          credentialKey: credentialKeyOf(credential),
        })
      ).filter((s) => s.id !== twin?.id);
      if (siblings.length) {
        const names = siblings.map((s) => `"${s.name}" (${s.id})`).join(', ');
        notices.push({
          code: 'same_aws_account',
          message: `AWS account ${about.awsAccountId} is also connected as ${names}, with another principal. Both work; delete the one you no longer need.`,
          accounts: siblings.map((s) => ({ id: s.id, name: s.name })),
        });
      }
      return notices;
    },
  };
}

/** The part of credentials that names the principal: the role ARN or the access key ID. */
export function credentialOf(
  credentials:
    | { method: 'role' | 'oidc_role'; roleArn: string }
    | { method: 'access_keys'; accessKeyId: string },
): Credential {
  return credentials.method === 'access_keys'
    ? { method: 'access_keys', roleArn: null, accessKeyId: credentials.accessKeyId.trim() }
    : { method: credentials.method, roleArn: credentials.roleArn.trim(), accessKeyId: null };
}

function duplicateCredential(
  credential: Credential,
  existing: Pick<Account, 'id' | 'name'>,
): AppError {
  const isRole = credential.method !== 'access_keys';
  const what = isRole ? 'This role' : 'This access key';
  const message = `${what} is already connected as the account "${existing.name}" (${existing.id}).`;
  return new AppError(
    'conflict',
    message,
    [
      {
        field: isRole ? 'roleArn' : 'accessKeyId',
        code: 'already_connected',
        message,
        hint: isRole
          ? 'Open that account instead, or create another role for a second connection to this AWS account.'
          : 'Open that account instead, or create another access key (of another IAM user) for a second connection.',
      },
    ],
    {},
    { existingAccount: { id: existing.id, name: existing.name } },
  );
}

function duplicateName(name: string): AppError {
  const message = `An account named "${name}" already exists in this tenant.`;
  return new AppError('conflict', message, [
    { field: 'name', code: 'duplicate_name', message, hint: 'Choose another name.' },
  ]);
}

/** A unique constraint refused a row: SQLite's and PostgreSQL's codes. */
function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}
