import type { Kysely } from 'kysely';
import { hashPassword, hashToken, newSecretToken } from '../../adapters/crypto/secrets.ts';
import type { Database } from '../../adapters/db/schema.ts';
import { AppError } from '../../http/problems.ts';
import type { AuditEntry, AuditLog } from '../../ports/audit-log.ts';
import type { UsersService } from '../users/users-service.ts';

const SETUP_KEY = 'setup_token_hash';

/**
 * While no operator admin exists, a one-time set-up token lets the first person in create one. A new
 * token is made at every start until then (only its hash is stored), so the one printed last works.
 */
export async function issueSetupToken(
  db: Kysely<Database>,
  clock: () => Date,
): Promise<string | null> {
  const operator = await db
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'operator_admin')
    .executeTakeFirst();
  if (operator) return null;
  const token = newSecretToken('setup_');
  const now = clock().toISOString();
  await db
    .insertInto('settings')
    .values({ key: SETUP_KEY, value: hashToken(token), updated_at: now })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: hashToken(token), updated_at: now }))
    .execute();
  return token;
}

/** Consumes the set-up token inside the caller's transaction; false if it is wrong or already used. */
export async function consumeSetupToken(trx: Kysely<Database>, token: string): Promise<boolean> {
  const result = await trx
    .deleteFrom('settings')
    .where('key', '=', SETUP_KEY)
    .where('value', '=', hashToken(token))
    .executeTakeFirst();
  return Number(result.numDeletedRows) === 1;
}

/**
 * Spends the set-up token and creates the first operator admin with it, in one transaction that spans
 * the settings row (this feature's) and the user (the users service's, given the transaction), so a
 * refused password leaves the token usable. Undefined when the token is wrong or already spent.
 */
export async function createFirstOperator(
  deps: {
    db: Kysely<Database>;
    audit: AuditLog;
    users: Pick<UsersService, 'create' | 'checkNewPassword'>;
  },
  input: { setupToken: string; email: string; name: string; password: string },
  meta: Pick<AuditEntry, 'requestId' | 'sourceIp'>,
) {
  const { setupToken, email, name, password } = input;
  const passwordHash = await hashPassword(password);
  return deps.db.transaction().execute(async (trx) => {
    if (!(await consumeSetupToken(trx, setupToken))) return undefined;
    // Judged once the token is known good (a stranger gets no free password checks); refusing
    // rolls the transaction back, so the token stays usable for a better password.
    const weak = deps.users.checkNewPassword(password, { email, name });
    if (weak) throw new AppError('invalid_request', weak.message, [weak]);
    const created = await deps.users.create(
      { tenantId: null, email, name, role: 'operator_admin', passwordHash },
      trx,
    );
    await deps.audit.append(
      {
        tenantId: null,
        actorType: 'setup',
        actorId: created.id,
        action: 'operator.created',
        targetType: 'user',
        targetId: created.id,
        ...meta,
        details: { email },
      },
      trx,
    );
    return created;
  });
}
