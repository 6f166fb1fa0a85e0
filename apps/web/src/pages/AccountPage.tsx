import { replaceCredentialsRequestSchema, updateAccountRequestSchema } from '@onramp/contracts';
import type { Account, AccountCheck, Catalog, PartitionOffer } from '@onramp/sdk';
import { useEffect, useState } from 'react';
import { CheckDetails, CheckHistory, CheckSummary } from '../components/CheckHistory.tsx';
import { AddIamPolicies } from '../components/IamPoliciesPanel.tsx';
import { OpenConsole } from '../components/OpenConsole.tsx';
import { PermissionBadges } from '../components/PermissionBadges.tsx';
import { type PermissionSelection, PermissionsPicker } from '../components/PermissionsPicker.tsx';
import { RoleDetails } from '../components/RoleDetails.tsx';
import { RemovablePermissions, UpdatePermissions } from '../components/UpdatePermissions.tsx';
import {
  Alert,
  Button,
  Card,
  CopyValue,
  Field,
  Modal,
  PageHeader,
  Spinner,
  StatusBadge,
  TextInput,
} from '../components/ui.tsx';
import { ChecksList, FindingsList } from '../components/ValidationReport.tsx';
import { useBranding } from '../lib/branding.tsx';
import {
  dateTime,
  exampleRoleArn,
  fieldLabel,
  isRoleMethod,
  METHOD_LABELS,
  PARTITION_LABELS,
  timeAgo,
} from '../lib/format.ts';
import { describeError, type FieldMessage, useForm, validateWith } from '../lib/forms.ts';
import { organizationIdOf, pauseOf } from '../lib/organizations.ts';
import { Link, navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';

export function AccountPage({ accountId }: { accountId: string }) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const [account, setAccount] = useState<Account | undefined>();
  const [catalog, setCatalog] = useState<Catalog | undefined>();
  const [offers, setOffers] = useState<PartitionOffer[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [lastCheck, setLastCheck] = useState<AccountCheck | undefined>();
  const [checkError, setCheckError] = useState<string | undefined>();
  const [checking, setChecking] = useState(false);
  useEffect(() => {
    Promise.all([client.accounts.get(accountId), client.catalog(), client.partitions()]).then(
      ([a, c, p]) => {
        setAccount(a);
        setCatalog(c);
        setOffers(p);
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [client, accountId]);

  if (error) {
    return (
      <>
        <PageHeader title="Account" />
        <Alert tone="danger">{error}</Alert>
        <Link to="/accounts">Back to accounts</Link>
      </>
    );
  }
  if (!account || !catalog) return <Spinner />;
  const updated = (next: Account, message: string) => {
    setAccount(next);
    setNotice(message);
  };
  const bundleName = (id: string) =>
    catalog.products.flatMap((p) => p.bundles).find((b) => b.id === id)?.name ?? id;
  /** The permissions could not be simulated at the last check: no bundle is shown as passed. */
  const unverifiedPermissions =
    account.status === 'unverified'
      ? account.checks.find(
          (c) => c.name === 'permissions' && (c.status === 'warning' || c.status === 'error'),
        )
      : undefined;
  const checkNow = async () => {
    setChecking(true);
    setCheckError(undefined);
    try {
      const check = await client.accounts.check(account.id);
      setLastCheck(check);
      // The account's health, checks and findings follow the check: read them again.
      setAccount(await client.accounts.get(account.id));
    } catch (failure) {
      setCheckError(describeError(failure));
    } finally {
      setChecking(false);
    }
  };
  /** The just-run check's errors about an identity field, shown under that field. */
  const errorOn = (...fields: string[]): (FieldMessage & { field: string })[] =>
    lastCheck?.errors.filter((e) => fields.includes(e.field)) ?? [];

  return (
    <>
      <p className="breadcrumb">
        <Link to="/accounts">Cloud accounts</Link> / {account.name}
      </p>
      <PageHeader
        title={
          <>
            {account.name} <StatusBadge status={account.status} />
            <PermissionBadges account={account} />
            {account.stale ? <StaleMarker account={account} /> : null}
          </>
        }
        subtitle={account.description || undefined}
      />
      {notice ? <Alert tone="success">{notice}</Alert> : null}
      {pauseOf(account) ? (
        <Alert tone="warning" title="Checks paused">
          {pauseOf(account)}{' '}
          {organizationIdOf(account) ? (
            <Link to={`/organizations/${organizationIdOf(account)}`}>Open the organization</Link>
          ) : null}
        </Alert>
      ) : null}
      {!canWrite ? (
        <Alert tone="info">You can view this account; changing it needs an admin.</Alert>
      ) : null}
      <div className="grid-2">
        <Card title="Identity">
          <dl className="facts">
            <div>
              <dt>AWS account ID</dt>
              <dd>
                <CopyValue value={account.awsAccountId} />
              </dd>
            </div>
            <div>
              <dt>Partition</dt>
              <dd>
                {PARTITION_LABELS[account.partition] ?? account.partition}
                <FactErrors errors={errorOn('partition')} />
              </dd>
            </div>
            <div>
              <dt>Method</dt>
              <dd>{METHOD_LABELS[account.method]}</dd>
            </div>
            {organizationIdOf(account) ? (
              <div>
                <dt>Organization</dt>
                <dd>
                  <Link to={`/organizations/${organizationIdOf(account)}`}>
                    Member of an organization
                  </Link>
                </dd>
              </div>
            ) : null}
            <div>
              <dt>{isRoleMethod(account.method) ? 'Role ARN' : 'Access key ID'}</dt>
              <dd>
                <code className="wrap">
                  {isRoleMethod(account.method) ? account.roleArn : account.accessKeyId}
                </code>
                <FactErrors
                  errors={errorOn('roleArn', 'externalId', 'accessKeyId', 'secretAccessKey')}
                />
              </dd>
            </div>
            {account.method === 'oidc_role' && account.webIdentity ? (
              <>
                <div>
                  <dt>Trusted issuer</dt>
                  <dd>
                    <code className="wrap">{account.webIdentity.issuer}</code>
                    <FactErrors errors={errorOn('oidcProvider')} />
                  </dd>
                </div>
                <div>
                  <dt>Subject</dt>
                  <dd>
                    <code className="wrap">{account.webIdentity.subject}</code>
                  </dd>
                </div>
              </>
            ) : null}
            <div>
              <dt>Principal</dt>
              <dd>
                <code className="wrap">{account.principalArn}</code>
              </dd>
            </div>
            <div>
              <dt>Regions</dt>
              <dd>{account.regions.length ? account.regions.join(', ') : 'All regions'}</dd>
            </div>
            <div>
              <dt>Added</dt>
              <dd>{dateTime(account.createdAt)}</dd>
            </div>
          </dl>
        </Card>
        <Card
          title="Health"
          actions={
            canWrite ? (
              <Button variant="primary" busy={checking} onClick={() => void checkNow()}>
                Check now
              </Button>
            ) : null
          }
        >
          <p>
            <StatusBadge status={account.status} />{' '}
            <span className="muted" title={account.lastCheckedAt ?? undefined}>
              Last checked {timeAgo(account.lastCheckedAt)}
            </span>
          </p>
          {account.stale ? (
            <Alert tone="warning" title="Health not refreshed">
              {brandName} has not reached AWS to check this account since{' '}
              {dateTime(account.staleSince)}: the status is what the last check that reached AWS
              found. {brandName} tries again soon.
            </Alert>
          ) : null}
          {checkError ? <Alert tone="danger">{checkError}</Alert> : null}
          <div aria-live="polite">
            {lastCheck ? (
              <div className="check-result">
                <p>
                  <strong>Checked {timeAgo(lastCheck.at)}:</strong>{' '}
                  <CheckSummary check={lastCheck} />
                  {lastCheck.stale ? <StatusBadge status="stale" /> : null}
                </p>
                <CheckDetails check={lastCheck} bundleName={bundleName} collapseFindings />
              </div>
            ) : null}
          </div>
          {!lastCheck && account.checks.length ? <ChecksList checks={account.checks} /> : null}
        </Card>
      </div>
      <UpdatePermissions
        account={account}
        bundleName={bundleName}
        onChecked={(next, check, fixed) => {
          setAccount(next);
          // On top of the history, and in Health, as a check run from here.
          setLastCheck(check);
          if (fixed) setNotice('Permissions verified: the account is valid again.');
        }}
      />
      <OpenConsole account={account} />

      <RoleDetails account={account} />

      <Card title="Permissions">
        <ul className="bundle-status">
          {account.bundles.map((bundleId) => {
            const finding = account.findings.find((f) => f.bundleId === bundleId);
            const missing = (finding?.missing.length ?? 0) + (finding?.deniedByScp.length ?? 0);
            return (
              <li key={bundleId}>
                <span>{bundleName(bundleId)}</span>
                <StatusBadge
                  status={missing > 0 ? 'failed' : unverifiedPermissions ? 'unverified' : 'passed'}
                />
                {missing > 0 ? <span className="muted">{missing} actions missing</span> : null}
              </li>
            );
          })}
        </ul>
        {unverifiedPermissions ? (
          <p className="muted permissions-unverified">{unverifiedPermissions.detail}</p>
        ) : null}
        <FindingsList findings={account.findings} />
        <RemovablePermissions account={account} />
      </Card>

      <Card title="Check history">
        <CheckHistory accountId={account.id} latest={lastCheck} bundleName={bundleName} />
      </Card>

      {canWrite ? (
        <>
          <EditDetails account={account} onSaved={(a) => updated(a, 'Saved.')} />
          <ChangePermissions
            account={account}
            catalog={catalog}
            regions={offers.find((o) => o.partition === account.partition)?.regions ?? []}
            onSaved={(a) => updated(a, 'Permissions changed; the account was checked again.')}
          />
          <RotateCredentials
            account={account}
            onSaved={(a) => updated(a, 'Credentials replaced; the old ones are no longer used.')}
          />
        </>
      ) : null}
      {account.status !== 'invalid' ? (
        <Card title="IAM policies">
          <AddIamPolicies account={account} catalog={catalog} canWrite={canWrite} />
        </Card>
      ) : null}
      {canWrite ? <DeleteAccount account={account} /> : null}
    </>
  );
}

/** Marks an account whose health could not be refreshed: what it shows is older than it looks. */
function StaleMarker({ account }: { account: Account }) {
  return (
    <span
      className="badge badge-stale"
      title={`Not refreshed since ${dateTime(account.staleSince)}: AWS could not be reached`}
    >
      <span className="badge-dot" aria-hidden="true" />
      Stale<span className="visually-hidden"> since {dateTime(account.staleSince)}</span>
    </span>
  );
}

/** A check's errors about one identity fact, in red under it with what to do. */
function FactErrors({ errors }: { errors: (FieldMessage & { field: string })[] }) {
  return errors.map((error) => (
    <p key={`${error.field}:${error.message}`} className="field-error">
      {fieldLabel(error.field)}: {error.message}
      {error.hint ? <span className="field-hint"> {error.hint}</span> : null}
    </p>
  ));
}

function EditDetails({ account, onSaved }: { account: Account; onSaved: (a: Account) => void }) {
  const { client } = useConsole();
  const { form, errors, setErrors, busy, field, submit, onSubmit } = useForm({
    name: account.name,
    description: account.description,
  });
  const save = () => {
    const checked = validateWith(updateAccountRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => onSaved(await client.accounts.update(account.id, form)));
  };
  return (
    <Card title="Name and description">
      <form noValidate onSubmit={onSubmit(save)}>
        <Field label="Name" error={errors.name}>
          <TextInput {...field('name')} />
        </Field>
        <Field label="Description" optional error={errors.description}>
          <textarea className="input" rows={2} {...field('description')} />
        </Field>
        {errors.form ? <Alert tone="danger">{errors.form.message}</Alert> : null}
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={busy}>
            Save changes
          </Button>
        </div>
      </form>
    </Card>
  );
}

function ChangePermissions({
  account,
  catalog,
  regions,
  onSaved,
}: {
  account: Account;
  catalog: Catalog;
  regions: { id: string; description: string }[];
  onSaved: (a: Account) => void;
}) {
  const { name: brandName } = useBranding();
  const { client } = useConsole();
  const [open, setOpen] = useState(false);
  const {
    form: selection,
    setForm: setSelection,
    errors,
    busy,
    submit,
  } = useForm<PermissionSelection>({ bundles: account.bundles, regions: account.regions });
  const save = () =>
    submit(async () => {
      onSaved(await client.accounts.update(account.id, selection));
      setOpen(false);
    });
  return (
    <Card
      title="Change permissions"
      actions={
        <Button aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Close' : 'Change permissions'}
        </Button>
      }
    >
      {open ? (
        <>
          <p className="muted">
            Update the {isRoleMethod(account.method) ? 'role' : 'user'}’s policy in AWS first (the
            JSON below), then save: {brandName} checks the account again with the new selection.
          </p>
          <PermissionsPicker
            catalog={catalog}
            partition={account.partition}
            regions={regions}
            value={selection}
            onChange={setSelection}
            principal={isRoleMethod(account.method) ? 'role' : 'user'}
            errors={errors}
          />
          {Object.entries(errors)
            .filter(([field]) => !field.startsWith('permissions.'))
            .map(([field, e]) => (
              <Alert key={field} tone="danger">
                {e.message} {e.hint}
              </Alert>
            ))}
          <div className="form-actions">
            <Button variant="primary" busy={busy} onClick={() => void save()}>
              Save permissions
            </Button>
          </div>
        </>
      ) : (
        <p className="muted">
          {account.bundles.length} feature{account.bundles.length === 1 ? '' : 's'}
          {account.regions.length ? `, limited to ${account.regions.join(', ')}` : ''}.
        </p>
      )}
    </Card>
  );
}

function RotateCredentials({
  account,
  onSaved,
}: {
  account: Account;
  onSaved: (a: Account) => void;
}) {
  const { name: brandName } = useBranding();
  const { client } = useConsole();
  const [open, setOpen] = useState(false);
  const { form, errors, setErrors, busy, field, reset, submit, onSubmit } = useForm({
    accessKeyId: '',
    secretAccessKey: '',
    roleArn: '',
  });
  const body =
    account.method === 'role' || account.method === 'oidc_role'
      ? { method: account.method, roleArn: form.roleArn }
      : {
          method: 'access_keys' as const,
          accessKeyId: form.accessKeyId,
          secretAccessKey: form.secretAccessKey,
        };
  const save = () => {
    const checked = validateWith(replaceCredentialsRequestSchema, body);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      onSaved(await client.accounts.replaceCredentials(account.id, body));
      reset();
      setOpen(false);
    });
  };
  const other = Object.entries(errors).filter(
    ([f]) => !['accessKeyId', 'secretAccessKey', 'roleArn'].includes(f),
  );
  return (
    <Card
      title={isRoleMethod(account.method) ? 'Replace the role' : 'Rotate access keys'}
      actions={
        <Button aria-expanded={open} onClick={() => setOpen(!open)}>
          {open ? 'Close' : isRoleMethod(account.method) ? 'Replace role' : 'Rotate keys'}
        </Button>
      }
    >
      {open ? (
        <form noValidate autoComplete="off" onSubmit={onSubmit(save)}>
          <p className="muted">
            The new credentials are validated first; if they fail, nothing changes.
          </p>
          {isRoleMethod(account.method) ? (
            <Field
              label="New role ARN"
              error={errors.roleArn}
              description={`In ${PARTITION_LABELS[account.partition] ?? account.partition}, such as ${exampleRoleArn(account.partition, 'OnrampRole')}.`}
            >
              <TextInput
                spellCheck={false}
                placeholder={exampleRoleArn(account.partition, 'OnrampRole')}
                {...field('roleArn')}
              />
            </Field>
          ) : (
            <>
              <Field label="New access key ID" error={errors.accessKeyId}>
                <TextInput spellCheck={false} {...field('accessKeyId')} />
              </Field>
              <Field label="New secret access key" error={errors.secretAccessKey}>
                <TextInput
                  type="password"
                  autoComplete="new-password"
                  {...field('secretAccessKey')}
                />
              </Field>
            </>
          )}
          {other.map(([field, e]) => (
            <Alert key={field} tone="danger">
              {e.message} {e.hint}
            </Alert>
          ))}
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy}>
              Validate and replace
            </Button>
          </div>
        </form>
      ) : (
        <p className="muted">
          {account.method === 'oidc_role'
            ? `Point the account at another role. It must trust ${brandName}’s identity provider with the audience and subject shown under “Role and identity provider” above.`
            : account.method === 'role'
              ? 'Point the account at another role. Its trust policy must require the external ID shown under “Role and external ID” above.'
              : 'Replace the access keys, for example after rotating them in IAM.'}
        </p>
      )}
    </Card>
  );
}

function DeleteAccount({ account }: { account: Account }) {
  const { name: brandName } = useBranding();
  const { client } = useConsole();
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await client.accounts.delete(account.id);
      navigate('/accounts');
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };
  return (
    <Card title="Delete this account" className="card-danger">
      <p className="muted">
        {brandName} forgets the account and purges its stored secret. The role or user stays in AWS;
        delete it there too.
      </p>
      <Button variant="danger" onClick={() => setOpen(true)}>
        Delete account
      </Button>
      {open ? (
        <Modal title={`Delete ${account.name}?`} onClose={() => setOpen(false)}>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              if (typed === account.name) void remove();
            }}
          >
            <Field label={`Type the account's name, ${account.name}, to confirm`}>
              <TextInput
                value={typed}
                autoComplete="off"
                onChange={(event) => setTyped(event.target.value)}
              />
            </Field>
            {error ? <Alert tone="danger">{error}</Alert> : null}
            <div className="form-actions">
              <Button onClick={() => setOpen(false)}>Cancel</Button>
              <Button type="submit" variant="danger" disabled={typed !== account.name} busy={busy}>
                Delete for good
              </Button>
            </div>
          </form>
        </Modal>
      ) : null}
    </Card>
  );
}
