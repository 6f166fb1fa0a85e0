import { DUMMY_PASSWORD_HASH, verifyPassword } from '../../adapters/crypto/secrets.ts';
import type { User, UsersRepository } from './users-repository.ts';

export type SignInOutcome =
  /**
   * The one active account this email and password open. `isEveryAccount`: the email names no other
   * account (in the tenant asked for), so the attempt guessed at no one's password.
   */
  | { kind: 'signed_in'; user: User; isEveryAccount: boolean }
  /** More than one: the person chooses the tenant (these are all theirs: the password opens each). */
  | { kind: 'ambiguous'; accounts: User[]; isEveryAccount: boolean }
  /** None. `candidates` are the accounts of that email, for the audit log of their tenants. */
  | { kind: 'refused'; candidates: User[] };

/**
 * Finds the account an email and password open. Emails are unique per tenant, not globally, so an
 * email may name accounts in several tenants: the password is checked against each (at most
 * MAX_ACCOUNTS_PER_EMAIL, each its own hash). An unknown email is checked against a dummy hash, so
 * timing does not tell an unknown email from a wrong password.
 */
export async function findAccountBySignIn(
  users: Pick<UsersRepository, 'findAllForLogin'>,
  input: { email: string; password: string; tenantId?: string | null },
): Promise<SignInOutcome> {
  const candidates = await users.findAllForLogin(input.email, input.tenantId);
  if (candidates.length === 0) {
    await verifyPassword(input.password, DUMMY_PASSWORD_HASH);
    return { kind: 'refused', candidates: [] };
  }
  const opened: User[] = [];
  for (const { passwordHash, ...user } of candidates) {
    if ((await verifyPassword(input.password, passwordHash)) && !user.disabled) opened.push(user);
  }
  const [only] = opened;
  if (!only) return { kind: 'refused', candidates: candidates.map(({ passwordHash, ...u }) => u) };
  const isEveryAccount = opened.length === candidates.length;
  if (opened.length > 1) return { kind: 'ambiguous', accounts: opened, isEveryAccount };
  return { kind: 'signed_in', user: only, isEveryAccount };
}
