import { organizationTargetIdSchema } from '@onramp/contracts';
import type {
  Organization,
  OrganizationMember,
  OrganizationSetup,
  RulesPreview,
  OrganizationTree as Tree,
} from '@onramp/sdk';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { OrganizationSetupPanel } from '../components/OrganizationSetup.tsx';
import { OrganizationTree } from '../components/OrganizationTree.tsx';
import { RulesEditor } from '../components/RulesEditor.tsx';
import {
  Alert,
  Button,
  Card,
  Field,
  FilterSelect,
  Modal,
  PageHeader,
  Spinner,
  StatusBadge,
  TextInput,
} from '../components/ui.tsx';
import { useBranding } from '../lib/branding.tsx';
import { dateTime, PARTITION_LABELS, timeAgo } from '../lib/format.ts';
import { describeError, type FieldErrors, problemErrors } from '../lib/forms.ts';
import {
  DEPLOYMENT_LABELS,
  MEMBER_STATE_LABELS,
  type MemberState,
  type RulesText,
  ruleErrorsOf,
  rulesFromText,
  rulesToText,
  useVisiblePolling,
} from '../lib/organizations.ts';
import { usePages } from '../lib/pages.ts';
import { Link, navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';
import { useUrlFilters } from '../lib/url-filters.ts';
import { OrganizationStatusBadge } from './OrganizationsList.tsx';

const FILTERS = ['state', 'health', 'unit', 'q'] as const;
const PAGE_SIZE = 50;
const HEALTHS: [string, string][] = [
  ['valid', 'Valid'],
  ['degraded', 'Degraded'],
  ['invalid', 'Invalid'],
  ['unverified', 'Unverified'],
];
/** How often the page asks whether an asked-for discovery ran. */
export const DISCOVERY_POLL_MS = 4000;
const DISCOVERY_ASKED = 'Discovery asked for: this page updates once it ran.';

function MemberStateBadge({ state }: { state: MemberState }) {
  const tone =
    state === 'connected'
      ? 'valid'
      : state === 'failed'
        ? 'invalid'
        : state === 'enrolling' || state === 'discovered'
          ? 'pending'
          : 'unverified';
  return (
    <span className={`badge badge-${tone}`}>
      <span className="badge-dot" aria-hidden="true" />
      {MEMBER_STATE_LABELS[state]}
    </span>
  );
}

export function OrganizationPage({ organizationId }: { organizationId: string }) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const [organization, setOrganization] = useState<Organization | undefined>();
  const [tree, setTree] = useState<Tree | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [treeError, setTreeError] = useState<string | undefined>();
  // Bumped after a change (rules, retry): the tree and the lists read again.
  const [version, setVersion] = useState(0);
  const [discoveryAsked, setDiscoveryAsked] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [actionError, setActionError] = useState<string | undefined>();
  const [busy, setBusy] = useState<string | undefined>();
  const [confirm, setConfirm] = useState<'rotate' | 'delete' | undefined>();
  const [update, setUpdate] = useState<OrganizationSetup | undefined>();

  // Read again after a change (a retry moves a member out of `failed`): the counts follow.
  useEffect(() => {
    let current = true;
    client.organizations.get(organizationId).then(
      (loaded) => current && setOrganization(loaded),
      (failure: unknown) => current && version === 0 && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, organizationId, version]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` asks for it again after a change
  useEffect(() => {
    let current = true;
    client.organizations.tree(organizationId).then(
      (loaded) => {
        if (!current) return;
        setTree(loaded);
        setTreeError(undefined);
      },
      (failure: unknown) => current && setTreeError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, organizationId, version]);

  const lastDiscoveryAt = organization?.lastDiscovery?.at;
  // After "Discover now": ask until the discovery ran, then read the tree and the members again.
  useVisiblePolling(
    () => {
      client.organizations.get(organizationId).then(
        (latest) => {
          setOrganization(latest);
          if (latest.lastDiscovery && latest.lastDiscovery.at !== lastDiscoveryAt) {
            setDiscoveryAsked(undefined);
            // "Discovery asked for" would stay after the run it announced; the facts say when it ran.
            setNotice((shown) => (shown === DISCOVERY_ASKED ? undefined : shown));
            setVersion((v) => v + 1);
          }
        },
        () => {},
      );
    },
    DISCOVERY_POLL_MS,
    discoveryAsked !== undefined,
  );

  const act = async (name: string, run: () => Promise<void>) => {
    setBusy(name);
    setActionError(undefined);
    try {
      await run();
    } catch (failure) {
      setActionError(describeError(failure));
    } finally {
      setBusy(undefined);
    }
  };

  if (error) {
    return (
      <>
        <PageHeader title="Organization" />
        <Alert tone="danger" title="This organization cannot be shown">
          {error} <Link to="/organizations">Back to the organizations</Link>
        </Alert>
      </>
    );
  }
  if (!organization) return <Spinner />;
  const org = organization;
  const total = Object.values(org.counts).reduce((sum, n) => sum + n, 0);

  return (
    <>
      <p className="breadcrumb">
        <Link to="/organizations">Organizations</Link>
      </p>
      <PageHeader
        title={org.name}
        subtitle={org.description || undefined}
        actions={
          canWrite ? (
            <>
              <Button
                busy={busy === 'discover' || discoveryAsked !== undefined}
                disabled={!org.managementRoleArn}
                title={org.managementRoleArn ? undefined : 'Waiting for the management role'}
                onClick={() =>
                  void act('discover', async () => {
                    const accepted = await client.organizations.discover(org.id);
                    setDiscoveryAsked(accepted.requestedAt);
                    setNotice(DISCOVERY_ASKED);
                  })
                }
              >
                Discover now
              </Button>
              <Button onClick={() => setConfirm('rotate')}>Rotate enrollment token</Button>
              <Button variant="danger" onClick={() => setConfirm('delete')}>
                Delete
              </Button>
            </>
          ) : null
        }
      />
      <Card className="organization-facts">
        <dl className="facts" data-testid="organization-facts">
          <div>
            <dt>Status</dt>
            <dd>
              <OrganizationStatusBadge status={org.status} />
            </dd>
          </div>
          <div>
            <dt>AWS organization</dt>
            <dd>
              {org.awsOrganizationId ? <code>{org.awsOrganizationId}</code> : 'not known yet'}
            </dd>
          </div>
          <div>
            <dt>Management account</dt>
            <dd>
              {org.managementAccountId ? <code>{org.managementAccountId}</code> : 'not known yet'}
            </dd>
          </div>
          <div>
            <dt>Partition</dt>
            <dd>{PARTITION_LABELS[org.partition] ?? org.partition}</dd>
          </div>
          <div>
            <dt>Deployment</dt>
            <dd>
              {DEPLOYMENT_LABELS[org.deployment]} in <code>{org.deploymentRegion}</code>
            </dd>
          </div>
          <div>
            <dt>Member role</dt>
            <dd>
              <code>{org.memberRoleName}</code>
            </dd>
          </div>
          <div>
            <dt>Last discovery</dt>
            <dd title={org.lastDiscovery?.at}>
              {org.lastDiscovery
                ? `${timeAgo(org.lastDiscovery.at)} · ${org.lastDiscovery.accounts} accounts${
                    org.lastDiscovery.ok ? '' : ' · failed'
                  }`
                : 'not yet'}
            </dd>
          </div>
          <div>
            <dt>Enrollment token</dt>
            <dd>
              issued {dateTime(org.enrollmentToken.issuedAt)}
              {org.enrollmentToken.previousValidUntil
                ? ` (the previous one is accepted until ${dateTime(org.enrollmentToken.previousValidUntil)})`
                : ''}
            </dd>
          </div>
        </dl>
      </Card>
      {org.status === 'pending' && total > 0 && canWrite ? (
        <Alert tone="info" title="Waiting for the management stack">
          Member stacks have reported, but the management role has not.{' '}
          <Link to={`/organizations/new/${org.id}?step=setup`}>Show the set-up</Link>
        </Alert>
      ) : null}
      {org.lastDiscovery && !org.lastDiscovery.ok && org.lastDiscovery.error ? (
        <Alert tone="danger" title="The last discovery failed">
          {org.lastDiscovery.error}
        </Alert>
      ) : null}
      {notice ? <Alert tone="info">{notice}</Alert> : null}
      {actionError ? <Alert tone="danger">{actionError}</Alert> : null}

      {org.outdated > 0 ? (
        <Alert tone="warning" title="Permissions to update">
          <p>
            {org.outdated} member account{org.outdated === 1 ? ' has' : 's have'} older permissions
            than the catalog asks for. Updating the management stack updates the StackSet, and every
            member with it.
          </p>
          {canWrite ? (
            <Button
              variant="primary"
              busy={busy === 'permissions'}
              onClick={() =>
                void act('permissions', async () =>
                  setUpdate(await client.organizations.permissionsUpdate(org.id)),
                )
              }
            >
              Update permissions
            </Button>
          ) : null}
        </Alert>
      ) : null}
      {update ? (
        <Card title="Update the management stack">
          <OrganizationSetupPanel
            setup={update}
            load={(query) => client.organizations.permissionsUpdate(org.id, query)}
          />
        </Card>
      ) : null}

      {total === 0 && org.status === 'pending' ? (
        <div className="empty" data-testid="organization-empty">
          <h2>Waiting for the management stack</h2>
          <p>
            No member accounts yet: once the management stack reports back, {brandName} discovers
            the organization and its member stacks report their roles.
          </p>
          {canWrite ? (
            <Button
              variant="primary"
              onClick={() => navigate(`/organizations/new/${org.id}?step=setup`)}
            >
              Show the set-up
            </Button>
          ) : null}
        </div>
      ) : (
        <OrganizationBody
          organization={org}
          tree={tree}
          treeError={treeError}
          version={version}
          onChanged={(changed) => {
            if (changed) setOrganization(changed);
            setVersion((v) => v + 1);
          }}
        />
      )}

      <RulesCard
        organization={org}
        onSaved={(saved) => {
          setOrganization(saved);
          setVersion((v) => v + 1);
        }}
      />

      {confirm === 'rotate' ? (
        <Modal title="Issue a new enrollment token?" onClose={() => setConfirm(undefined)}>
          <p>
            The templates carry the new token from now on. The current one stays accepted for 7
            days: update the management stack within that time, so the StackSet carries the new one
            to accounts that join later.
          </p>
          <div className="form-actions">
            <Button onClick={() => setConfirm(undefined)}>Cancel</Button>
            <Button
              variant="primary"
              busy={busy === 'rotate'}
              onClick={() =>
                void act('rotate', async () => {
                  setOrganization(await client.organizations.rotateToken(org.id));
                  setConfirm(undefined);
                  setNotice(
                    'A new enrollment token is issued. Update the management stack (download its template again) within 7 days.',
                  );
                })
              }
            >
              Issue a new token
            </Button>
          </div>
        </Modal>
      ) : null}
      {confirm === 'delete' ? (
        <Modal title={`Delete ${org.name}?`} onClose={() => setConfirm(undefined)}>
          <p>
            {brandName} stops managing this organization and deletes its {org.counts.connected}{' '}
            connected member account{org.counts.connected === 1 ? '' : 's'} from {brandName}. The
            roles stay in AWS until you delete the management stack (and with it the StackSet).
          </p>
          <div className="form-actions">
            <Button onClick={() => setConfirm(undefined)}>Cancel</Button>
            <Button
              variant="danger"
              busy={busy === 'delete'}
              onClick={() =>
                void act('delete', async () => {
                  await client.organizations.delete(org.id);
                  setConfirm(undefined);
                  navigate('/organizations');
                })
              }
            >
              Delete the organization
            </Button>
          </div>
        </Modal>
      ) : null}
    </>
  );
}

function OrganizationBody({
  organization,
  tree,
  treeError,
  version,
  onChanged,
}: {
  organization: Organization;
  tree: Tree | undefined;
  treeError: string | undefined;
  version: number;
  onChanged: (changed?: Organization) => void;
}) {
  const { client, canWrite } = useConsole();
  const [filters, setFilters] = useUrlFilters(FILTERS);
  const [retryError, setRetryError] = useState<Record<string, string>>({});
  const [retrying, setRetrying] = useState<string | undefined>();
  // The search is sent a moment after the last key, as the accounts list does.
  const [q, setQ] = useState(filters.q);
  useEffect(() => {
    const timer = setTimeout(() => setQ(filters.q), 200);
    return () => clearTimeout(timer);
  }, [filters.q]);
  const key = JSON.stringify({ ...filters, q });
  const unitName = tree?.units.find((u) => u.id === filters.unit)?.name ?? filters.unit;

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the filters, `version` for a change
  const listPage = useCallback(
    async (cursor: string | undefined) => {
      const page = await client.organizations.members(organization.id, {
        limit: PAGE_SIZE,
        // A link may carry any text: a value the console does not offer is no filter.
        ...(Object.hasOwn(MEMBER_STATE_LABELS, filters.state)
          ? { state: filters.state as MemberState }
          : {}),
        ...(HEALTHS.some(([h]) => h === filters.health)
          ? { health: filters.health as 'valid' }
          : {}),
        ...(organizationTargetIdSchema.safeParse(filters.unit).success
          ? { unit: filters.unit }
          : {}),
        ...(q.trim() ? { q: q.trim() } : {}),
        ...(cursor ? { cursor } : {}),
      });
      return { items: page.members, next: page.next };
    },
    [client, organization.id, key, version],
  );
  const { items, setItems, next, error, loadMore } = usePages(listPage);

  const retry = async (member: OrganizationMember) => {
    setRetrying(member.awsAccountId);
    try {
      const changed = await client.organizations.retryMember(organization.id, member.awsAccountId);
      setItems((current) =>
        current?.map((m) => (m.awsAccountId === changed.awsAccountId ? changed : m)),
      );
      setRetryError(({ [member.awsAccountId]: _, ...rest }) => rest);
      onChanged();
    } catch (failure) {
      setRetryError((current) => ({ ...current, [member.awsAccountId]: describeError(failure) }));
    } finally {
      setRetrying(undefined);
    }
  };

  const select = (name: 'state' | 'health', label: string, options: [string, string][]) => (
    <FilterSelect
      label={label}
      value={filters[name]}
      options={options}
      onChange={(value) => setFilters({ [name]: value })}
    />
  );

  return (
    <>
      <FailedPanel
        organizationId={organization.id}
        version={version}
        count={organization.counts.failed}
        onShow={() => setFilters({ state: 'failed', unit: '', health: '', q: '' })}
      />
      <div className="organization-layout">
        <Card title="Organizational units" className="organization-tree-card">
          {treeError ? <Alert tone="danger">{treeError}</Alert> : null}
          {!tree ? (
            treeError ? null : (
              <Spinner />
            )
          ) : tree.units.length === 0 ? (
            <p className="muted">Not discovered yet.</p>
          ) : (
            <>
              <OrganizationTree
                units={tree.units}
                selected={filters.unit}
                onSelect={(unit) => setFilters({ unit })}
              />
              <p className="muted small">
                Pick a unit to list its accounts (and those of the units below it).
              </p>
            </>
          )}
        </Card>
        <Card title="Member accounts" className="organization-members-card">
          <search className="filters" aria-label="Filter member accounts">
            <div className="filter filter-search">
              <Field label="Search">
                <TextInput
                  type="search"
                  placeholder="Account ID, name or email"
                  value={filters.q}
                  onChange={(event) => setFilters({ q: event.target.value })}
                />
              </Field>
            </div>
            {select('state', 'State', Object.entries(MEMBER_STATE_LABELS) as [string, string][])}
            {select('health', 'Health', HEALTHS)}
          </search>
          {filters.unit ? (
            <p className="filter-chip" data-testid="unit-filter">
              In <strong>{unitName}</strong> <code className="small">{filters.unit}</code>{' '}
              <Button
                variant="ghost"
                className="btn-small"
                onClick={() => setFilters({ unit: '' })}
              >
                Show the whole organization
              </Button>
            </p>
          ) : null}
          {error ? <Alert tone="danger">{error}</Alert> : null}
          {!items ? (
            error ? null : (
              <Spinner />
            )
          ) : items.length === 0 ? (
            <div className="empty">
              <h2>No member accounts match</h2>
              <Button onClick={() => setFilters({ state: '', health: '', unit: '', q: '' })}>
                Clear filters
              </Button>
            </div>
          ) : (
            <>
              <div className="table-wrap">
                <table className="table" data-testid="members-table">
                  <thead>
                    <tr>
                      <th scope="col">Account</th>
                      <th scope="col">Unit</th>
                      <th scope="col">State</th>
                      <th scope="col">Health</th>
                      <th scope="col">Why</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((member) => (
                      <tr key={member.awsAccountId} data-testid={`member-${member.awsAccountId}`}>
                        <td>
                          {member.accountId && member.state === 'connected' ? (
                            <Link to={`/accounts/${member.accountId}`} className="row-link">
                              {member.name || member.awsAccountId}
                            </Link>
                          ) : (
                            <span>{member.name || member.awsAccountId}</span>
                          )}
                          {member.management ? <span className="tag">Management</span> : null}
                          <div className="muted small">
                            <code>{member.awsAccountId}</code>
                            {member.email ? ` · ${member.email}` : ''}
                          </div>
                        </td>
                        <td className="small">
                          {member.path.map((p) => p.name).join(' / ') || '—'}
                        </td>
                        <td>
                          <MemberStateBadge state={member.state} />
                        </td>
                        <td>{member.health ? <StatusBadge status={member.health} /> : '—'}</td>
                        <td className="small">
                          {member.reason ? (
                            <>
                              {member.reason.message}
                              {member.reason.hint ? (
                                <div className="muted">{member.reason.hint}</div>
                              ) : null}
                            </>
                          ) : null}
                          {member.state === 'failed' && canWrite ? (
                            <div>
                              <Button
                                className="btn-small"
                                busy={retrying === member.awsAccountId}
                                aria-label={`Retry ${member.name || member.awsAccountId}`}
                                onClick={() => void retry(member)}
                              >
                                Retry
                              </Button>
                            </div>
                          ) : null}
                          {retryError[member.awsAccountId] ? (
                            <p className="field-error" role="alert">
                              {retryError[member.awsAccountId]}
                            </p>
                          ) : null}
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
        </Card>
      </div>
    </>
  );
}

/** What failed, grouped by reason: the code, how many, the message and what to do. */
function FailedPanel({
  organizationId,
  version,
  count,
  onShow,
}: {
  organizationId: string;
  version: number;
  count: number;
  onShow: () => void;
}) {
  const { client } = useConsole();
  const [failed, setFailed] = useState<OrganizationMember[] | undefined>();
  // biome-ignore lint/correctness/useExhaustiveDependencies: `version` asks for it again after a change
  useEffect(() => {
    if (count === 0) return setFailed([]);
    let current = true;
    client.organizations.members(organizationId, { state: 'failed', limit: 200 }).then(
      (page) => current && setFailed(page.members),
      () => {},
    );
    return () => {
      current = false;
    };
  }, [client, organizationId, count, version]);
  const groups = useMemo(() => {
    const byCode = new Map<string, { message: string; hint?: string; accounts: string[] }>();
    // Only the failed ones, whatever the answer holds.
    for (const member of (failed ?? []).filter((m) => m.state === 'failed')) {
      const code = member.reason?.code ?? 'unknown';
      const group = byCode.get(code) ?? {
        message: member.reason?.message ?? 'No reason recorded.',
        ...(member.reason?.hint ? { hint: member.reason.hint } : {}),
        accounts: [],
      };
      group.accounts.push(member.awsAccountId);
      byCode.set(code, group);
    }
    return [...byCode.entries()];
  }, [failed]);
  if (count === 0 || groups.length === 0) return null;
  return (
    <Card title="What failed" className="failed-panel">
      <p>
        {count} member account{count === 1 ? '' : 's'} failed to connect.{' '}
        <Button variant="ghost" className="btn-small" onClick={onShow}>
          List them
        </Button>
      </p>
      <ul className="failed-reasons">
        {groups.map(([code, group]) => (
          <li key={code}>
            <strong>{group.message}</strong> <code className="small">{code}</code> —{' '}
            {group.accounts.length} account{group.accounts.length === 1 ? '' : 's'}
            {group.hint ? <div className="muted small">{group.hint}</div> : null}
          </li>
        ))}
      </ul>
    </Card>
  );
}

/** The include/exclude rules: edited with a live preview of what they change, then saved. */
function RulesCard({
  organization,
  onSaved,
}: {
  organization: Organization;
  onSaved: (organization: Organization) => void;
}) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const saved = useMemo(() => rulesToText(organization.rules), [organization.rules]);
  const [text, setText] = useState<RulesText>(saved);
  const [preview, setPreview] = useState<{ key: string; result: RulesPreview } | undefined>();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [previewError, setPreviewError] = useState<string | undefined>();
  const [saving, setSaving] = useState(false);
  const checked = rulesFromText(text);
  const key = JSON.stringify(checked.rules);
  const savedKey = JSON.stringify(rulesFromText(saved).rules);
  const typedErrors = checked.errors;
  const valid = Object.keys(typedErrors).length === 0;
  const changed = key !== savedKey;

  // Previewed as typed, a moment after the last key.
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for the rules
  useEffect(() => {
    if (!canWrite || !changed || !valid) return;
    let current = true;
    const timer = setTimeout(() => {
      client.organizations.previewRules(organization.id, checked.rules).then(
        (result) => {
          if (!current) return;
          setPreview({ key, result });
          setPreviewError(undefined);
          setErrors({});
        },
        (failure: unknown) => {
          if (!current) return;
          setPreviewError(describeError(failure));
          setErrors(problemErrors(failure));
        },
      );
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, organization.id, key, changed, valid, canWrite]);

  const save = async () => {
    setSaving(true);
    try {
      const updated = await client.organizations.update(organization.id, { rules: checked.rules });
      setText(rulesToText(updated.rules));
      setPreview(undefined);
      setErrors({});
      onSaved(updated);
    } catch (failure) {
      setErrors(problemErrors(failure));
    } finally {
      setSaving(false);
    }
  };

  const current = preview?.key === key ? preview.result : undefined;
  return (
    <Card title={`Which accounts ${brandName} connects`} className="rules-card">
      <RulesEditor
        value={text}
        onChange={setText}
        errors={{ ...ruleErrorsOf(errors), ...typedErrors }}
        readOnly={!canWrite}
      />
      {canWrite && changed && valid ? (
        <div className="rules-preview" data-testid="rules-preview" aria-live="polite">
          {current ? (
            <>
              <p>
                With these rules: <strong>{current.admitted}</strong> admitted,{' '}
                <strong>{current.excluded}</strong> excluded;{' '}
                {current.changesTotal === 0
                  ? 'no account changes.'
                  : `${current.changesTotal} account${current.changesTotal === 1 ? '' : 's'} change.`}
              </p>
              {current.unknownTargets.length > 0 ? (
                <Alert tone="warning" title="Not in the organization as discovered">
                  {current.unknownTargets.join(', ')} — a typo, or not discovered yet.
                </Alert>
              ) : null}
              {current.changes.length > 0 ? (
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Account</th>
                      <th scope="col">Now</th>
                      <th scope="col">Becomes</th>
                      <th scope="col">Because</th>
                    </tr>
                  </thead>
                  <tbody>
                    {current.changes.map((c) => (
                      <tr key={c.awsAccountId}>
                        <td>
                          {c.name || c.awsAccountId} <code className="small">{c.awsAccountId}</code>
                        </td>
                        <td>
                          <MemberStateBadge state={c.state} />
                        </td>
                        <td>{c.admitted ? 'Admitted' : 'Excluded'}</td>
                        <td className="small">{c.because}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : null}
              {current.changesTotal > current.changes.length ? (
                <p className="muted small">
                  and {current.changesTotal - current.changes.length} more.
                </p>
              ) : null}
            </>
          ) : previewError ? (
            <Alert tone="danger">{previewError}</Alert>
          ) : (
            <Spinner label="Previewing…" />
          )}
        </div>
      ) : null}
      {canWrite ? (
        <div className="form-actions">
          {changed ? <Button onClick={() => setText(saved)}>Undo changes</Button> : null}
          <Button
            variant="primary"
            busy={saving}
            disabled={!changed || !valid || !current}
            title={current ? undefined : 'Saved once the preview shows what changes.'}
            onClick={() => void save()}
          >
            Save rules
          </Button>
        </div>
      ) : null}
    </Card>
  );
}
