// @vitest-environment happy-dom
import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { App } from './App.tsx';
import { organization } from './test-organizations.ts';
import { fakeClient, SESSION } from './test-support.tsx';

describe('the console’s Organizations', () => {
  it('has an Organizations entry beside the accounts, which opens the list', async () => {
    window.history.replaceState(null, '', '/organizations');
    const client = fakeClient({
      'session.get': async () => SESSION,
      'organizations.list': async () => ({ organizations: [organization()], next: null }),
    });
    render(<App client={client} />);
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    const links = within(nav)
      .getAllByRole('link')
      .map((l) => l.textContent);
    expect(links.slice(0, 2)).toEqual(['Cloud accounts', 'Organizations']);
    expect(
      within(nav).getByRole('link', { name: 'Organizations' }).getAttribute('aria-current'),
    ).toBe('page');
    expect(await screen.findByRole('heading', { name: 'Organizations', level: 1 })).toBeTruthy();
    expect(await screen.findByRole('link', { name: 'Acme' })).toBeTruthy();
  });

  it('opens an organization’s page from its URL', async () => {
    window.history.replaceState(null, '', '/organizations/org_1');
    const client = fakeClient({
      'session.get': async () => SESSION,
      'organizations.get': async () => organization({ name: 'Acme prod' }),
      'organizations.tree': async () => ({ units: [], discoveredAt: null }),
    });
    render(<App client={client} />);
    expect(await screen.findByRole('heading', { name: 'Acme prod', level: 1 })).toBeTruthy();
  });
});
