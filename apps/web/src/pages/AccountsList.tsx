import type { Account, Catalog, ListAccountsQuery } from '@onramp/sdk';
import { useEffect, useState } from 'react';
import { FleetSummary } from '../components/FleetSummary.tsx';
import { PendingConnections } from '../components/PendingConnections.tsx';
import { PermissionBadges } from '../components/PermissionBadges.tsx';
import {
  Alert,
  Button,
  Field,
  FilterSelect,
  PageHeader,
  Spinner,
  StatusBadge,
  TextInput,
} from '../components/ui.tsx';
import { useBranding } from '../lib/branding.tsx';
import { METHOD_LABELS, PARTITION_LABELS, timeAgo } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { organizationIdOf } from '../lib/organizations.ts';
import { Link, navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';
import { useUrlFilters } from '../lib/url-filters.ts';

const FILTERS = ['q', 'partition', 'method', 'status', 'outdated'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;
const PAGE_SIZE = 25;
const STATUSES: [string, string][] = [
  ['valid', 'Valid'],
  ['degraded', 'Degraded'],
  ['invalid', 'Invalid'],
  ['unverified', 'Unverified'],
];

export function AccountsListPage() {
  const { name: brandName } = useBranding();
  const { client, canWrite, tenantId } = useConsole();
  const [filters, setFilters] = useUrlFilters(FILTERS);
  const [accounts, setAccounts] = useState<Account[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [catalog, setCatalog] = useState<Catalog | undefined>();
  const outdatedOnly = filters.outdated === 'true';
  const filtered = Object.values(filters).some(Boolean);

  const query = (cursor?: string): ListAccountsQuery => ({
    limit: PAGE_SIZE,
    // A link may carry any text: a value the console does not offer is no filter.
    ...(Object.hasOwn(PARTITION_LABELS, filters.partition)
      ? { partition: filters.partition as 'aws' }
      : {}),
    ...(Object.hasOwn(METHOD_LABELS, filters.method) ? { method: filters.method as 'role' } : {}),
    ...(STATUSES.some(([value]) => value === filters.status)
      ? { status: filters.status as 'valid' }
      : {}),
    ...(outdatedOnly ? { outdated: 'true' as const } : {}),
    ...(filters.q.trim() ? { q: filters.q.trim() } : {}),
    ...(cursor ? { cursor } : {}),
  });
  const key = JSON.stringify(filters);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the filters
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      client.accounts.list(query()).then(
        (page) => {
          if (!current) return;
          setAccounts(page.accounts);
          setNext(page.next);
          setError(undefined);
        },
        (failure: unknown) => current && setError(describeError(failure)),
      );
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, key, tenantId]);

  // Only for the features' names in the fleet summary: without it, their ids stand in.
  useEffect(() => {
    client.catalog().then(setCatalog, () => {});
  }, [client]);
  const bundleName = (id: string) =>
    catalog?.products.flatMap((p) => p.bundles).find((b) => b.id === id)?.name ?? id;

  const loadMore = async () => {
    if (!next) return;
    try {
      const page = await client.accounts.list(query(next));
      setAccounts([...(accounts ?? []), ...page.accounts]);
      setNext(page.next);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  const select = (name: keyof Filters, label: string, options: [string, string][]) => (
    <FilterSelect
      label={label}
      value={filters[name]}
      options={options}
      onChange={(value) => setFilters({ [name]: value })}
    />
  );

  return (
    <>
      <PageHeader
        title="Cloud accounts"
        subtitle={`The AWS accounts ${brandName} works in, and whether it can still sign in to them.`}
        actions={
          canWrite ? (
            <Button variant="primary" onClick={() => navigate('/accounts/new')}>
              + Add AWS account
            </Button>
          ) : null
        }
      />
      <PendingConnections />
      <FleetSummary
        partition={
          Object.hasOwn(PARTITION_LABELS, filters.partition)
            ? (filters.partition as Account['partition'])
            : ''
        }
        bundleName={bundleName}
        onShowOutdated={() => setFilters({ outdated: 'true' })}
      />
      <search className="filters" aria-label="Filter accounts">
        <div className="filter filter-search">
          <Field label="Search">
            <TextInput
              type="search"
              placeholder="Name, description or AWS account ID"
              value={filters.q}
              onChange={(event) => setFilters({ q: event.target.value })}
            />
          </Field>
        </div>
        {select('partition', 'Partition', Object.entries(PARTITION_LABELS))}
        {select('method', 'Method', Object.entries(METHOD_LABELS))}
        {select('status', 'Health', STATUSES)}
        <label className="filter inline-check filter-check">
          <input
            type="checkbox"
            checked={outdatedOnly}
            onChange={(event) => setFilters({ outdated: event.target.checked ? 'true' : '' })}
          />
          <span>Outdated only</span>
        </label>
      </search>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {!accounts ? (
        error ? null : (
          <Spinner />
        )
      ) : accounts.length === 0 ? (
        filtered ? (
          <div className="empty">
            <h2>No accounts match</h2>
            <p>Change the filters or clear the search.</p>
            <Button
              onClick={() =>
                setFilters({ partition: '', method: '', status: '', q: '', outdated: '' })
              }
            >
              Clear filters
            </Button>
          </div>
        ) : (
          <div className="empty">
            <h2>Connect your first AWS account</h2>
            <p>
              {brandName} creates an IAM role in your account that trusts it, with an external ID
              only {brandName} knows, and the permissions of the features you choose. It takes about
              five minutes: pick the permissions, create the role with CloudFormation, Terraform or
              by hand, then paste its ARN.
            </p>
            {canWrite ? (
              <Button variant="primary" onClick={() => navigate('/accounts/new')}>
                + Add AWS account
              </Button>
            ) : (
              <p className="muted">Ask an admin of your organisation to connect one.</p>
            )}
          </div>
        )
      ) : (
        <>
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Partition</th>
                  <th scope="col">Method</th>
                  <th scope="col">AWS account ID</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last checked</th>
                </tr>
              </thead>
              <tbody>
                {accounts.map((account) => (
                  <tr key={account.id}>
                    <td>
                      <Link to={`/accounts/${account.id}`} className="row-link">
                        {account.name}
                      </Link>
                      {account.description ? (
                        <div className="muted small">{account.description}</div>
                      ) : null}
                      {organizationIdOf(account) ? (
                        <div className="small">
                          <Link to={`/organizations/${organizationIdOf(account)}`}>
                            In an organization
                          </Link>
                        </div>
                      ) : null}
                    </td>
                    <td>{PARTITION_LABELS[account.partition] ?? account.partition}</td>
                    <td>{METHOD_LABELS[account.method]}</td>
                    <td>
                      <code>{account.awsAccountId}</code>
                    </td>
                    <td>
                      <span className="health-cell">
                        <StatusBadge status={account.status} />
                        <PermissionBadges account={account} />
                      </span>
                    </td>
                    <td title={account.lastCheckedAt ?? undefined}>
                      {timeAgo(account.lastCheckedAt)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {next ? (
            <div className="form-actions">
              <Button onClick={() => void loadMore()}>Show more</Button>
            </div>
          ) : null}
        </>
      )}
    </>
  );
}
