import { ApiProblem, listAll, type OnrampClient, type Session, type Tenant } from '@onramp/sdk';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { Alert, Button, Spinner } from './components/ui.tsx';
import { BrandingProvider, BrandMark, SupportLink } from './lib/branding.tsx';
import { describeError } from './lib/forms.ts';
import { Link, matchPath, navigate, useLocation } from './lib/router.tsx';
import {
  actingTenant,
  ClientContext,
  Console,
  type ConsoleContext,
  setActingTenant,
} from './lib/session.tsx';
import { AccountPage } from './pages/AccountPage.tsx';
import { AccountsListPage } from './pages/AccountsList.tsx';
import { AddAccountPage } from './pages/AddAccount.tsx';
import { ConnectOrganizationPage } from './pages/ConnectOrganization.tsx';
import { HostedConnectPage } from './pages/HostedConnect.tsx';
import { OperatorPage } from './pages/Operator.tsx';
import { OrganizationPage } from './pages/OrganizationPage.tsx';
import { OrganizationsListPage } from './pages/OrganizationsList.tsx';
import { ChangePasswordPage, ResetPasswordPage } from './pages/Password.tsx';
import { SettingsPage } from './pages/Settings.tsx';
import { SetupPage, SignInPage } from './pages/SignIn.tsx';

export function App({ client }: { client: OnrampClient }) {
  const { path } = useLocation();
  // A hosted connect session's page stands alone: no sign-in, no console, no tenant is asked for.
  const hosted = matchPath('/connect/:sessionId', path);
  if (hosted?.sessionId) {
    return (
      <HostedConnectPage key={hosted.sessionId} client={client} sessionId={hosted.sessionId} />
    );
  }
  return <ConsoleApp client={client} />;
}

function ConsoleApp({ client }: { client: OnrampClient }) {
  const [session, setSession] = useState<Session | null | undefined>();
  const [error, setError] = useState<string | undefined>();
  const { path } = useLocation();

  useEffect(() => {
    client.session.get().then(setSession, (failure: unknown) => {
      if (failure instanceof ApiProblem && failure.status === 401) setSession(null);
      else setError(describeError(failure));
    });
  }, [client]);

  const signedIn = (next: Session) => {
    setSession(next);
    // The shell sends an operator without a tenant to /operator, everyone else to /accounts.
    if (path === '/setup' || path === '/signin') navigate('/', { replace: true });
  };

  let content: React.ReactNode;
  if (error) {
    content = (
      <main className="auth" id="main">
        <Alert tone="danger" title="The console cannot reach its server">
          {error}
        </Alert>
      </main>
    );
  } else if (session === undefined) {
    content = <Spinner />;
  } else if (path === '/reset-password') {
    // Signed in or not: whoever holds a reset link sets the password of the user it was made for.
    content = <ResetPasswordPage />;
  } else if (session === null) {
    content =
      path === '/setup' ? (
        <SetupPage onSignedIn={signedIn} />
      ) : (
        <SignInPage onSignedIn={signedIn} />
      );
  } else {
    content = (
      <Shell
        client={client}
        session={session}
        onSignedOut={() => {
          setActingTenant(undefined);
          setSession(null);
          navigate('/');
        }}
      />
    );
  }
  return (
    <ClientContext.Provider value={client}>
      <BrandingProvider client={client}>{content}</BrandingProvider>
    </ClientContext.Provider>
  );
}

function Shell({
  client,
  session,
  onSignedOut,
}: {
  client: OnrampClient;
  session: Session;
  onSignedOut: () => void;
}) {
  const { path } = useLocation();
  const isOperator = session.user.role === 'operator_admin';
  const [tenant, setTenantState] = useState<string | undefined>(
    isOperator ? actingTenant() : (session.user.tenantId ?? undefined),
  );
  const [tenants, setTenants] = useState<Tenant[]>([]);
  const [tenantsError, setTenantsError] = useState<string | undefined>();
  const [menuOpen, setMenuOpen] = useState(false);

  useEffect(() => {
    // The picker offers every tenant (their number is capped by ONRAMP_MAX_TENANTS).
    if (isOperator)
      listAll(
        (cursor) => client.tenants.list({ limit: 200, ...(cursor ? { cursor } : {}) }),
        (page) => page.tenants,
      ).then(
        (all) => {
          setTenants(all);
          setTenantsError(undefined);
        },
        (failure: unknown) => setTenantsError(describeError(failure)),
      );
  }, [client, isOperator]);

  const setTenant = useCallback(
    (tenantId: string | undefined) => {
      if (!isOperator) return;
      setActingTenant(tenantId);
      setTenantState(tenantId);
    },
    [isOperator],
  );

  const value = useMemo<ConsoleContext>(
    () => ({
      client,
      session,
      tenantId: tenant,
      canWrite: session.user.role !== 'tenant_viewer',
      isOperator,
      setTenant,
      signOut: async () => {
        await client.session.logout().catch(() => {});
        onSignedOut();
      },
    }),
    [client, session, tenant, isOperator, setTenant, onSignedOut],
  );

  useEffect(() => {
    if (path === '/' || path === '/setup') {
      navigate(isOperator && !tenant ? '/operator' : '/accounts', { replace: true });
    }
  }, [path, isOperator, tenant]);

  const needsTenant =
    isOperator && !tenant && !path.startsWith('/operator') && path !== '/password';
  let page: React.ReactNode;
  const account = matchPath('/accounts/:id', path);
  const organization = matchPath('/organizations/:id', path);
  if (needsTenant) {
    page = (
      <Alert tone="info" title="Choose a tenant">
        As the operator, pick the tenant whose accounts to open (top right), or create one on the{' '}
        <Link to="/operator">Operator</Link> page.
      </Alert>
    );
  } else if (path === '/accounts' || path === '/accounts/') page = <AccountsListPage />;
  else if (path === '/accounts/new' || matchPath('/accounts/new/:connectionId', path))
    page = <AddAccountPage key={tenant} />;
  else if (account?.id) page = <AccountPage key={account.id} accountId={account.id} />;
  else if (path === '/organizations' || path === '/organizations/')
    page = <OrganizationsListPage key={tenant} />;
  else if (path === '/organizations/new' || matchPath('/organizations/new/:id', path))
    page = <ConnectOrganizationPage key={tenant} />;
  else if (organization?.id)
    page = (
      <OrganizationPage key={`${tenant}/${organization.id}`} organizationId={organization.id} />
    );
  else if (path.startsWith('/settings')) page = <SettingsPage key={tenant} />;
  else if (path.startsWith('/operator') && isOperator) page = <OperatorPage />;
  else if (path === '/password') page = <ChangePasswordPage />;
  else if (path === '/' || path === '/setup') page = <Spinner />;
  else
    page = (
      <Alert tone="warning" title="No such page">
        <Link to="/accounts">Go to the cloud accounts</Link>
      </Alert>
    );

  const nav: [string, string][] = [
    ['/accounts', 'Cloud accounts'],
    ['/organizations', 'Organizations'],
  ];
  if (session.user.role !== 'tenant_viewer') nav.push(['/settings', 'Settings']);
  if (isOperator) nav.push(['/operator', 'Operator']);

  return (
    <Console.Provider value={value}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/accounts" className="brand">
          <BrandMark />
        </Link>
        <button
          type="button"
          className="menu-toggle btn btn-ghost"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <nav id="main-nav" aria-label="Main" className={`nav${menuOpen ? ' nav-open' : ''}`}>
          {nav.map(([to, label]) => (
            <Link
              key={to}
              to={to}
              className="nav-link"
              aria-current={path.startsWith(to) ? 'page' : undefined}
              onClick={() => setMenuOpen(false)}
            >
              {label}
            </Link>
          ))}
        </nav>
        <div className="topbar-right">
          {isOperator ? (
            <label className="tenant-picker">
              <span className="visually-hidden">Acting on tenant</span>
              <select
                className="input input-compact"
                value={tenant ?? ''}
                onChange={(event) => {
                  setTenant(event.target.value || undefined);
                  if (event.target.value && path.startsWith('/operator')) navigate('/accounts');
                }}
              >
                <option value="">No tenant</option>
                {tenants.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          <span className="user" title={session.user.email}>
            {session.user.name}
            <span className="user-role">
              {session.user.role === 'tenant_viewer'
                ? 'Viewer'
                : session.user.role === 'tenant_admin'
                  ? 'Admin'
                  : 'Operator'}
            </span>
          </span>
          <Link
            to="/password"
            className="btn btn-ghost btn-small"
            aria-current={path === '/password' ? 'page' : undefined}
          >
            Change password
          </Link>
          <Button variant="ghost" className="btn-small" onClick={() => void value.signOut()}>
            Sign out
          </Button>
        </div>
      </header>
      <main className="main" id="main" tabIndex={-1}>
        {tenantsError ? (
          <Alert tone="danger" title="The tenants could not be listed">
            {tenantsError}
          </Alert>
        ) : null}
        {page}
      </main>
      <footer className="console-footer">
        <SupportLink />
      </footer>
    </Console.Provider>
  );
}
