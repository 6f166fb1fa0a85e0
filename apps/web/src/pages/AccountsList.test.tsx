// @vitest-environment happy-dom
import type { Account } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, renderInConsole } from '../test-support.tsx';
import { AccountsListPage } from './AccountsList.tsx';

const account = (n: number, awsAccountId: string): Account =>
  ({
    id: `acct_${n}`,
    name: `Account ${n}`,
    description: '',
    partition: 'aws',
    method: 'access_keys',
    awsAccountId,
    status: 'valid',
    lastCheckedAt: null,
  }) as unknown as Account;

describe('Accounts list', () => {
  afterEach(() => window.history.replaceState(null, '', '/'));

  it('reads its search and filters from the URL, as a reload or a shared link gives them', async () => {
    window.history.replaceState(
      null,
      '',
      '/accounts?q=1234-5678&partition=aws-us-gov&status=valid',
    );
    const list = vi.fn(async () => ({ accounts: [account(1, '123456789012')], next: null }));
    renderInConsole(<AccountsListPage />, fakeClient({ 'accounts.list': list }));
    expect(await screen.findByText('Account 1')).toBeTruthy();
    expect(list).toHaveBeenCalledWith({
      limit: 25,
      q: '1234-5678',
      partition: 'aws-us-gov',
      status: 'valid',
    });
    expect((screen.getByRole('searchbox') as HTMLInputElement).value).toBe('1234-5678');
    expect(screen.getByPlaceholderText('Name, description or AWS account ID')).toBeTruthy();
  });

  it('links a member account to its organization', async () => {
    window.history.replaceState(null, '', '/accounts');
    const member = { ...account(1, '123456789012'), organizationId: 'org_1' } as Account;
    const list = vi.fn(async () => ({
      accounts: [member, account(2, '210987654321')],
      next: null,
    }));
    renderInConsole(<AccountsListPage />, fakeClient({ 'accounts.list': list }));
    await screen.findByText('Account 2');
    const links = screen.getAllByRole('link', { name: 'In an organization' });
    expect(links.map((l) => l.getAttribute('href'))).toEqual(['/organizations/org_1']);
  });

  it('writes what is typed and chosen to the URL, replacing the entry rather than adding one', async () => {
    window.history.replaceState(null, '', '/accounts');
    const list = vi.fn(async () => ({ accounts: [account(1, '123456789012')], next: null }));
    renderInConsole(<AccountsListPage />, fakeClient({ 'accounts.list': list }));
    await screen.findByText('Account 1');
    const entries = window.history.length;
    fireEvent.change(screen.getByRole('searchbox'), { target: { value: '123456789012' } });
    fireEvent.change(screen.getByRole('combobox', { name: 'Method' }), {
      target: { value: 'role' },
    });
    expect(window.location.pathname).toBe('/accounts');
    expect(new URLSearchParams(window.location.search).get('q')).toBe('123456789012');
    expect(new URLSearchParams(window.location.search).get('method')).toBe('role');
    expect(window.history.length).toBe(entries);
    await waitFor(() =>
      expect(list).toHaveBeenLastCalledWith({ limit: 25, q: '123456789012', method: 'role' }),
    );
  });

  it('ignores a filter value it does not offer instead of failing', async () => {
    window.history.replaceState(
      null,
      '',
      '/accounts?partition=toString&method=__proto__&outdated=yes',
    );
    const list = vi.fn(async () => ({ accounts: [], next: null }));
    renderInConsole(<AccountsListPage />, fakeClient({ 'accounts.list': list }));
    await waitFor(() => expect(list).toHaveBeenCalledWith({ limit: 25 }));
  });
});

const SUMMARY = {
  total: 420,
  byStatus: { valid: 400, degraded: 15, invalid: 3, unverified: 2 },
  outdated: 312,
  trimmed: 4,
  byPartition: [
    { partition: 'aws' as const, total: 410, outdated: 310 },
    { partition: 'aws-us-gov' as const, total: 10, outdated: 2 },
  ],
  byBundle: [
    {
      bundle: 'nodes-ec2',
      accounts: 420,
      outdated: 312,
      missing: [
        { action: 'ec2:DescribeRegions', accounts: 12 },
        { action: 'ec2:DescribeInstanceTopology', accounts: 312 },
        { action: 'ec2:DescribeHosts', accounts: 40 },
        { action: 'ec2:DescribeImages', accounts: 30 },
        { action: 'ec2:DescribeSnapshots', accounts: 1 },
      ],
    },
    { bundle: 'nodes-autoscaling', accounts: 20, outdated: 0, missing: [] },
  ],
};

const withPermissions = (
  base: Account,
  permissions: Partial<NonNullable<Account['permissions']>>,
) =>
  ({
    ...base,
    permissions: {
      outdated: false,
      outdatedSince: null,
      changes: [],
      trimmed: [],
      grantedAt: null,
      ...permissions,
    },
  }) as Account;

describe('outdated accounts in the list', () => {
  afterEach(() => window.history.replaceState(null, '', '/'));

  function list(calls: Record<string, unknown> = {}, overrides = {}) {
    const listed = vi.fn(async () => ({
      accounts: [
        withPermissions(account(1, '111111111111'), { outdated: true }),
        withPermissions(account(2, '222222222222'), {
          trimmed: [{ bundle: 'nodes-ec2', actions: ['ec2:RunInstances'] }],
        }),
        account(3, '333333333333'),
      ],
      next: null,
    }));
    renderInConsole(
      <AccountsListPage />,
      fakeClient({
        'accounts.list': listed,
        'accounts.summary': async () => SUMMARY,
        catalog: async () => CATALOG,
        ...calls,
      }),
      overrides,
    );
    return listed;
  }
  const row = (name: string) => screen.getByText(name).closest('tr') as HTMLElement;

  it('marks outdated and trimmed accounts beside their health, each with its own badge', async () => {
    list();
    await screen.findByText('Account 1');
    expect(within(row('Account 1')).getByText('Outdated')).toBeTruthy();
    expect(within(row('Account 1')).queryByText('Trimmed')).toBeNull();
    expect(within(row('Account 2')).getByText('Trimmed')).toBeTruthy();
    expect(within(row('Account 2')).queryByText('Outdated')).toBeNull();
    expect(within(row('Account 3')).queryByText(/Outdated|Trimmed/)).toBeNull();
  });

  it('keeps "Outdated only" in the URL: a reload reads it, unticking removes it', async () => {
    window.history.replaceState(null, '', '/accounts?outdated=true&status=degraded');
    const listed = list();
    await screen.findByText('Account 1');
    expect(listed).toHaveBeenCalledWith({ limit: 25, status: 'degraded', outdated: 'true' });
    const box = screen.getByRole('checkbox', { name: 'Outdated only' }) as HTMLInputElement;
    expect(box.checked).toBe(true);
    fireEvent.click(box);
    expect(new URLSearchParams(window.location.search).get('outdated')).toBeNull();
    expect(new URLSearchParams(window.location.search).get('status')).toBe('degraded');
    await waitFor(() => expect(listed).toHaveBeenLastCalledWith({ limit: 25, status: 'degraded' }));
    fireEvent.click(box);
    expect(new URLSearchParams(window.location.search).get('outdated')).toBe('true');
    await waitFor(() =>
      expect(listed).toHaveBeenLastCalledWith({ limit: 25, status: 'degraded', outdated: 'true' }),
    );
  });

  it('keeps the filter when Back returns from an account', async () => {
    window.history.replaceState(null, '', '/accounts?outdated=true');
    const listed = list();
    await screen.findByText('Account 1');
    fireEvent.click(screen.getByRole('link', { name: 'Account 1' }));
    expect(window.location.pathname).toBe('/accounts/acct_1');
    window.history.back();
    await waitFor(() => expect(window.location.search).toBe('?outdated=true'));
    window.dispatchEvent(new PopStateEvent('popstate'));
    expect(
      (screen.getByRole('checkbox', { name: 'Outdated only' }) as HTMLInputElement).checked,
    ).toBe(true);
    expect(listed).toHaveBeenLastCalledWith({ limit: 25, outdated: 'true' });
  });

  it('sums up the fleet: per health, outdated, per partition, and the most-missing actions per feature', async () => {
    list();
    const card = (await screen.findByRole('heading', { name: 'Fleet' })).closest(
      'section',
    ) as HTMLElement;
    const stats = card.querySelector('.fleet-stats') as HTMLElement;
    expect(stats.textContent).toContain('Accounts420');
    expect(stats.textContent).toContain('Degraded15');
    expect(stats.textContent).toContain('Outdated312');
    expect(stats.textContent).toContain('Trimmed4');
    expect(card.textContent).toContain(
      'AWS: 410 (310 outdated) · AWS GovCloud (US): 10 (2 outdated)',
    );
    const needs = within(card)
      .getByRole('list', { name: 'What outdated accounts need' })
      .querySelectorAll(':scope > li > ul > li');
    // The three most missing first, by how many accounts lack them; the rest behind "and 2 more".
    expect([...needs].map((li) => li.textContent)).toEqual([
      '312 accounts need ec2:DescribeInstanceTopology for Manage EC2 nodes',
      '40 accounts need ec2:DescribeHosts for Manage EC2 nodes',
      '30 accounts need ec2:DescribeImages for Manage EC2 nodes',
    ]);
    expect(within(card).getByText('and 2 more actions for Manage EC2 nodes')).toBeTruthy();
    expect(card.textContent).toContain('1 account needs ec2:DescribeSnapshots');
  });

  it('shows only outdated accounts when their count is clicked', async () => {
    const listed = list();
    await screen.findByRole('heading', { name: 'Fleet' });
    fireEvent.click(screen.getByRole('button', { name: '312 outdated: show only these' }));
    expect(new URLSearchParams(window.location.search).get('outdated')).toBe('true');
    await waitFor(() => expect(listed).toHaveBeenLastCalledWith({ limit: 25, outdated: 'true' }));
  });

  it('re-checks outdated accounts once and says how many were scheduled', async () => {
    let finish: (value: { scheduled: number }) => void = () => {};
    const recheck = vi.fn(
      () => new Promise<{ scheduled: number }>((resolve) => (finish = resolve)),
    );
    list({ 'accounts.recheck': recheck });
    const button = await screen.findByRole('button', { name: 'Re-check outdated' });
    button.click();
    button.click();
    expect(recheck).toHaveBeenCalledTimes(1);
    expect(recheck).toHaveBeenCalledWith({ outdated: true });
    finish({ scheduled: 312 });
    expect(
      await screen.findByText(
        '312 accounts scheduled for a check; their health updates as each one finishes.',
      ),
    ).toBeTruthy();
  });

  it('re-checks only the partition the list is filtered to, and the summary follows it', async () => {
    window.history.replaceState(null, '', '/accounts?partition=aws-us-gov');
    const summary = vi.fn(async () => SUMMARY);
    const recheck = vi.fn(async () => ({ scheduled: 2 }));
    list({ 'accounts.summary': summary, 'accounts.recheck': recheck });
    fireEvent.click(await screen.findByRole('button', { name: 'Re-check outdated' }));
    await screen.findByText(/2 accounts scheduled/);
    expect(summary).toHaveBeenCalledWith({ partition: 'aws-us-gov' });
    expect(recheck).toHaveBeenCalledWith({ outdated: true, partition: 'aws-us-gov' });
  });

  it('shows a viewer the summary without Re-check', async () => {
    list({}, { canWrite: false });
    await screen.findByRole('heading', { name: 'Fleet' });
    expect(screen.queryByRole('button', { name: 'Re-check outdated' })).toBeNull();
  });

  it('says when the summary cannot be read, and still lists the accounts', async () => {
    list({
      'accounts.summary': async () => {
        throw new Error('Onramp is busy.');
      },
    });
    expect(
      await screen.findByText('The fleet summary could not be read: Onramp is busy.'),
    ).toBeTruthy();
    expect(await screen.findByText('Account 1')).toBeTruthy();
  });
});
