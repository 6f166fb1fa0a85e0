// @vitest-environment happy-dom
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
        'users.list': async () => users,
        'users.createResetLink': createResetLink,
        'tokens.list': async () => [],
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
