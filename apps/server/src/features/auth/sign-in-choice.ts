import { AppError } from '../../http/problems.ts';

/**
 * The answer when an email and password open accounts in several tenants: a 409 on `tenantId` listing
 * them (their tenants' names included: the password already opens each), to send again with one.
 */
export async function chooseTenantProblem(
  ctx: { tenants: { find(id: string): Promise<{ name: string } | undefined> } },
  accounts: readonly { tenantId: string | null }[],
): Promise<AppError> {
  const choices = await Promise.all(
    accounts.map(async (user) => ({
      tenantId: user.tenantId,
      tenantName: user.tenantId ? ((await ctx.tenants.find(user.tenantId))?.name ?? null) : null,
    })),
  );
  return new AppError(
    'conflict',
    'This email and password open accounts in more than one tenant: choose the one to sign in to.',
    [
      {
        field: 'tenantId',
        code: 'ambiguous',
        message: 'Choose the tenant to sign in to.',
        hint: 'Send the sign-in again with tenantId: one of `signInChoices` (null for the operator).',
      },
    ],
    {},
    { signInChoices: choices },
  );
}
