import type { Organization } from '@onramp/sdk';
import { useCallback } from 'react';
import { Alert, Button, PageHeader, Spinner } from '../components/ui.tsx';
import { useBranding } from '../lib/branding.tsx';
import { PARTITION_LABELS, timeAgo } from '../lib/format.ts';
import { ORGANIZATION_STATUS_LABELS } from '../lib/organizations.ts';
import { usePages } from '../lib/pages.ts';
import { Link, navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';

const PAGE_SIZE = 25;

export function OrganizationStatusBadge({ status }: { status: Organization['status'] }) {
  const tone = status === 'active' ? 'valid' : status === 'error' ? 'invalid' : 'pending';
  return (
    <span className={`badge badge-${tone}`}>
      <span className="badge-dot" aria-hidden="true" />
      {ORGANIZATION_STATUS_LABELS[status]}
    </span>
  );
}

export function OrganizationsListPage() {
  const { name: brandName } = useBranding();
  const { client, canWrite, tenantId } = useConsole();
  // biome-ignore lint/correctness/useExhaustiveDependencies: another tenant's list is another list
  const listPage = useCallback(
    async (cursor: string | undefined) => {
      const page = await client.organizations.list({
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : {}),
      });
      return { items: page.organizations, next: page.next };
    },
    [client, tenantId],
  );
  const { items, next, error, loadMore } = usePages(listPage);

  return (
    <>
      <PageHeader
        title="Organizations"
        subtitle="Whole AWS organizations: one stack in the management account, and every member account follows."
        actions={
          canWrite ? (
            <Button variant="primary" onClick={() => navigate('/organizations/new')}>
              + Connect an organization
            </Button>
          ) : null
        }
      />
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {!items ? (
        error ? null : (
          <Spinner />
        )
      ) : items.length === 0 ? (
        <div className="empty">
          <h2>Connect your first organization</h2>
          <p>
            Deploy one stack in your management account: {brandName} reads your organization, and a
            StackSet gives each member account its own role, with its own external ID. New accounts
            in the OUs you choose are connected by themselves.
          </p>
          {canWrite ? (
            <Button variant="primary" onClick={() => navigate('/organizations/new')}>
              + Connect an organization
            </Button>
          ) : (
            <p className="muted">Ask an admin of your organisation to connect one.</p>
          )}
        </div>
      ) : (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="organizations-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Partition</th>
                  <th scope="col">Status</th>
                  <th scope="col">Accounts</th>
                  <th scope="col">Health</th>
                  <th scope="col">Last discovery</th>
                </tr>
              </thead>
              <tbody>
                {items.map((org) => (
                  <tr key={org.id}>
                    <td>
                      <Link to={`/organizations/${org.id}`} className="row-link">
                        {org.name}
                      </Link>
                      {org.awsOrganizationId ? (
                        <div className="muted small">
                          <code>{org.awsOrganizationId}</code>
                        </div>
                      ) : null}
                    </td>
                    <td>{PARTITION_LABELS[org.partition] ?? org.partition}</td>
                    <td>
                      <OrganizationStatusBadge status={org.status} />
                    </td>
                    <td>
                      {org.counts.connected} connected
                      {org.counts.failed > 0 ? (
                        <span className="text-danger"> · {org.counts.failed} failed</span>
                      ) : null}
                      {org.counts.discovered > 0 ? ` · ${org.counts.discovered} waiting` : ''}
                    </td>
                    <td>
                      {org.health.valid} valid
                      {org.health.degraded > 0 ? ` · ${org.health.degraded} degraded` : ''}
                      {org.health.invalid > 0 ? ` · ${org.health.invalid} invalid` : ''}
                    </td>
                    <td title={org.lastDiscovery?.at}>
                      {org.lastDiscovery
                        ? `${timeAgo(org.lastDiscovery.at)}${org.lastDiscovery.ok ? '' : ' (failed)'}`
                        : 'not yet'}
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
