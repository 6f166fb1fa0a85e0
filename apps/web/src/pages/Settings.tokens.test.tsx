// @vitest-environment happy-dom
import { ApiProblem } from '@onramp/sdk';
import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole, SESSION } from '../test-support.tsx';
import { SettingsPage } from './Settings.tsx';

const calls = (create: unknown) =>
  fakeClient({
    'users.list': async () => ({ users: [], next: null }),
    'tokens.list': async () => ({ tokens: [], next: null }),
    'tokens.create': create,
    audit: async () => ({ entries: [], next: null }),
  });

async function openTokens() {
  fireEvent.click(await screen.findByRole('tab', { name: /API tokens/ }));
  return screen.findByRole('group', { name: 'Scopes' });
}

describe('creating API tokens', () => {
  it('never offers a tenant admin the credentials:vend scope, which only the operator may grant', async () => {
    renderInConsole(<SettingsPage />, calls(vi.fn()));
    const scopes = await openTokens();
    const offered = within(scopes)
      .getAllByRole('checkbox')
      .map((box) => box.parentElement?.textContent);
    expect(offered).toEqual([
      'Read accounts accounts:read',
      'Change accounts accounts:write',
      'Administer the tenant admin',
    ]);
  });

  it('offers it to the operator', async () => {
    renderInConsole(<SettingsPage />, calls(vi.fn()), {
      isOperator: true,
      session: { ...SESSION, user: { ...SESSION.user, role: 'operator_admin', tenantId: null } },
    });
    const scopes = await openTokens();
    expect(within(scopes).getByText('credentials:vend')).toBeTruthy();
  });

  it('shows the API’s refusal instead of staying silent', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 403,
        title: 'Forbidden',
        detail:
          'This token may not grant credentials:vend: a token can only make tokens within its own scopes.',
      });
    });
    renderInConsole(<SettingsPage />, calls(create));
    await openTokens();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Pipeline' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect(await screen.findByText(/may not grant credentials:vend/)).toBeTruthy();
    expect(create).toHaveBeenCalled();
  });

  it('names the scope the API refused, at the scopes', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 400,
        title: 'The request is not valid',
        detail: 'scopes: too many',
        errors: [{ field: 'scopes', code: 'invalid_format', message: 'Too many scopes.' }],
      });
    });
    renderInConsole(<SettingsPage />, calls(create));
    await openTokens();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Pipeline' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create token' }));
    expect(await screen.findByText('Too many scopes.')).toBeTruthy();
  });
});

describe('the API tokens list', () => {
  const token = (id: string, name: string, parentTokenId: string | null) => ({
    id,
    tenantId: 'ten_a',
    name,
    prefix: 'onr_AbC1…',
    scopes: ['accounts:read' as const],
    createdBy: 'usr_1',
    createdAt: '2026-12-01T00:00:00.000Z',
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
    parentTokenId,
  });

  it('says which token made a machine token, by name when listed and by id when not', async () => {
    renderInConsole(
      <SettingsPage />,
      fakeClient({
        'users.list': async () => ({ users: [], next: null }),
        'tokens.list': async () => ({
          tokens: [
            token('token_child', 'nightly job', 'token_parent'),
            token('token_vend', 'billing', 'token_operator'),
            token('token_parent', 'pipeline', null),
          ],
          next: null,
        }),
        audit: async () => ({ entries: [], next: null }),
      }),
    );
    fireEvent.click(await screen.findByRole('tab', { name: /API tokens/ }));
    expect(await screen.findByText('made by token “pipeline”')).toBeTruthy();
    expect(screen.getByText('made by token token_operator')).toBeTruthy();
    // The prefix is shown as the API gives it, with one ellipsis.
    expect(screen.getAllByText('onr_AbC1…')).toHaveLength(3);
  });
});
