// @vitest-environment happy-dom
import type { Account, Connection, HostedSession, ValidationResult } from '@onramp/sdk';
import { createClient } from '@onramp/sdk';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { App } from '../App.tsx';
import { CATALOG, previewOf } from '../test-support.tsx';

const BRAND = {
  name: 'Acme Cloud',
  logoUrl: '/v1/branding/logo',
  colors: { primary: '#aa3300', accent: '#0055aa' },
  supportUrl: 'https://help.acme.example/aws',
};
const REDIRECT = 'https://app.acme.example/aws?connect_session=cs_1&outcome=connected';

function hostedSession(overrides: Partial<HostedSession> = {}): HostedSession {
  return {
    id: 'cs_1',
    state: 'active',
    outcome: null,
    kind: 'connect',
    branding: BRAND,
    partitions: [
      { partition: 'aws', displayName: 'AWS', methods: ['role', 'access_keys'], reason: null },
    ],
    bundles: { choose: ['nodes-ec2', 'nodes-autoscaling'], preselected: ['nodes-ec2'] },
    regions: { fixed: [] },
    catalog: CATALOG,
    accountName: null,
    connection: null,
    account: null,
    redirectTo: null,
    expiresAt: '2026-12-03T17:00:00Z',
    csrfToken: 'session-csrf',
    ...overrides,
  };
}

function connectionOf(overrides: Partial<Connection> = {}): Connection {
  return {
    id: 'conn_1',
    name: 'AWS account',
    description: '',
    partition: 'aws',
    bundles: ['nodes-ec2'],
    regions: [],
    roleName: 'AcmeCloudRole',
    method: 'role',
    externalId: 'ext-1234567890',
    webIdentity: null,
    trustedPrincipal: { arn: 'arn:aws:iam::111122223333:user/hub', accountId: '111122223333' },
    unavailableReason: null,
    status: 'pending',
    accountId: null,
    previousExternalId: null,
    previousExternalIdUntil: null,
    externalIdInUse: null,
    setupMethod: null,
    expiresAt: null,
    expired: false,
    links: {
      cloudformationYaml: '/v1/connections/conn_1/cloudformation?format=yaml',
      cloudformationJson: '/v1/connections/conn_1/cloudformation?format=json',
      terraform: '/v1/connections/conn_1/terraform',
      steps: '/v1/connections/conn_1/steps',
      quickCreate:
        'https://console.aws.amazon.com/cloudformation/home#/stacks/quickcreate?stackName=acme',
    },
    quickCreateUnavailableReason: null,
    reportsBack: false,
    deployCommand: null,
    createdAt: '2026-12-03T16:00:00Z',
    ...overrides,
  };
}

function accountOf(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acct_1',
    name: 'Billing',
    description: '',
    partition: 'aws',
    method: 'access_keys',
    awsAccountId: '444455556666',
    principalArn: 'arn:aws:iam::444455556666:user/acme',
    roleArn: null,
    accessKeyId: 'AKIAOLDOLDOLDOLDOLD1',
    connectionId: null,
    roleOrigin: null,
    bundles: ['nodes-ec2'],
    regions: [],
    status: 'invalid',
    checks: [
      {
        name: 'identity',
        status: 'failed',
        detail: 'The access key was deleted or deactivated.',
        durationMs: 12,
      },
    ],
    findings: [],
    lastCheckedAt: '2026-12-03T15:00:00Z',
    stale: false,
    staleSince: null,
    createdAt: '2026-11-01T00:00:00Z',
    updatedAt: '2026-12-03T15:00:00Z',
    ...overrides,
  };
}

const PASSED: ValidationResult = {
  valid: true,
  status: 'valid',
  findings: [],
  identity: { accountId: '444455556666', arn: 'arn:aws:iam::444455556666:user/acme' },
  checks: [
    { name: 'hub', status: 'passed', detail: '', durationMs: 10 },
    { name: 'identity', status: 'passed', detail: '', durationMs: 10 },
  ],
  errors: [],
  notices: [],
};

interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
}

type Route = (call: Call) => { status?: number; body?: unknown } | undefined;

/**
 * The hosted API as the browser sees it: each test answers the calls it expects; any other call is
 * a 500 (and recorded), so a page that asks for more than the session shows it.
 */
function serve(routes: Record<string, Route>) {
  const calls: Call[] = [];
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const target = new URL(String(url), 'http://onramp.test');
    const call: Call = {
      method: init?.method ?? 'GET',
      path: target.pathname,
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    const route = routes[`${call.method} ${call.path}`];
    const answer = route?.(call) ?? { status: 500, body: { title: 'unexpected call' } };
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status ?? 200,
      headers: { 'content-type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetch);
  return calls;
}

const AT = '/v1/connect/sessions/cs_1';
const problem = (status: number, code: string, detail: string) => ({
  status,
  body: { type: `urn:onramp:problem:${code}`, title: detail, status, detail },
});
/** A session that cannot be used, as the hosted API says it: a conflict naming the reason. */
const ended = (code: string, message: string) => ({
  status: 409,
  body: {
    type: 'urn:onramp:problem:conflict',
    title: 'This conflicts with what exists',
    status: 409,
    detail: message,
    errors: [{ field: 'session', code, message, hint: 'Return to the product you came from.' }],
  },
});

function visit(url: string) {
  window.history.replaceState(null, '', url);
  return render(<App client={createClient()} />);
}

let assign: ReturnType<typeof vi.fn<(url: string | URL) => void>>;
beforeEach(() => {
  assign = vi.fn<(url: string | URL) => void>();
  vi.spyOn(window.location, 'assign').mockImplementation(assign);
  window.sessionStorage.clear();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

const noOnramp = () => expect(document.body.textContent).not.toMatch(/onramp/i);

describe('the hosted connect page', () => {
  it('trades the link’s secret once, drops it from the address bar, and asks nothing else', async () => {
    const calls = serve({
      [`POST ${AT}/open`]: (call) =>
        (call.body as { token: string }).token === 'link-secret'
          ? { body: hostedSession() }
          : problem(404, 'not_found', 'Not found'),
    });
    visit('/connect/cs_1#link-secret');
    expect(await screen.findByRole('heading', { name: 'Connect your AWS account' })).toBeTruthy();
    expect(window.location.hash).toBe('');
    expect(window.location.href).not.toContain('link-secret');
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`POST ${AT}/open`]);
    // No console around it: no sign-in, no session of the console, no navigation.
    expect(screen.queryByRole('navigation')).toBeNull();
    expect(calls.some((c) => c.path === '/v1/session')).toBe(false);
  });

  it('reads the session through its cookie on a reload without the fragment', async () => {
    const calls = serve({ [`GET ${AT}`]: () => ({ body: hostedSession() }) });
    visit('/connect/cs_1');
    expect(await screen.findByRole('heading', { name: 'Connect your AWS account' })).toBeTruthy();
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`GET ${AT}`]);
  });

  it('wears the platform’s brand: colours, name, logo and support link, and never says Onramp', async () => {
    serve({
      [`GET ${AT}`]: () => ({ body: hostedSession() }),
      'POST /v1/connect/sessions/cs_1/policy-preview': (call) => ({
        body: previewOf(call.body as { partition: string }),
      }),
      [`POST ${AT}/connection`]: () => ({ body: connectionOf() }),
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'Connect your AWS account' });
    const frame = screen.getByTestId('hosted-frame');
    expect(frame.style.getPropertyValue('--primary')).toBe('#aa3300');
    expect(frame.style.getPropertyValue('--brand-accent')).toBe('#0055aa');
    expect((screen.getByRole('img', { name: 'Acme Cloud' }) as HTMLImageElement).src).toContain(
      '/v1/branding/logo',
    );
    expect(
      screen.getByRole('link', { name: 'Get help from Acme Cloud' }).getAttribute('href'),
    ).toBe(BRAND.supportUrl);
    expect(document.title).toContain('Acme Cloud');
    expect(screen.getByText(/A role in your account that trusts Acme Cloud/)).toBeTruthy();
    noOnramp();

    fireEvent.change(screen.getByLabelText('Account name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    await screen.findByRole('heading', { name: 'Permissions' });
    noOnramp();
    fireEvent.click(screen.getByRole('button', { name: 'Create the role set-up' }));
    await screen.findByRole('heading', { name: 'Create the role' });
    expect(screen.getByText('ext-1234567890')).toBeTruthy();
    expect(screen.getByText(/It reports the role back to Acme Cloud by itself/)).toBeTruthy();
    noOnramp();
    // The downloads go to the session's own endpoints, where its cookie lets them through.
    expect(
      screen.getByRole('link', { name: 'Download template (YAML)' }).getAttribute('href'),
    ).toBe(`${AT}/connection/cloudformation?format=yaml`);
  });

  it('shows fixed permissions read-only', async () => {
    serve({
      [`GET ${AT}`]: () => ({ body: hostedSession({ bundles: { fixed: ['nodes-ec2'] } }) }),
      [`POST ${AT}/policy-preview`]: (call) => ({
        body: previewOf(call.body as { partition: string }),
      }),
    });
    visit('/connect/cs_1?step=permissions');
    await screen.findByRole('heading', { name: 'Permissions' });
    const ec2 = screen.getByRole('checkbox', { name: /Manage EC2 nodes/ }) as HTMLInputElement;
    expect(ec2.checked).toBe(true);
    expect(ec2.disabled || Boolean(ec2.closest('fieldset:disabled'))).toBe(true);
    expect(screen.queryByRole('checkbox', { name: /Auto Scaling groups/ })).toBeNull();
    expect(screen.getByText(/asks for these permissions; they are set for you/)).toBeTruthy();
  });

  it('offers only the chosen bundles, preselected, and the role set-up is made once: a double click and Back then forward make one POST', async () => {
    let made = 0;
    const calls = serve({
      [`GET ${AT}`]: () => ({ body: hostedSession() }),
      [`POST ${AT}/policy-preview`]: (call) => ({
        body: previewOf(call.body as { partition: string }),
      }),
      [`POST ${AT}/connection`]: () => {
        made += 1;
        return { body: connectionOf() };
      },
      [`PATCH ${AT}/connection`]: (call) => ({
        body: connectionOf(call.body as Partial<Connection>),
      }),
    });
    visit('/connect/cs_1?step=permissions');
    await screen.findByRole('heading', { name: 'Permissions' });
    // The picker's default is the session's preselection, and the preview says so to the server.
    expect(
      (screen.getByRole('radio', { name: /Default permissions/ }) as HTMLInputElement).checked,
    ).toBe(true);
    await waitFor(() =>
      expect(calls.find((c) => c.path === `${AT}/policy-preview`)?.body).toMatchObject({
        bundles: ['nodes-ec2'],
      }),
    );
    fireEvent.click(screen.getByRole('radio', { name: /Customise/ }));
    expect(
      (screen.getByRole('checkbox', { name: /Manage EC2 nodes/ }) as HTMLInputElement).checked,
    ).toBe(true);
    expect(
      (screen.getByRole('checkbox', { name: /Auto Scaling groups/ }) as HTMLInputElement).checked,
    ).toBe(false);

    const create = screen.getByRole('button', { name: 'Create the role set-up' });
    fireEvent.click(create);
    fireEvent.click(create);
    await screen.findByRole('heading', { name: 'Create the role' });
    expect(made).toBe(1);
    expect(new URLSearchParams(window.location.search).get('step')).toBe('connect');
    const post = calls.find((c) => c.method === 'POST' && c.path === `${AT}/connection`);
    expect(post?.body).toEqual({
      partition: 'aws',
      method: 'role',
      bundles: ['nodes-ec2'],
      regions: [],
    });
    expect(post?.headers['x-csrf-token']).toBe('session-csrf');

    fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    await screen.findByRole('heading', { name: 'Permissions' });
    fireEvent.click(screen.getByRole('checkbox', { name: /Auto Scaling groups/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Create the role set-up' }));
    await screen.findByRole('heading', { name: 'Create the role' });
    expect(made).toBe(1);
    const patch = calls.find((c) => c.method === 'PATCH');
    expect(patch?.body).toMatchObject({ bundles: ['nodes-ec2', 'nodes-autoscaling'] });
    expect(screen.getByText('ext-1234567890')).toBeTruthy();
  });

  it('connects access keys once and returns to the platform with the outcome', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let completed = 0;
    const calls = serve({
      [`GET ${AT}`]: () => ({
        body: hostedSession({ accountName: 'Billing', bundles: { fixed: ['nodes-ec2'] } }),
      }),
      [`POST ${AT}/policy-preview`]: (call) => ({
        body: previewOf(call.body as { partition: string }),
      }),
      [`POST ${AT}/user-template`]: () => ({ status: 503, body: { title: 'Not now' } }),
      [`POST ${AT}/validate`]: () => ({ body: PASSED }),
      [`POST ${AT}/complete`]: () => {
        completed += 1;
        return {
          body: hostedSession({
            state: 'completed',
            outcome: 'connected',
            account: accountOf({ status: 'valid', checks: [] }),
            redirectTo: REDIRECT,
          }),
        };
      },
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'Connect your AWS account' });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: access keys' }));
    // Each step's heading takes the focus, so a screen reader announces where the customer is.
    await waitFor(() =>
      expect(document.activeElement?.textContent).toBe('Connect with access keys'),
    );
    fireEvent.change(await screen.findByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 's3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation passed');
    expect(screen.getByText('Acme Cloud can reach the partition')).toBeTruthy();
    expect(screen.getByText(/If you have no user for Acme Cloud yet/)).toBeTruthy();
    noOnramp();
    const connect = screen.getByRole('button', { name: 'Connect the account' });
    fireEvent.click(connect);
    fireEvent.click(connect);
    expect(
      await screen.findByRole('heading', { name: 'Your AWS account is connected' }),
    ).toBeTruthy();
    expect(completed).toBe(1);
    expect(calls.find((c) => c.path === `${AT}/complete`)?.body).toEqual({
      method: 'access_keys',
      name: 'Billing',
      partition: 'aws',
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      secretAccessKey: 's3cret',
      bundles: ['nodes-ec2'],
      regions: [],
    });
    // The secret is gone from what the page keeps.
    expect(JSON.stringify(window.sessionStorage)).not.toContain('s3cret');
    noOnramp();
    expect(screen.getByText(/Acme Cloud can use it now/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Return to Acme Cloud' })).toBeTruthy();
    // Back to the platform by itself after a few seconds.
    expect(assign).not.toHaveBeenCalled();
    act(() => {
      vi.advanceTimersByTime(5000);
    });
    expect(assign).toHaveBeenCalledWith(REDIRECT);
  });

  it('does not connect an account that lacks the permissions the platform asked for', async () => {
    const degraded: ValidationResult = {
      ...PASSED,
      valid: false,
      status: 'degraded',
      savableDegraded: true,
      findings: [
        {
          bundleId: 'nodes-ec2',
          bundleName: 'Manage EC2 nodes',
          missing: ['ec2:RunInstances'],
          deniedByScp: [],
        },
      ],
      errors: [
        {
          field: 'permissions.nodes-ec2',
          code: 'missing_permissions',
          message: 'The user lacks 1 action.',
        },
      ],
    };
    serve({
      [`GET ${AT}`]: () => ({ body: hostedSession({ accountName: 'Billing' }) }),
      [`POST ${AT}/user-template`]: () => ({ status: 503, body: { title: 'Not now' } }),
      [`POST ${AT}/validate`]: () => ({ body: degraded }),
    });
    window.sessionStorage.setItem(
      'onramp.connect.cs_1',
      JSON.stringify({
        name: '',
        partition: 'aws',
        method: 'access_keys',
        selection: { bundles: ['nodes-ec2'], regions: [] },
      }),
    );
    visit('/connect/cs_1?step=connect');
    fireEvent.change(await screen.findByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 's3cret' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Signed in; some permissions are missing');
    expect(screen.getByText('ec2:RunInstances')).toBeTruthy();
    expect(
      (screen.getByRole('button', { name: 'Connect the account' }) as HTMLButtonElement).disabled,
    ).toBe(true);
    expect(document.body.textContent).not.toMatch(/save anyway/i);
  });

  it('cancels from anywhere and goes to the return URL', async () => {
    const cancelled = 'https://app.acme.example/aws?connect_session=cs_1&outcome=cancelled';
    const calls = serve({
      [`GET ${AT}`]: () => ({ body: hostedSession() }),
      [`POST ${AT}/cancel`]: () => ({
        body: hostedSession({ state: 'cancelled', outcome: 'cancelled', redirectTo: cancelled }),
      }),
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'Connect your AWS account' });
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(assign).toHaveBeenCalledWith(cancelled));
    expect(calls.find((c) => c.path === `${AT}/cancel`)?.headers['x-csrf-token']).toBe(
      'session-csrf',
    );
  });

  it.each([
    [ended('link_used', 'This link was opened already.'), 'This link was already used'],
    [ended('session_expired', 'This link expired.'), 'This link has expired'],
    [ended('session_cancelled', 'This link was cancelled.'), 'This link was cancelled'],
    [ended('session_completed', 'This link was used.'), 'This link has done its work'],
    [problem(404, 'not_found', 'Not found'), 'This link does not work'],
  ])('says clearly, in the brand, why a link cannot be used (%#)', async (answer, title) => {
    const calls = serve({
      [`POST ${AT}/open`]: () => answer,
      // Another browser: no cookie of the session, the same 404 as an unknown one.
      [`GET ${AT}`]: () => problem(404, 'not_found', 'Not found'),
      'GET /v1/branding': () => ({ body: BRAND }),
    });
    visit('/connect/cs_1#link-secret');
    expect(await screen.findByRole('heading', { name: title })).toBe(document.activeElement);
    await screen.findByText('Acme Cloud');
    expect(screen.queryByRole('button', { name: 'Try again' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Return to/ })).toBeNull();
    expect(window.location.href).not.toContain('link-secret');
    noOnramp();
    // No retry loop: one attempt (for a link that ended, one read of the session, which this
    // browser may not hold), and the public brand.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const reread = ['This link was already used', 'This link does not work'].includes(title)
      ? []
      : [`GET ${AT}`];
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      `POST ${AT}/open`,
      ...reread,
      'GET /v1/branding',
    ]);
  });

  it('a fix link opened again by the browser that used it says the account is fixed', async () => {
    serve({
      [`POST ${AT}/open`]: () => ended('session_completed', 'This link was used.'),
      [`GET ${AT}`]: () => ({
        body: hostedSession({
          kind: 'fix',
          state: 'completed',
          outcome: 'fixed',
          account: accountOf({ status: 'valid', checks: [] }),
          redirectTo: REDIRECT,
        }),
      }),
    });
    visit('/connect/cs_1#link-secret');
    await screen.findByRole('heading', { name: 'This account is fixed' });
    expect(screen.queryByRole('textbox')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Return to Acme Cloud' }));
    expect(assign).toHaveBeenCalledWith(REDIRECT);
    noOnramp();
  });

  it('waits for the stack to report the role back, which completes the session', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let reads = 0;
    const withConnection = hostedSession({
      connection: connectionOf({ reportsBack: true }),
    });
    serve({
      [`GET ${AT}`]: () => {
        reads += 1;
        return reads < 3
          ? { body: withConnection }
          : {
              body: hostedSession({
                state: 'completed',
                outcome: 'connected',
                account: accountOf({ method: 'role', status: 'valid', checks: [] }),
                redirectTo: REDIRECT,
              }),
            };
      },
    });
    // A reload on the step: the set-up comes back from the session, nothing is made again.
    visit('/connect/cs_1?step=connect');
    await screen.findByRole('heading', { name: 'Create the role' });
    expect(screen.getByText(/Waiting for your stack/)).toBeTruthy();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2600);
    });
    expect(screen.getByRole('heading', { name: 'Create the role' })).toBeTruthy();
    await act(async () => {
      await vi.advanceTimersByTimeAsync(2600);
    });
    expect(
      await screen.findByRole('heading', { name: 'Your AWS account is connected' }),
    ).toBeTruthy();
    expect(reads).toBe(3);
  });

  it('fixes a degraded role with the permission update, then checks it again', async () => {
    const degraded = accountOf({
      method: 'role',
      status: 'degraded',
      principalArn: 'arn:aws:iam::444455556666:role/AcmeCloudRole',
      roleArn: 'arn:aws:iam::444455556666:role/AcmeCloudRole',
      accessKeyId: null,
      checks: [],
      findings: [
        {
          bundleId: 'nodes-autoscaling',
          bundleName: 'Auto Scaling groups',
          missing: ['autoscaling:CreateAutoScalingGroup'],
          deniedByScp: [],
        },
      ],
    });
    const calls = serve({
      [`GET ${AT}`]: () => ({ body: hostedSession({ kind: 'fix', account: degraded }) }),
      [`GET ${AT}/permissions-update`]: () => ({
        body: {
          madeWith: 'manual',
          changes: [],
          policies: [
            {
              name: 'AcmeCloudRole-permissions-1',
              document: { Version: '2012-10-17', Statement: [] },
            },
          ],
          cloudFormation: null,
          terraform: null,
          steps: [{ title: 'Open the role in IAM', detail: 'Replace its inline policies.' }],
        },
      }),
      [`POST ${AT}/complete`]: () => ({
        body: hostedSession({
          kind: 'fix',
          state: 'completed',
          outcome: 'fixed',
          account: { ...degraded, status: 'valid', findings: [] },
          redirectTo: REDIRECT,
        }),
      }),
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'Fix your AWS account' });
    expect(screen.getByText('Auto Scaling groups')).toBeTruthy();
    expect(await screen.findByText('Open the role in IAM')).toBeTruthy();
    noOnramp();
    fireEvent.click(screen.getByRole('button', { name: 'I’ve applied it — check again' }));
    await screen.findByRole('heading', { name: 'Your AWS account is fixed' });
    expect(calls.find((c) => c.path === `${AT}/complete`)?.body).toEqual({ verify: true });
  });

  it('shows a completed session with its way back on a reload', async () => {
    serve({
      [`GET ${AT}`]: () => ({
        body: hostedSession({ state: 'completed', outcome: 'connected', redirectTo: REDIRECT }),
      }),
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'This link has done its work' });
    expect(screen.queryByRole('button', { name: 'Validate' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Return to Acme Cloud' }));
    expect(assign).toHaveBeenCalledWith(REDIRECT);
  });

  it('fixes an access-key account with new keys, and says what is still wrong when the check fails', async () => {
    const fixed = 'https://app.acme.example/aws?connect_session=cs_1&outcome=fixed';
    let attempts = 0;
    const calls = serve({
      [`GET ${AT}`]: () => ({ body: hostedSession({ kind: 'fix', account: accountOf() }) }),
      [`POST ${AT}/complete`]: () => {
        attempts += 1;
        return attempts === 1
          ? {
              body: hostedSession({
                kind: 'fix',
                account: accountOf({
                  checks: [
                    {
                      name: 'identity',
                      status: 'failed',
                      detail: 'The secret access key does not match the key ID.',
                      durationMs: 9,
                    },
                  ],
                }),
              }),
            }
          : {
              body: hostedSession({
                kind: 'fix',
                state: 'completed',
                outcome: 'fixed',
                account: accountOf({ status: 'valid', checks: [] }),
                redirectTo: fixed,
              }),
            };
      },
    });
    visit('/connect/cs_1');
    await screen.findByRole('heading', { name: 'Fix your AWS account' });
    expect(screen.getByText('444455556666')).toBeTruthy();
    expect(screen.getByText('The access key was deleted or deactivated.')).toBeTruthy();

    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIANEWNEWNEWNEWNEW1' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Check and save the keys' }));
    await screen.findByText('It is not fixed yet');
    expect(screen.getByText('The secret access key does not match the key ID.')).toBeTruthy();
    noOnramp();

    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIANEWNEWNEWNEWNEW1' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'right' } });
    fireEvent.click(screen.getByRole('button', { name: 'Check and save the keys' }));
    await screen.findByRole('heading', { name: 'Your AWS account is fixed' });
    expect(calls.filter((c) => c.path === `${AT}/complete`).map((c) => c.body)).toEqual([
      { method: 'access_keys', accessKeyId: 'AKIANEWNEWNEWNEWNEW1', secretAccessKey: 'wrong' },
      { method: 'access_keys', accessKeyId: 'AKIANEWNEWNEWNEWNEW1', secretAccessKey: 'right' },
    ]);
  });
});
