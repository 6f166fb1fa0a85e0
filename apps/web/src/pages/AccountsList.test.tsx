// @vitest-environment happy-dom
import type { Account } from '@onramp/sdk';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
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
    window.history.replaceState(null, '', '/accounts?partition=toString&method=__proto__');
    const list = vi.fn(async () => ({ accounts: [], next: null }));
    renderInConsole(<AccountsListPage />, fakeClient({ 'accounts.list': list }));
    await waitFor(() => expect(list).toHaveBeenCalledWith({ limit: 25 }));
  });
});
