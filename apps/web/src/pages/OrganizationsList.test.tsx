// @vitest-environment happy-dom
import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { organization } from '../test-organizations.ts';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { OrganizationsListPage } from './OrganizationsList.tsx';

const ACME = organization({
  status: 'active',
  awsOrganizationId: 'o-a1b2c3d4e5',
  counts: { discovered: 4, enrolling: 0, connected: 25, failed: 2, excluded: 3, left: 0 },
  health: { valid: 23, degraded: 2, invalid: 0, unverified: 0 },
  lastDiscovery: {
    at: new Date(Date.now() - 3 * 60_000).toISOString(),
    ok: true,
    accounts: 34,
    error: null,
  },
});
const CHINA = organization({ id: 'org_2', name: 'Acme China', partition: 'aws-cn' });

describe('the organizations list', () => {
  it('lists each organization with its partition, status, counts, health and last discovery', async () => {
    const list = vi.fn(async () => ({ organizations: [ACME, CHINA], next: null }));
    renderInConsole(<OrganizationsListPage />, fakeClient({ 'organizations.list': list }));
    const table = await screen.findByTestId('organizations-table');
    const [, acme, china] = within(table).getAllByRole('row');
    expect(
      within(acme as HTMLElement)
        .getByRole('link', { name: 'Acme' })
        .getAttribute('href'),
    ).toBe('/organizations/org_1');
    expect(acme?.textContent).toContain('o-a1b2c3d4e5');
    expect(acme?.textContent).toContain('Active');
    expect(acme?.textContent).toContain('25 connected · 2 failed · 4 waiting');
    expect(acme?.textContent).toContain('23 valid · 2 degraded');
    expect(acme?.textContent).toContain('3 minutes ago');
    expect(china?.textContent).toContain('AWS China');
    expect(china?.textContent).toContain('Waiting for the management stack');
    expect(china?.textContent).toContain('not yet');
  });

  it('invites to connect the first one; a viewer is told to ask an admin', async () => {
    const client = fakeClient({
      'organizations.list': async () => ({ organizations: [], next: null }),
    });
    const { unmount } = renderInConsole(<OrganizationsListPage />, client);
    await screen.findByRole('heading', { name: 'Connect your first organization' });
    fireEvent.click(
      screen.getAllByRole('button', { name: '+ Connect an organization' })[0] as HTMLElement,
    );
    expect(window.location.pathname).toBe('/organizations/new');
    unmount();
    renderInConsole(<OrganizationsListPage />, client, { canWrite: false });
    await screen.findByText('Ask an admin of your organisation to connect one.');
    expect(screen.queryByRole('button', { name: '+ Connect an organization' })).toBeNull();
  });

  it('pages with the cursor', async () => {
    const list = vi.fn(async (query: { cursor?: string }) =>
      query.cursor ? { organizations: [CHINA], next: null } : { organizations: [ACME], next: 'c1' },
    );
    renderInConsole(<OrganizationsListPage />, fakeClient({ 'organizations.list': list }));
    fireEvent.click(await screen.findByRole('button', { name: 'Show more' }));
    await screen.findByRole('link', { name: 'Acme China' });
    expect(list).toHaveBeenLastCalledWith({ limit: 25, cursor: 'c1' });
  });
});
