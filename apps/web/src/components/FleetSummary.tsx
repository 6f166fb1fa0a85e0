import type { Account } from '@onramp/sdk';
import { useEffect, useRef, useState } from 'react';
import { PARTITION_LABELS } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import type { AccountsSummary } from '../lib/permission-upgrades.ts';
import { useConsole } from '../lib/session.tsx';
import { Alert, Button, Card } from './ui.tsx';

const HEALTH: [keyof AccountsSummary['byStatus'], string][] = [
  ['valid', 'Valid'],
  ['degraded', 'Degraded'],
  ['invalid', 'Invalid'],
  ['unverified', 'Unverified'],
];
/** The most-missing actions named per feature; the rest behind "and N more". */
const TOP_ACTIONS = 3;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The tenant's accounts at a glance: how many per health, how many outdated (the catalog asks more
 * of them than they were granted) or trimmed, per partition, and per feature the actions most of
 * them lack. "Re-check outdated" queues a check of every outdated account (admins only).
 */
export function FleetSummary({
  partition,
  bundleName,
  onShowOutdated,
}: {
  /** The list's partition filter, when set: the summary follows it. */
  partition: Account['partition'] | '';
  bundleName: (id: string) => string;
  onShowOutdated: () => void;
}) {
  const { client, canWrite, tenantId } = useConsole();
  const [summary, setSummary] = useState<AccountsSummary | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [scheduled, setScheduled] = useState<number | undefined>();
  const [recheckError, setRecheckError] = useState<string | undefined>();
  // A double click queues the fleet once.
  const inFlight = useRef(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: read again when the tenant changes
  useEffect(() => {
    let current = true;
    client.accounts.summary(partition ? { partition } : {}).then(
      (next) => {
        if (!current) return;
        setSummary(next);
        setError(undefined);
      },
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, partition, tenantId]);

  if (error) {
    return <p className="muted small">The fleet summary could not be read: {error}</p>;
  }
  if (!summary || summary.total === 0) return null;

  const recheck = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setRecheckError(undefined);
    try {
      const result = await client.accounts.recheck({
        outdated: true,
        ...(partition ? { partition } : {}),
      });
      setScheduled(result.scheduled);
    } catch (failure) {
      setRecheckError(describeError(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const needs = summary.byBundle.filter((b) => b.outdated > 0 && b.missing.length > 0);
  return (
    <Card
      title="Fleet"
      className="fleet-summary"
      actions={
        canWrite && summary.outdated > 0 ? (
          <Button busy={busy} onClick={() => void recheck()}>
            Re-check outdated
          </Button>
        ) : null
      }
    >
      <dl className="fleet-stats">
        <div>
          <dt>Accounts</dt>
          <dd>{summary.total}</dd>
        </div>
        {HEALTH.map(([status, label]) => (
          <div key={status} className={`fleet-stat-${status}`}>
            <dt>{label}</dt>
            <dd>{summary.byStatus[status] ?? 0}</dd>
          </div>
        ))}
        <div className="fleet-stat-outdated">
          <dt>Outdated</dt>
          <dd>
            {summary.outdated > 0 ? (
              <button
                type="button"
                className="link-button"
                aria-label={`${summary.outdated} outdated: show only these`}
                title="Show only outdated accounts"
                onClick={onShowOutdated}
              >
                {summary.outdated}
              </button>
            ) : (
              0
            )}
          </dd>
        </div>
        <div>
          <dt>Trimmed</dt>
          <dd>{summary.trimmed}</dd>
        </div>
      </dl>
      {summary.byPartition.length > 1 ? (
        <p className="muted small fleet-partitions">
          {summary.byPartition
            .map(
              (p) =>
                `${PARTITION_LABELS[p.partition] ?? p.partition}: ${p.total}${p.outdated ? ` (${p.outdated} outdated)` : ''}`,
            )
            .join(' · ')}
        </p>
      ) : null}
      <div aria-live="polite">
        {scheduled !== undefined ? (
          <Alert tone="success">
            {scheduled === 0
              ? 'No outdated account to check.'
              : `${plural(scheduled, 'account')} scheduled for a check; their health updates as each one finishes.`}
          </Alert>
        ) : null}
        {recheckError ? <Alert tone="danger">{recheckError}</Alert> : null}
      </div>
      {needs.length > 0 ? (
        <ul className="fleet-needs" aria-label="What outdated accounts need">
          {needs.map((bundle) => (
            <li key={bundle.bundle}>
              <BundleNeeds bundle={bundle} name={bundleName(bundle.bundle)} />
            </li>
          ))}
        </ul>
      ) : null}
    </Card>
  );
}

function BundleNeeds({
  bundle,
  name,
}: {
  bundle: AccountsSummary['byBundle'][number];
  name: string;
}) {
  const missing = [...bundle.missing].sort((a, b) => b.accounts - a.accounts);
  const line = (m: (typeof missing)[number]) => (
    <li key={m.action}>
      {plural(m.accounts, 'account')} {m.accounts === 1 ? 'needs' : 'need'}{' '}
      <code className="action">{m.action}</code> for {name}
    </li>
  );
  return (
    <>
      <ul className="fleet-actions">{missing.slice(0, TOP_ACTIONS).map(line)}</ul>
      {missing.length > TOP_ACTIONS ? (
        <details className="findings-summary">
          <summary>
            and {plural(missing.length - TOP_ACTIONS, 'more action')} for {name}
          </summary>
          <ul className="fleet-actions">{missing.slice(TOP_ACTIONS).map(line)}</ul>
        </details>
      ) : null}
    </>
  );
}
