import type { Account } from '@onramp/sdk';
import { dateTime } from '../lib/format.ts';

/**
 * Beside an account's health: "Outdated" when the catalog asks more (or less) of its features than
 * it was granted, "Trimmed" when a check found granted actions gone from its role or user. Two
 * causes, two fixes, so two badges.
 */
export function PermissionBadges({ account }: { account: Pick<Account, 'permissions'> }) {
  const permissions = account.permissions;
  if (!permissions) return null;
  const trimmed = permissions.trimmed.reduce((n, t) => n + t.actions.length, 0);
  return (
    <>
      {permissions.outdated ? (
        <span
          className="badge badge-outdated"
          title={`The catalog changed${permissions.outdatedSince ? ` on ${dateTime(permissions.outdatedSince)}` : ''}: its permissions need an update`}
        >
          Outdated
        </span>
      ) : null}
      {trimmed > 0 ? (
        <span
          className="badge badge-trimmed"
          title={`${trimmed} granted action${trimmed === 1 ? ' was' : 's were'} removed from its policies in AWS`}
        >
          Trimmed
        </span>
      ) : null}
    </>
  );
}
