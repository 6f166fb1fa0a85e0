import { organizationTargetIdSchema } from '@onramp/contracts';
import type { OrganizationRules } from '@onramp/sdk';
import { useEffect, useRef } from 'react';
import type { FieldErrors } from './forms.ts';

export const MEMBER_STATE_LABELS = {
  discovered: 'Discovered',
  enrolling: 'Enrolling',
  connected: 'Connected',
  failed: 'Failed',
  excluded: 'Excluded',
  left: 'Left',
} as const;
export type MemberState = keyof typeof MEMBER_STATE_LABELS;

export const ORGANIZATION_STATUS_LABELS = {
  pending: 'Waiting for the management stack',
  active: 'Active',
  error: 'Error',
} as const;

export const DEPLOYMENT_LABELS = {
  service_managed: 'Service-managed StackSet',
  self_managed: 'Self-managed StackSet',
  per_account: 'A stack in each account',
} as const;
export type Deployment = keyof typeof DEPLOYMENT_LABELS;

export const DEPLOYMENT_DESCRIPTIONS: Record<Deployment, string> = {
  service_managed:
    'One StackSet in the management account deploys the member role to the chosen OUs, and to every account that joins them later, by itself.',
  self_managed:
    'A StackSet with its own administration and execution roles, deployed to the accounts you list. New accounts need adding to it.',
  per_account:
    'The member template deployed as a stack in each account, by you or your own automation.',
};

/** The rules as the editor holds them: one text per list, IDs separated by commas, spaces or lines. */
export interface RulesText {
  includeUnits: string;
  includeAccounts: string;
  excludeUnits: string;
  excludeAccounts: string;
}

/** The field of the request each text stands for (the API names its errors by these paths). */
export const RULE_FIELDS: Record<keyof RulesText, string> = {
  includeUnits: 'rules.include.organizationalUnits',
  includeAccounts: 'rules.include.accounts',
  excludeUnits: 'rules.exclude.organizationalUnits',
  excludeAccounts: 'rules.exclude.accounts',
};

export const EMPTY_RULES_TEXT: RulesText = {
  includeUnits: '',
  includeAccounts: '',
  excludeUnits: '',
  excludeAccounts: '',
};

export function rulesToText(rules: OrganizationRules): RulesText {
  return {
    includeUnits: rules.include.organizationalUnits.join('\n'),
    includeAccounts: rules.include.accounts.join('\n'),
    excludeUnits: rules.exclude.organizationalUnits.join('\n'),
    excludeAccounts: rules.exclude.accounts.join('\n'),
  };
}

export function splitIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter(Boolean))];
}

const ACCOUNT_ID = /^\d{12}$/;

/**
 * The rules a text makes, checked as typed: each entry that is not a root or OU ID (or a 12-digit
 * account ID) is named in the error of its list, keyed by the request field the API would name.
 */
export function rulesFromText(text: RulesText): { rules: OrganizationRules; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const list = (key: keyof RulesText, kind: 'unit' | 'account') => {
    const ids = splitIds(text[key]);
    const bad = ids.filter((id) =>
      kind === 'unit' ? !organizationTargetIdSchema.safeParse(id).success : !ACCOUNT_ID.test(id),
    );
    if (bad.length > 0) {
      errors[RULE_FIELDS[key]] = {
        message: `Not ${kind === 'unit' ? 'a root or OU ID' : 'a 12-digit account ID'}: ${bad
          .slice(0, 5)
          .join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}.`,
        hint:
          kind === 'unit'
            ? 'A root ID looks like r-a1b2, an OU ID like ou-a1b2-c3d4e5f6.'
            : 'Account IDs are 12 digits, such as 123456789012.',
      };
    }
    return ids;
  };
  return {
    rules: {
      include: {
        organizationalUnits: list('includeUnits', 'unit'),
        accounts: list('includeAccounts', 'account'),
      },
      exclude: {
        organizationalUnits: list('excludeUnits', 'unit'),
        accounts: list('excludeAccounts', 'account'),
      },
    },
    errors,
  };
}

/**
 * The API's errors on rules (`rules.include.accounts.3`) under the list they belong to, so each shows
 * beside its own text box.
 */
export function ruleErrorsOf(errors: FieldErrors): FieldErrors {
  const out: FieldErrors = {};
  for (const [field, error] of Object.entries(errors)) {
    const list = Object.values(RULE_FIELDS).find((f) => field === f || field.startsWith(`${f}.`));
    if (list) out[list] ??= error;
    else if (field === 'rules') out[RULE_FIELDS.includeUnits] ??= error;
  }
  return out;
}

/**
 * Calls `tick` every `ms` while `enabled` and the tab is shown: a hidden tab asks nothing, and asks
 * at once when shown again.
 */
export function useVisiblePolling(tick: () => void, ms: number, enabled: boolean) {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined) timer = setInterval(() => latest.current(), ms);
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => {
      if (document.hidden) stop();
      else {
        latest.current();
        start();
      }
    };
    if (!document.hidden) start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [ms, enabled]);
}

/** Saves text as a file the browser downloads (templates the API answered in JSON). */
export function downloadText(filename: string, text: string, type = 'text/plain') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Counts as "3 connected · 1 failed", leaving out the states with none. */
export function describeCounts(counts: Partial<Record<MemberState, number>>): string {
  const parts = (Object.keys(MEMBER_STATE_LABELS) as MemberState[])
    .filter((state) => (counts[state] ?? 0) > 0)
    .map((state) => `${counts[state]} ${MEMBER_STATE_LABELS[state].toLowerCase()}`);
  return parts.join(' · ') || 'no members';
}

/**
 * The organization an account was connected through, if any. `organizationId` is new on accounts
 * (issue 16): an API without it, or an account connected on its own, has none.
 */
export function organizationIdOf(account: object): string | undefined {
  const value = (account as { organizationId?: unknown }).organizationId;
  return typeof value === 'string' && value ? value : undefined;
}

const PAUSE_REASONS: Record<string, string> = {
  organization_left:
    'This account left its organization (or was closed): Onramp no longer checks it.',
  organization_excluded:
    'Its organization’s rules exclude this account: Onramp no longer checks it until the rules admit it again.',
};

/** Why a member account's checks are paused (issue 16), in words; undefined while it is checked. */
export function pauseOf(account: object): string | undefined {
  const reason = (account as { paused?: { reason?: unknown } | null }).paused?.reason;
  return typeof reason === 'string'
    ? (PAUSE_REASONS[reason] ?? `Checks are paused (${reason}).`)
    : undefined;
}
