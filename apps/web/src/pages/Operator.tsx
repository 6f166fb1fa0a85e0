import { createTenantRequestSchema } from '@onramp/contracts';
import { type Catalog, createClient, type PartitionOffer } from '@onramp/sdk';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { BrandingPanel } from '../components/BrandingPanel.tsx';
import { OidcIssuerPanel } from '../components/OidcIssuerPanel.tsx';
import {
  Alert,
  Button,
  Card,
  Field,
  OtherErrors,
  PageHeader,
  Spinner,
  StatusBadge,
  Tabs,
  TextInput,
} from '../components/ui.tsx';
import { WebhooksPanel } from '../components/WebhooksPanel.tsx';
import { dateTime } from '../lib/format.ts';
import { describeError, useForm, validateWith } from '../lib/forms.ts';
import { usePages } from '../lib/pages.ts';
import { navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';

const TENANTS_PAGE_SIZE = 50;

/** The count limits a tenant may have beside maxAccounts, as the table shows them. */
const LIMIT_LABELS = [
  ['maxPendingConnections', 'pending connections'],
  ['maxWebhooks', 'webhooks'],
  ['maxTokens', 'tokens'],
  ['maxUsers', 'users'],
] as const;

export function OperatorPage() {
  const { client } = useConsole();
  // Without Onramp-Tenant, even while acting on a tenant: the operator's own endpoints.
  const operatorClient = useMemo(() => client.withTenant(undefined), [client]);
  return (
    <>
      <PageHeader
        title="Operator"
        subtitle="Tenants, the hub identity of each partition, the OpenID Connect issuer of keyless roles, the permission catalog, your brand, and webhooks for every tenant's events."
      />
      <Tabs
        label="Operator"
        tabs={[
          { id: 'tenants', title: 'Tenants', content: <TenantsPanel /> },
          { id: 'hubs', title: 'Hub identities', content: <HubsPanel /> },
          {
            id: 'oidc',
            title: 'Keyless issuer',
            content: <OidcIssuerPanel client={operatorClient} />,
          },
          { id: 'catalog', title: 'Catalog', content: <CatalogPanel /> },
          {
            id: 'branding',
            title: 'Branding',
            content: <BrandingPanel client={operatorClient} />,
          },
          {
            id: 'webhooks',
            title: 'Webhooks',
            content: <WebhooksPanel client={operatorClient} scope="operator" />,
          },
        ]}
      />
    </>
  );
}

function TenantsPanel() {
  const { client, setTenant, tenantId } = useConsole();
  const listPage = useCallback(
    (cursor: string | undefined) =>
      client.tenants
        .list({ limit: TENANTS_PAGE_SIZE, ...(cursor ? { cursor } : {}) })
        .then((page) => ({ items: page.tenants, next: page.next })),
    [client],
  );
  const { items: tenants, next, error, reload: load, loadMore } = usePages(listPage);
  const { form, errors, setErrors, busy, field, reset, submit, onSubmit } = useForm({
    name: '',
    adminName: '',
    adminEmail: '',
    adminPassword: '',
  });
  const create = () => {
    const body = {
      name: form.name,
      ...(form.adminEmail || form.adminName || form.adminPassword
        ? { admin: { name: form.adminName, email: form.adminEmail, password: form.adminPassword } }
        : {}),
    };
    const checked = validateWith(createTenantRequestSchema, body);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      await client.tenants.create(checked.data);
      reset();
      await load();
    });
  };
  return (
    <div className="stack">
      {error ? <Alert tone="danger">{error}</Alert> : null}
      <Card title="Tenants">
        {!tenants ? (
          <Spinner />
        ) : tenants.length === 0 ? (
          <p className="muted">No tenants yet: create the first one below.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Limits</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tenants.map((tenant) => (
                  <tr key={tenant.id}>
                    <td>
                      {tenant.name}
                      <div className="muted small">
                        <code>{tenant.id}</code>
                      </div>
                    </td>
                    <td>
                      {[
                        tenant.limits.maxAccounts !== undefined
                          ? `${tenant.limits.maxAccounts} accounts`
                          : '',
                        ...LIMIT_LABELS.filter(([key]) => tenant.limits[key] !== undefined).map(
                          ([key, label]) => `${tenant.limits[key]} ${label}`,
                        ),
                        tenant.limits.partitions?.join(', ') ?? '',
                        tenant.limits.methods?.join(', ') ?? '',
                      ]
                        .filter(Boolean)
                        .join(' · ') || 'None'}
                    </td>
                    <td>{dateTime(tenant.createdAt)}</td>
                    <td>
                      {tenantId === tenant.id ? (
                        <span className="tag">Acting on it</span>
                      ) : (
                        <Button
                          className="btn-small"
                          onClick={() => {
                            setTenant(tenant.id);
                            navigate('/accounts');
                          }}
                        >
                          Open its accounts
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {next ? (
          <div className="form-actions">
            <Button onClick={() => void loadMore()}>More tenants</Button>
          </div>
        ) : null}
      </Card>
      <Card title="Create a tenant">
        <form noValidate className="form-grid" onSubmit={onSubmit(create)}>
          <Field label="Tenant name" error={errors.name}>
            <TextInput {...field('name')} />
          </Field>
          <Field label="First admin's name" optional error={errors['admin.name']}>
            <TextInput {...field('adminName')} />
          </Field>
          <Field label="First admin's email" optional error={errors['admin.email']}>
            <TextInput type="email" {...field('adminEmail')} />
          </Field>
          <Field label="First admin's password" optional error={errors['admin.password']}>
            <TextInput type="password" autoComplete="new-password" {...field('adminPassword')} />
          </Field>
          <OtherErrors
            errors={errors}
            fields={['name', 'admin.name', 'admin.email', 'admin.password']}
          />
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy}>
              Create tenant
            </Button>
          </div>
        </form>
      </Card>
    </div>
  );
}

/** The hub identities, read through the tenant acted on (or the first): /v1/partitions is per tenant. */
function HubsPanel() {
  const { client, tenantId } = useConsole();
  const [offers, setOffers] = useState<PartitionOffer[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    const run = async () => {
      const tenant = tenantId ?? (await client.tenants.list({ limit: 1 })).tenants[0]?.id;
      if (!tenant) throw new Error('Create a tenant first: partitions are offered per tenant.');
      return createClient({ tenant: () => tenant }).partitions();
    };
    run().then(setOffers, (f: unknown) => setError(describeError(f)));
  }, [client, tenantId]);
  if (error) return <Alert tone="info">{error}</Alert>;
  if (!offers) return <Spinner />;
  return (
    <div className="grid-3">
      {offers.map((offer) => (
        <Card key={offer.partition} title={offer.displayName}>
          <p>
            <StatusBadge status={offer.trustedPrincipal ? 'valid' : 'unverified'} />{' '}
            {offer.trustedPrincipal
              ? 'Roles and access keys'
              : offer.methods.includes('oidc_role')
                ? 'Keyless roles and access keys'
                : 'Access keys only'}
          </p>
          {offer.trustedPrincipal ? (
            <p>
              Customers' roles trust <code className="wrap">{offer.trustedPrincipal.arn}</code>
            </p>
          ) : (
            <p className="muted">{offer.reason}</p>
          )}
          <p className="muted small">{offer.regions.length} regions</p>
        </Card>
      ))}
    </div>
  );
}

function CatalogPanel() {
  const { client } = useConsole();
  const [catalog, setCatalog] = useState<Catalog | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    client.catalog().then(setCatalog, (f: unknown) => setError(describeError(f)));
  }, [client]);
  if (error) return <Alert tone="danger">{error}</Alert>;
  if (!catalog) return <Spinner />;
  return (
    <div className="stack">
      <Card title={`${catalog.platform}: partitions`}>
        <ul className="plain">
          {catalog.partitions.map((p) => (
            <li key={p.partition}>
              <strong>{p.displayName}</strong>:{' '}
              {`${p.customizable ? 'customisable' : 'defaults only'}; defaults ${p.defaultBundles.join(', ')}`}
            </li>
          ))}
        </ul>
      </Card>
      {catalog.products.map((product) => (
        <Card key={product.id} title={product.name}>
          <p className="muted">{product.description}</p>
          {product.bundles.map((bundle) => (
            <details key={bundle.id} className="bundle-actions">
              <summary>
                <strong>{bundle.name}</strong> <code>{bundle.id}</code>
                {bundle.isDefault ? <span className="tag">Default</span> : null} ·{' '}
                {bundle.partitions.join(', ')} · {bundle.actions.length} actions
              </summary>
              <p>{bundle.description}</p>
              <ul>
                {bundle.actions.map((a) => (
                  <li key={a}>
                    <code>{a}</code>
                  </li>
                ))}
              </ul>
            </details>
          ))}
        </Card>
      ))}
    </div>
  );
}
