import {
  createTokenRequestSchema,
  createUserRequestSchema,
  GRANTABLE_SCOPES,
} from '@onramp/contracts';
import type { ApiToken, AuditPage, CreatedToken, PasswordResetLink, User } from '@onramp/sdk';
import { useCallback, useEffect, useState } from 'react';
import {
  Alert,
  Button,
  Card,
  CopyValue,
  Field,
  OtherErrors,
  PageHeader,
  Spinner,
  Tabs,
  TextInput,
} from '../components/ui.tsx';
import { WebhooksPanel } from '../components/WebhooksPanel.tsx';
import { dateTime, timeAgo } from '../lib/format.ts';
import { describeError, useForm, validateWith } from '../lib/forms.ts';
import { usePages } from '../lib/pages.ts';
import { useConsole } from '../lib/session.tsx';

/** Users and tokens per page. */
const PAGE_SIZE = 50;

function MoreButton({
  next,
  onMore,
  label,
}: {
  next: string | null;
  onMore: () => Promise<void>;
  label: string;
}) {
  if (!next) return null;
  return (
    <div className="form-actions">
      <Button onClick={() => void onMore()}>{label}</Button>
    </div>
  );
}

const ROLE_LABELS: Record<string, string> = {
  operator_admin: 'Operator admin',
  tenant_admin: 'Admin',
  tenant_viewer: 'Viewer',
};

export function SettingsPage() {
  const { client, canWrite, session } = useConsole();
  // The navigation leaves Settings out for viewers; one who types the address is told why.
  if (session.user.role === 'tenant_viewer') {
    return (
      <>
        <PageHeader title="Settings" />
        <p className="muted">
          Users, API tokens, webhooks and the audit log are managed by your tenant’s admins.
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader
        title="Settings"
        subtitle="Who can use Onramp, API tokens, webhooks, and what happened."
      />
      <Tabs
        label="Settings"
        tabs={[
          { id: 'users', title: 'Users', content: <UsersPanel /> },
          { id: 'tokens', title: 'API tokens', content: <TokensPanel /> },
          // Webhooks are the tenant admins' (the API asks for the admin scope).
          ...(canWrite
            ? [
                {
                  id: 'webhooks',
                  title: 'Webhooks',
                  content: <WebhooksPanel client={client} scope="tenant" />,
                },
              ]
            : []),
          { id: 'audit', title: 'Audit log', content: <AuditPanel /> },
        ]}
      />
    </>
  );
}

function UsersPanel() {
  const { client, session } = useConsole();
  const listPage = useCallback(
    (cursor: string | undefined) =>
      client.users
        .list({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) })
        .then((page) => ({ items: page.users, next: page.next })),
    [client],
  );
  const { items: users, next, error, setError, reload: load, loadMore } = usePages(listPage);
  const [resetLink, setResetLink] = useState<{ user: User; link: PasswordResetLink }>();
  const { form, errors, setErrors, busy, field, reset, submit, onSubmit } = useForm({
    email: '',
    name: '',
    password: '',
    role: 'tenant_viewer' as 'tenant_admin' | 'tenant_viewer',
  });
  const add = () => {
    const checked = validateWith(createUserRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      await client.users.create(checked.data);
      reset();
      await load();
    });
  };
  const change = async (user: User, change: { role?: User['role']; disabled?: boolean }) => {
    try {
      await client.users.update(user.id, change as { role?: 'tenant_admin' });
      await load();
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  const makeResetLink = async (user: User) => {
    try {
      setResetLink({ user, link: await client.users.createResetLink(user.id) });
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  return (
    <div className="stack">
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {resetLink ? (
        <Alert tone="success" title={`Password reset link for ${resetLink.user.name}`}>
          <p>
            Give it to {resetLink.user.email} by a channel you trust. It works once, until{' '}
            {dateTime(resetLink.link.expiresAt)}, and Onramp will not show it again.
          </p>
          {/* Relative when the server has no public URL: this console's own address is the one. */}
          <CopyValue value={new URL(resetLink.link.url, window.location.origin).toString()} />
        </Alert>
      ) : null}
      <Card title="Users">
        {!users ? (
          <Spinner />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {users.map((user) => (
                  <tr key={user.id}>
                    <td>{user.name}</td>
                    <td>{user.email}</td>
                    <td>
                      {user.id === session.user.id || user.role === 'operator_admin' ? (
                        ROLE_LABELS[user.role]
                      ) : (
                        <select
                          className="input input-compact"
                          aria-label={`Role of ${user.name}`}
                          value={user.role}
                          onChange={(event) =>
                            void change(user, { role: event.target.value as User['role'] })
                          }
                        >
                          <option value="tenant_admin">Admin</option>
                          <option value="tenant_viewer">Viewer</option>
                        </select>
                      )}
                    </td>
                    <td>{user.disabled ? 'Disabled' : 'Active'}</td>
                    <td>
                      {user.id !== session.user.id ? (
                        <>
                          <Button
                            variant="ghost"
                            className="btn-small"
                            onClick={() => void change(user, { disabled: !user.disabled })}
                          >
                            {user.disabled ? 'Enable' : 'Disable'}
                          </Button>
                          <Button
                            variant="ghost"
                            className="btn-small"
                            aria-label={`Reset the password of ${user.name}`}
                            onClick={() => void makeResetLink(user)}
                          >
                            Reset password
                          </Button>
                        </>
                      ) : (
                        <span className="muted">You</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <MoreButton next={next} onMore={loadMore} label="More users" />
      </Card>
      <Card title="Add a user">
        <form noValidate className="form-grid" onSubmit={onSubmit(add)}>
          <Field label="Name" error={errors.name}>
            <TextInput {...field('name')} />
          </Field>
          <Field label="Email" error={errors.email}>
            <TextInput type="email" {...field('email')} />
          </Field>
          <Field label="Initial password" error={errors.password}>
            <TextInput type="password" autoComplete="new-password" {...field('password')} />
          </Field>
          <Field label="Role" error={errors.role}>
            <select className="input" {...field('role')}>
              <option value="tenant_viewer">Viewer: sees accounts</option>
              <option value="tenant_admin">Admin: changes accounts, users and tokens</option>
            </select>
          </Field>
          <OtherErrors errors={errors} fields={['name', 'email', 'password', 'role']} />
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy}>
              Add user
            </Button>
          </div>
        </form>
      </Card>
    </div>
  );
}

const SCOPE_LABELS: Record<string, string> = {
  'accounts:read': 'Read accounts',
  'accounts:write': 'Change accounts',
  'credentials:vend': 'Vend credentials',
  admin: 'Administer the tenant',
};

/**
 * How the list names the token that made another: by its name when it is on this page, else by its
 * id (an operator token that made a tenant's token is not in the tenant's list).
 */
function madeByName(tokens: readonly ApiToken[], parentTokenId: string): string {
  const parent = tokens.find((t) => t.id === parentTokenId);
  return parent ? `“${parent.name}”` : parentTokenId;
}

function TokensPanel() {
  const { client, session } = useConsole();
  // Only what this user may grant: the server refuses the rest (credentials:vend is the operator's).
  const grantable = GRANTABLE_SCOPES[session.user.role];
  const listPage = useCallback(
    (cursor: string | undefined) =>
      client.tokens
        .list({ limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) })
        .then((page) => ({ items: page.tokens, next: page.next })),
    [client],
  );
  const { items: tokens, next, error, setError, reload: load, loadMore } = usePages(listPage);
  const [created, setCreated] = useState<CreatedToken | undefined>();
  const { form, setForm, errors, setErrors, busy, field, reset, submit, onSubmit } = useForm({
    name: '',
    scopes: ['accounts:read'] as string[],
    expiresInDays: '90',
  });
  const create = () => {
    const body = {
      name: form.name,
      scopes: form.scopes,
      ...(form.expiresInDays ? { expiresInDays: Number(form.expiresInDays) } : {}),
    };
    const checked = validateWith(createTokenRequestSchema, body);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      setCreated(await client.tokens.create(checked.data));
      reset();
      await load();
    });
  };
  const revoke = async (token: ApiToken) => {
    try {
      await client.tokens.revoke(token.id);
      await load();
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  return (
    <div className="stack">
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {created ? (
        <Alert tone="success" title={`Token "${created.token.name}" created`}>
          <p>Copy it now: Onramp stores only its hash and will not show it again.</p>
          <CopyValue value={created.secret} />
        </Alert>
      ) : null}
      <Card title="API tokens">
        {!tokens ? (
          <Spinner />
        ) : tokens.length === 0 ? (
          <p className="muted">
            No tokens yet. Scripts and your platform use them to call the API.
          </p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Token</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {tokens.map((token) => (
                  <tr key={token.id}>
                    <td>
                      {token.name}
                      {token.parentTokenId ? (
                        <div className="muted small">
                          made by token {madeByName(tokens, token.parentTokenId)}
                        </div>
                      ) : null}
                    </td>
                    <td>
                      {/* The API's prefix already ends in an ellipsis. */}
                      <code>{token.prefix}</code>
                    </td>
                    <td>{token.scopes.map((s) => SCOPE_LABELS[s] ?? s).join(', ')}</td>
                    <td>{token.expiresAt ? dateTime(token.expiresAt) : 'Never'}</td>
                    <td>{timeAgo(token.lastUsedAt)}</td>
                    <td>
                      {token.revokedAt ? (
                        <span className="muted">Revoked</span>
                      ) : (
                        <Button
                          variant="ghost"
                          className="btn-small"
                          onClick={() => void revoke(token)}
                        >
                          Revoke
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <MoreButton next={next} onMore={loadMore} label="Older tokens" />
      </Card>
      <Card title="Create a token">
        <form noValidate onSubmit={onSubmit(create)}>
          <Field label="Name" error={errors.name}>
            <TextInput placeholder="Provisioning pipeline" {...field('name')} />
          </Field>
          <fieldset className={`choice-group${errors.scopes ? ' field-invalid' : ''}`}>
            <legend className="field-label">Scopes</legend>
            {grantable.map((scope) => (
              <label key={scope} className="inline-check">
                <input
                  type="checkbox"
                  checked={form.scopes.includes(scope)}
                  onChange={(event) =>
                    setForm({
                      ...form,
                      scopes: event.target.checked
                        ? [...form.scopes, scope]
                        : form.scopes.filter((s) => s !== scope),
                    })
                  }
                />
                {SCOPE_LABELS[scope]} <code>{scope}</code>
              </label>
            ))}
            {errors.scopes ? (
              <p className="field-error" role="alert">
                {form.scopes.length === 0 ? 'Choose at least one scope.' : errors.scopes.message}
                {errors.scopes.hint ? (
                  <span className="field-hint"> {errors.scopes.hint}</span>
                ) : null}
              </p>
            ) : null}
          </fieldset>
          <Field label="Expires after (days)" optional error={errors.expiresInDays}>
            <TextInput inputMode="numeric" {...field('expiresInDays')} />
          </Field>
          <OtherErrors errors={errors} fields={['name', 'scopes', 'expiresInDays']} />
          <div className="form-actions">
            <Button type="submit" variant="primary" busy={busy}>
              Create token
            </Button>
          </div>
        </form>
      </Card>
    </div>
  );
}

function AuditPanel() {
  const { client } = useConsole();
  const [entries, setEntries] = useState<AuditPage['entries'] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    client.audit({ limit: 50 }).then(
      (page) => {
        setEntries(page.entries);
        setNext(page.next);
      },
      (f: unknown) => setError(describeError(f)),
    );
  }, [client]);
  const more = async () => {
    if (!next) return;
    try {
      const page = await client.audit({ limit: 50, cursor: next });
      setEntries([...(entries ?? []), ...page.entries]);
      setNext(page.next);
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  if (error) return <Alert tone="danger">{error}</Alert>;
  if (!entries) return <Spinner />;
  return (
    <Card title="Audit log">
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Record</th>
              <th scope="col">Who</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td title={entry.at}>{dateTime(entry.at)}</td>
                <td>
                  <code>{entry.action}</code>
                </td>
                <td>
                  {entry.targetType} <code className="small">{entry.targetId}</code>
                </td>
                <td>
                  {entry.actorType}
                  {entry.actorId ? <code className="small"> {entry.actorId}</code> : null}
                </td>
                <td>{entry.sourceIp}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {next ? (
        <div className="form-actions">
          <Button onClick={() => void more()}>Older entries</Button>
        </div>
      ) : null}
    </Card>
  );
}
