// @vitest-environment happy-dom
import { ApiProblem, type User } from '@onramp/sdk';
import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole, SESSION } from '../test-support.tsx';
import { SettingsPage } from './Settings.tsx';

describe('Settings', () => {
  it('tells a viewer who types its address that admins manage it, and asks the API for nothing', () => {
    // Any API call would reject ("unexpected call") and show an error.
    renderInConsole(<SettingsPage />, fakeClient({}), {
      canWrite: false,
      session: { ...SESSION, user: { ...SESSION.user, role: 'tenant_viewer' } },
    });
    expect(screen.getByText(/managed by your tenant’s admins/)).toBeTruthy();
    expect(screen.queryByRole('tab')).toBeNull();
  });

  it('reads the users a page at a time, and says so when the tenant has all the users it may have', async () => {
    const user = (n: number): User => ({
      id: `usr_${n}`,
      tenantId: 'tenant_1',
      email: `user${n}@example.com`,
      name: `User ${n}`,
      role: 'tenant_viewer',
      createdAt: '2030-01-01T10:00:00.000Z',
      disabled: false,
    });
    const list = vi.fn(async (query: { cursor?: string }) =>
      query.cursor === 'page-2'
        ? { users: [user(2)], next: null }
        : { users: [user(1)], next: 'page-2' },
    );
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'A limit of this tenant is reached',
        errors: [
          {
            field: 'users',
            code: 'limit_reached',
            message: 'This tenant may have at most 2 users.',
            hint: 'Remove users who no longer need access, or ask the operator to raise maxUsers.',
          },
        ],
      });
    });
    renderInConsole(<SettingsPage />, fakeClient({ 'users.list': list, 'users.create': create }));
    await screen.findByText('User 1');
    expect(screen.queryByText('User 2')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'More users' }));
    await screen.findByText('User 2');
    expect(list).toHaveBeenLastCalledWith({ limit: 50, cursor: 'page-2' });

    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Third' } });
    fireEvent.change(screen.getByLabelText('Email'), { target: { value: 'third@example.com' } });
    fireEvent.change(screen.getByLabelText('Initial password'), {
      target: { value: 'a long enough password' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Add user' }));
    await screen.findByText(/may have at most 2 users/);
    expect(screen.getByText(/ask the operator to raise maxUsers/)).toBeTruthy();
  });

  it('makes a password reset link for another user and shows it once, as a full address', async () => {
    const users = [
      {
        id: 'user_1',
        tenantId: 'tenant_1',
        email: 'ada@acme.example',
        name: 'Ada',
        role: 'tenant_admin',
        createdAt: '2030-01-01T00:00:00.000Z',
        disabled: false,
      },
      {
        id: 'user_2',
        tenantId: 'tenant_1',
        email: 'vic@acme.example',
        name: 'Vic',
        role: 'tenant_viewer',
        createdAt: '2030-01-01T00:00:00.000Z',
        disabled: false,
      },
    ];
    const createResetLink = vi.fn().mockResolvedValue({
      url: '/reset-password#token=rst_abc',
      expiresAt: '2030-01-02T00:00:00.000Z',
    });
    renderInConsole(
      <SettingsPage />,
      fakeClient({
        'users.list': async () => ({ users, next: null }),
        'users.createResetLink': createResetLink,
        'tokens.list': async () => ({ tokens: [], next: null }),
        audit: async () => ({ entries: [], next: null }),
      }),
    );
    // Not for oneself: one's own password is changed with the current one.
    expect(screen.queryByRole('button', { name: 'Reset the password of Ada' })).toBeNull();
    fireEvent.click(await screen.findByRole('button', { name: 'Reset the password of Vic' }));
    expect(await screen.findByText('Password reset link for Vic')).toBeTruthy();
    expect(createResetLink).toHaveBeenCalledWith('user_2');
    expect(screen.getByText(`${window.location.origin}/reset-password#token=rst_abc`)).toBeTruthy();
  });
});
