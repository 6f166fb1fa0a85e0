// @vitest-environment happy-dom
import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
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
});
