import type { AccountCheck } from '@onramp/sdk';
import { Fragment, useEffect, useId, useRef, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { dateTime, fieldLabel, formatDuration, timeAgo } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { useConsole } from '../lib/session.tsx';
import { Alert, Button, Spinner, StatusBadge } from './ui.tsx';
import { ChecksList, FieldErrorsList, FindingsList } from './ValidationReport.tsx';

/** Error codes of AWS not answering (the checks say so): not the account's fault. */
const UPSTREAM_CODES = new Set(['upstream_unavailable', 'upstream_timeout', 'cancelled']);

/** Checks per page of the history; "Older checks" fetches the next with the API's cursor. */
export const CHECKS_PAGE_SIZE = 20;

const TRIGGER_LABELS: Record<string, string> = {
  schedule: 'Scheduled',
  manual: 'On demand',
  connect: 'Connected',
  permissions_changed: 'Permissions changed',
  credentials_replaced: 'Credentials replaced',
  stack_deleted: 'Stack deleted',
  permissions_updated: 'Permissions updated',
};

/** The outcome of one check: its status (and the one before when it changed), whether AWS answered. */
export function CheckSummary({ check }: { check: AccountCheck }) {
  return (
    <span className="check-summary">
      <StatusBadge status={check.status} />
      {check.changed ? (
        <span className="muted small">
          was <StatusBadge status={check.previousStatus} />
        </span>
      ) : null}
    </span>
  );
}

/** What a check found: each check with its duration, errors on their fields, missing actions. */
export function CheckDetails({
  check,
  bundleName,
  collapseFindings = false,
}: {
  check: AccountCheck;
  bundleName?: (id: string) => string;
  /** Where the findings are shown in full nearby (the account's Permissions), only their count. */
  collapseFindings?: boolean;
}) {
  const lacking = check.findings.filter((f) => f.missing.length + f.deniedByScp.length > 0);
  return (
    <div className="check-details">
      {check.stale ? (
        <p className="muted">
          AWS did not answer every check (marked “Not answered”): the account kept its health.
        </p>
      ) : null}
      {check.checks.length ? <ChecksList checks={check.checks} /> : null}
      {/* AWS not answering is in the checks above, with the reason; in red only what is wrong. */}
      <FieldErrorsList
        errors={check.errors.filter((e) => !UPSTREAM_CODES.has(e.code))}
        labelOf={(field) => fieldLabel(field, bundleName)}
      />
      {collapseFindings && lacking.length ? (
        <details className="findings-summary">
          <summary>
            Missing actions:{' '}
            {lacking
              .map((f) => `${f.bundleName} (${f.missing.length + f.deniedByScp.length})`)
              .join(', ')}
          </summary>
          <FindingsList findings={check.findings} />
        </details>
      ) : (
        <FindingsList findings={check.findings} />
      )}
    </div>
  );
}

function withNewest(checks: AccountCheck[], newest: AccountCheck | undefined): AccountCheck[] {
  return newest && !checks.some((c) => c.id === newest.id) ? [newest, ...checks] : checks;
}

/**
 * An account's health checks, newest first, a page at a time. `latest` is a check this page just ran:
 * it goes on top without fetching the history again.
 */
export function CheckHistory({
  accountId,
  latest,
  bundleName,
}: {
  accountId: string;
  latest?: AccountCheck | undefined;
  bundleName?: (id: string) => string;
}) {
  const { name: brandName } = useBranding();
  const { client } = useConsole();
  const base = useId();
  const [checks, setChecks] = useState<AccountCheck[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Record<string, boolean>>({});

  // A check run while the first page was on its way may be missing from it: it goes on top then.
  const latestRef = useRef(latest);

  useEffect(() => {
    client.accounts.checks(accountId, { limit: CHECKS_PAGE_SIZE }).then(
      (page) => {
        setChecks(withNewest(page.checks, latestRef.current));
        setNext(page.next);
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [client, accountId]);

  useEffect(() => {
    latestRef.current = latest;
    setChecks((current) => current && withNewest(current, latest));
  }, [latest]);

  const more = async () => {
    if (!next) return;
    setBusy(true);
    try {
      const page = await client.accounts.checks(accountId, {
        limit: CHECKS_PAGE_SIZE,
        cursor: next,
      });
      setChecks((current) => {
        const seen = new Set((current ?? []).map((c) => c.id));
        return [...(current ?? []), ...page.checks.filter((c) => !seen.has(c.id))];
      });
      setNext(page.next);
      setError(undefined);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  if (!checks) return error ? <Alert tone="danger">{error}</Alert> : <Spinner />;
  if (checks.length === 0) {
    return (
      <p className="muted">
        No checks recorded yet: {brandName} checks every account on a schedule.
      </p>
    );
  }
  return (
    <>
      <div className="table-wrap">
        <table className="table table-stack check-history" aria-label="Check history">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Trigger</th>
              <th scope="col">Status</th>
              <th scope="col">Stale</th>
              <th scope="col">Duration</th>
              <th scope="col">
                <span className="visually-hidden">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {checks.map((check) => {
              const isOpen = open[check.id] ?? false;
              const detailsId = `${base}-${check.id}`;
              return (
                <Fragment key={check.id}>
                  <tr data-check={check.id}>
                    <td data-label="When">
                      <time dateTime={check.at} title={timeAgo(check.at)}>
                        {dateTime(check.at)}
                      </time>
                    </td>
                    <td data-label="Trigger">{TRIGGER_LABELS[check.trigger] ?? check.trigger}</td>
                    <td data-label="Status">
                      <CheckSummary check={check} />
                    </td>
                    <td data-label="Stale">
                      {check.stale ? (
                        <StatusBadge status="stale" />
                      ) : (
                        <span className="muted">No</span>
                      )}
                    </td>
                    <td data-label="Duration">{formatDuration(check.durationMs)}</td>
                    <td className="cell-actions">
                      <Button
                        variant="ghost"
                        className="btn-small"
                        aria-expanded={isOpen}
                        {...(isOpen ? { 'aria-controls': detailsId } : {})}
                        onClick={() => setOpen({ ...open, [check.id]: !isOpen })}
                      >
                        {isOpen ? 'Hide details' : 'Details'}
                        <span className="visually-hidden">
                          {' '}
                          of the check of {dateTime(check.at)}
                        </span>
                        {check.errors.length
                          ? ` (${check.errors.length} error${check.errors.length === 1 ? '' : 's'})`
                          : ''}
                      </Button>
                    </td>
                  </tr>
                  {isOpen ? (
                    <tr id={detailsId} className="details-row">
                      <td colSpan={6}>
                        <CheckDetails check={check} {...(bundleName ? { bundleName } : {})} />
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      </div>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {next ? (
        <div className="form-actions">
          <Button busy={busy} onClick={() => void more()}>
            Older checks
          </Button>
        </div>
      ) : null}
    </>
  );
}
