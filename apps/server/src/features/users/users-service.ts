import type { Kysely, Transaction } from 'kysely';
import { hashPassword, verifyPassword } from '../../adapters/crypto/secrets.ts';
import type { Dialect } from '../../adapters/db/database.ts';
import type { Database } from '../../adapters/db/schema.ts';
import type { Role } from '../../domain/principal.ts';
import { AppError, conflict, invalid, notFound } from '../../http/problems.ts';
import type { AuditActor, AuditEntry, AuditLog } from '../../ports/audit-log.ts';
import type { SessionsService } from '../auth/sessions-service.ts';
import { type CollectionCaps, insertWithinCap } from '../tenants/collection-caps.ts';
import type { TokensService } from '../tokens/tokens-service.ts';
import { checkNewPassword } from './password-policy.ts';
import { createPasswordResetsRepository } from './password-resets-repository.ts';
import { findAccountBySignIn } from './sign-in.ts';
import {
  createUsersRepository,
  isUniqueViolation,
  type User,
  type UsersRepository,
} from './users-repository.ts';

/** Where a request came from, for the audit entries of a person acting on their own account. */
export type RequestMeta = Pick<AuditEntry, 'requestId' | 'sourceIp'>;

export interface UsersServiceDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  clock: () => Date;
  collectionCaps?: Partial<CollectionCaps>;
  users: UsersRepository;
  audit: AuditLog;
  sessions: Pick<SessionsService, 'endSessionsOf'>;
  tokens: Pick<TokensService, 'revokeMadeBy' | 'forgetCached'>;
}

/** Whether `maker` may make a reset link for `user`: an active operator, or an active admin of its tenant. */
function mayReset(maker: User, user: User): boolean {
  if (maker.disabled) return false;
  if (maker.role === 'operator_admin') return true;
  return (
    maker.role === 'tenant_admin' && maker.tenantId !== null && maker.tenantId === user.tenantId
  );
}

/** Unknown, used and expired links get one answer: which it was helps no one holding it. */
function spentOrUnknown(): AppError {
  return invalid([
    {
      field: 'token',
      code: 'invalid_token',
      message: 'This reset link is unknown, already used or expired.',
      hint: 'Ask an admin for a new link.',
    },
  ]);
}

/**
 * Users and their passwords: the rules that span a change (a disabled user's sessions end and their
 * tokens go, in the transaction that disables them), and what other features may read of users.
 */
export function createUsersService(deps: UsersServiceDeps) {
  const { users, audit, sessions, tokens } = deps;
  const resets = createPasswordResetsRepository(deps.db, deps.clock);

  /** The user's sessions but `except`, and their unused reset links, end with a new password. */
  async function setPassword(
    trx: Transaction<Database>,
    userId: string,
    passwordHash: string,
    except?: string,
  ): Promise<void> {
    await createUsersRepository(trx, deps.clock).setPasswordHash(userId, passwordHash, trx);
    await sessions.endSessionsOf(userId, { except }, trx);
    await createPasswordResetsRepository(trx, deps.clock).deleteUnusedFor(userId, trx);
  }

  return {
    findById: (id: string) => users.findById(id),
    findInTenant: (tenantId: string, id: string) => users.findInTenant(tenantId, id),
    listByTenant: (tenantId: string, options: { limit: number; after?: string }) =>
      users.listByTenant(tenantId, options),
    /** The accounts an email names (one per tenant, and one operator), without their hashes. */
    async accountsOfEmail(email: string): Promise<User[]> {
      const found = await users.findAllForLogin(email);
      return found.map(({ passwordHash, ...user }) => user);
    },
    /** Whether a new password is strong enough for this person (see password-policy.ts). */
    checkNewPassword,
    /** The account an email and password open (see sign-in.ts). */
    signIn: (input: { email: string; password: string; tenantId?: string | null }) =>
      findAccountBySignIn(users, input),

    /**
     * Stores a user whose password is hashed and judged already. It takes the caller's transaction
     * when given: a tenant's first admin commits with the tenant, the first operator with the
     * set-up token it spends. The caller audits its own action (tenant.created, operator.created).
     */
    create(
      input: {
        tenantId: string | null;
        email: string;
        name: string;
        role: Role;
        passwordHash: string;
      },
      trx?: Transaction<Database>,
    ): Promise<User> {
      return trx ? createUsersRepository(trx, deps.clock).create(input, trx) : users.create(input);
    },

    /** Adds a user to a tenant, within its cap of users; the email must be new in that tenant. */
    async addToTenant(
      tenantId: string,
      input: { email: string; name: string; password: string; role: Role },
      actor: AuditActor,
    ): Promise<User> {
      const { email, name, password, role } = input;
      const weak = checkNewPassword(password, { email, name });
      if (weak) throw invalid([weak]);
      // Only this tenant's users are a conflict: the answer is the same whether or not the email is
      // used in another tenant or by the operator.
      const taken = () => conflict('email', `This tenant has a user with email ${email}.`);
      if (await users.emailExistsIn(tenantId, email)) throw taken();
      const passwordHash = await hashPassword(password);
      const user = await insertWithinCap(
        deps,
        {
          collection: 'users',
          tenantId,
          count: (trx) => createUsersRepository(trx, deps.clock).countInTenant(tenantId),
        },
        (trx) =>
          createUsersRepository(trx, deps.clock).create({
            tenantId,
            email,
            name,
            role,
            passwordHash,
          }),
      ).catch((error: unknown) => {
        // Two adds of one email at once: the unique index decides, and the loser hears why.
        throw isUniqueViolation(error) ? taken() : error;
      });
      await audit.append({
        tenantId,
        ...actor,
        action: 'user.created',
        targetType: 'user',
        targetId: user.id,
        details: { email, role },
      });
      return user;
    },

    /**
     * Renames, changes the role of or disables a tenant's user. Disabling ends their sessions; their
     * tokens carry their authority, so disabling revokes them all and a role change those the new
     * role could not grant (for a viewer, everything), in the same transaction.
     */
    async update(
      tenantId: string,
      id: string,
      changes: { name?: string; role?: Role; disabled?: boolean },
      actor: AuditActor,
    ): Promise<User> {
      const existing = await users.findInTenant(tenantId, id);
      if (!existing) throw notFound('This user');
      if (
        actor.actorType === 'user' &&
        actor.actorId === existing.id &&
        (changes.role || changes.disabled)
      ) {
        throw conflict(
          'role',
          'You cannot change your own role or disable yourself.',
          'Ask another admin of the tenant.',
        );
      }
      const { role, disabled } = changes;
      // Both idempotent: tokens a past change left live (made before this rule existed) go too.
      const isDisabling = disabled === true;
      const isDemoting = role !== undefined && !isDisabling;
      const updated = await deps.db.transaction().execute(async (trx) => {
        const changed = await createUsersRepository(trx, deps.clock).updateInTenant(
          tenantId,
          existing.id,
          changes,
        );
        if (disabled) await sessions.endSessionsOf(existing.id, {}, trx);
        await audit.append(
          {
            tenantId,
            ...actor,
            action: 'user.updated',
            targetType: 'user',
            targetId: existing.id,
            details: { changed: Object.keys(changes), role: role ?? null },
          },
          trx,
        );
        if (isDisabling || isDemoting) {
          await tokens.revokeMadeBy(
            existing.id,
            {
              actor,
              reason: isDisabling ? 'creator_disabled' : 'creator_demoted',
              keepWithin: isDisabling ? undefined : role,
            },
            trx,
          );
        }
        return changed;
      });
      tokens.forgetCached();
      return updated ?? existing;
    },

    /** Removes a tenant's user and, in the same transaction, revokes the tokens they made. */
    async remove(tenantId: string, id: string, actor: AuditActor): Promise<void> {
      const existing = await users.findInTenant(tenantId, id);
      if (!existing) throw notFound('This user');
      if (actor.actorType === 'user' && actor.actorId === existing.id)
        throw conflict('id', 'You cannot remove yourself.');
      await deps.db.transaction().execute(async (trx) => {
        await tokens.revokeMadeBy(existing.id, { actor, reason: 'creator_deleted' }, trx);
        await createUsersRepository(trx, deps.clock).deleteInTenant(tenantId, existing.id);
        await audit.append(
          {
            tenantId,
            ...actor,
            action: 'user.deleted',
            targetType: 'user',
            targetId: existing.id,
            details: { email: existing.email },
          },
          trx,
        );
      });
      tokens.forgetCached();
    },

    /**
     * A person changes their own password with their current one: their other sessions and their
     * unused reset links end with it.
     */
    async changePassword(
      userId: string,
      sessionId: string,
      input: { currentPassword: string; newPassword: string },
      meta: RequestMeta,
    ): Promise<void> {
      const { currentPassword, newPassword } = input;
      const user = await users.findWithPasswordHash(userId);
      if (!user) throw new AppError('unauthenticated');
      if (!(await verifyPassword(currentPassword, user.passwordHash))) {
        throw invalid([
          {
            field: 'currentPassword',
            code: 'invalid_format',
            message: 'This is not your current password.',
          },
        ]);
      }
      if (newPassword === currentPassword) {
        throw invalid([
          {
            field: 'newPassword',
            code: 'unchanged',
            message: 'The new password is the current one.',
            hint: 'Choose a password you have not used here.',
          },
        ]);
      }
      const weak = checkNewPassword(newPassword, user, 'newPassword');
      if (weak) throw invalid([weak]);
      const passwordHash = await hashPassword(newPassword);
      await deps.db.transaction().execute(async (trx) => {
        await setPassword(trx, user.id, passwordHash, sessionId);
        await audit.append(
          {
            tenantId: user.tenantId,
            actorType: 'user',
            actorId: user.id,
            action: 'user.password_changed',
            targetType: 'user',
            targetId: user.id,
            ...meta,
          },
          trx,
        );
      });
    },

    /** Makes a single-use reset link for `target` (who may make one is the caller's to check). */
    async createResetLink(
      target: User,
      makerId: string,
      ttlHours: number,
      meta: RequestMeta,
    ): Promise<{ token: string; expiresAt: string }> {
      return deps.db.transaction().execute(async (trx) => {
        const made = await createPasswordResetsRepository(trx, deps.clock).create(
          { userId: target.id, createdBy: makerId, ttlHours },
          trx,
        );
        await audit.append(
          {
            tenantId: target.tenantId,
            actorType: 'user',
            actorId: makerId,
            action: 'user.password_reset_created',
            targetType: 'user',
            targetId: target.id,
            ...meta,
            details: { expiresAt: made.expiresAt },
          },
          trx,
        );
        return made;
      });
    },

    /** Sets a new password with a reset link's token, once; every session of the user ends. */
    async redeemResetLink(token: string, newPassword: string, meta: RequestMeta): Promise<void> {
      const live = await resets.findLive(token);
      const user = live && (await users.findById(live.userId));
      if (!live || !user) throw spentOrUnknown();
      // A link is only as good as its maker's rights now: one made by an admin since demoted,
      // disabled or deleted would otherwise hand them back an account (often another admin's).
      const maker = await users.findById(live.createdBy);
      if (!maker || !mayReset(maker, user)) throw spentOrUnknown();
      // Judged before the link is spent, so a refused password leaves it usable for a better one.
      const weak = checkNewPassword(newPassword, user, 'newPassword');
      if (weak) throw invalid([weak]);
      const passwordHash = await hashPassword(newPassword);
      const isSet = await deps.db.transaction().execute(async (trx) => {
        if (!(await createPasswordResetsRepository(trx, deps.clock).spend(live.id, trx)))
          return false;
        await setPassword(trx, user.id, passwordHash);
        await audit.append(
          {
            tenantId: user.tenantId,
            actorType: 'user',
            actorId: user.id,
            action: 'user.password_reset',
            targetType: 'user',
            targetId: user.id,
            ...meta,
          },
          trx,
        );
        return true;
      });
      if (!isSet) throw spentOrUnknown();
    },
  };
}

export type UsersService = ReturnType<typeof createUsersService>;
