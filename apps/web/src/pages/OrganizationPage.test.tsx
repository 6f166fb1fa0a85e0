// @vitest-environment happy-dom
import type { ListOrganizationMembersQuery, OrganizationMember } from '@onramp/sdk';
import { ApiProblem } from '@onramp/sdk';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { member, organization, SETUP, TREE } from '../test-organizations.ts';
import { fakeClient, renderInConsole, SESSION } from '../test-support.tsx';
import { OrganizationPage } from './OrganizationPage.tsx';

const ACTIVE = organization({
  status: 'active',
  awsOrganizationId: 'o-a1b2c3d4e5',
  managementAccountId: '999999999999',
  managementRoleArn: 'arn:aws:iam::999999999999:role/OnrampOrganizationRole-abc',
  rootId: 'r-ab12',
  counts: { discovered: 0, enrolling: 0, connected: 5, failed: 1, excluded: 2, left: 0 },
  health: { valid: 4, degraded: 1, invalid: 0, unverified: 0 },
  lastDiscovery: { at: '2026-12-03T12:00:00.000Z', ok: true, accounts: 8, error: null },
});

const FAILED = member({
  awsAccountId: '222222222222',
  name: 'prod-batch',
  state: 'failed',
  accountId: null,
  health: null,
  reason: {
    code: 'role_not_assumable',
    message: 'Onramp could not assume the member role.',
    hint: 'Check that the StackSet instance in 222222222222 succeeded.',
  },
});
const MEMBERS: OrganizationMember[] = [member(), FAILED];

function page(calls: Record<string, unknown> = {}, overrides = {}) {
  const members = vi.fn(async (_id: string, query: ListOrganizationMembersQuery = {}) => ({
    members: MEMBERS.filter((m) => !query.state || m.state === query.state),
    next: null,
  }));
  const client = fakeClient({
    'organizations.get': async () => ACTIVE,
    'organizations.tree': async () => TREE,
    'organizations.members': members,
    ...calls,
  });
  renderInConsole(<OrganizationPage organizationId="org_1" />, client, overrides);
  return { members };
}

beforeEach(() => {
  window.history.replaceState(null, '', '/organizations/org_1');
});

describe('the organization page', () => {
  it('shows the header, the tree with each unit’s subtree counts, and the members linking to their accounts', async () => {
    page();
    await screen.findByRole('heading', { name: 'Acme', level: 1 });
    const facts = screen.getByTestId('organization-facts');
    expect(facts.textContent).toContain('o-a1b2c3d4e5');
    expect(facts.textContent).toContain('999999999999');
    expect(facts.textContent).toContain('8 accounts');
    const tree = await screen.findByRole('tree', { name: 'Organizational units' });
    expect(within(tree).getByTestId('unit-counts-r-ab12').textContent).toBe(
      '5 connected · 1 failed · 2 excluded',
    );
    expect(within(tree).getByTestId('unit-counts-ou-ab12-prod0001').textContent).toBe(
      '4 connected · 1 failed',
    );
    expect(within(tree).getByTestId('unit-counts-ou-ab12-sand0001').textContent).toBe('2 excluded');
    expect(within(tree).getByTestId('unit-r-ab12').textContent).toContain('4 valid · 1 degraded');
    // Payments is below Production, which starts closed.
    expect(within(tree).queryByTestId('unit-ou-ab12-pay00001')).toBeNull();

    const row = await screen.findByTestId('member-111111111111');
    expect(within(row).getByRole('link', { name: 'prod-api' }).getAttribute('href')).toBe(
      '/accounts/acct_1',
    );
    // A failed member has no account to link to: its reason and what to do instead.
    const failed = screen.getByTestId('member-222222222222');
    expect(within(failed).queryByRole('link')).toBeNull();
    expect(failed.textContent).toContain('Onramp could not assume the member role.');
    expect(failed.textContent).toContain('Check that the StackSet instance');
  });

  it('clicking a unit lists its members (in the URL), and again shows the whole organization', async () => {
    const { members } = page();
    const production = await screen.findByTestId('unit-ou-ab12-prod0001');
    fireEvent.click(production);
    await waitFor(() =>
      expect(members).toHaveBeenLastCalledWith(
        'org_1',
        expect.objectContaining({ unit: 'ou-ab12-prod0001' }),
      ),
    );
    expect(new URLSearchParams(window.location.search).get('unit')).toBe('ou-ab12-prod0001');
    expect(production.getAttribute('aria-selected')).toBe('true');
    expect(screen.getByTestId('unit-filter').textContent).toContain('Production');
    fireEvent.click(screen.getByRole('button', { name: 'Show the whole organization' }));
    await waitFor(() => expect(members.mock.calls.at(-1)?.[1]).not.toHaveProperty('unit'));
    expect(window.location.search).toBe('');
  });

  it('walks the tree with the keyboard: arrows move and open, Enter picks the unit', async () => {
    const { members } = page();
    const root = await screen.findByTestId('unit-r-ab12');
    expect(root.getAttribute('tabindex')).toBe('0');
    act(() => root.focus());
    fireEvent.keyDown(root, { key: 'ArrowDown' });
    const production = screen.getByTestId('unit-ou-ab12-prod0001');
    expect(document.activeElement).toBe(production);
    expect(production.getAttribute('aria-expanded')).toBe('false');
    fireEvent.keyDown(production, { key: 'ArrowRight' });
    expect(production.getAttribute('aria-expanded')).toBe('true');
    fireEvent.keyDown(production, { key: 'ArrowRight' });
    const payments = screen.getByTestId('unit-ou-ab12-pay00001');
    expect(document.activeElement).toBe(payments);
    expect(payments.getAttribute('aria-level')).toBe('3');
    fireEvent.keyDown(payments, { key: 'Enter' });
    await waitFor(() =>
      expect(members).toHaveBeenLastCalledWith(
        'org_1',
        expect.objectContaining({ unit: 'ou-ab12-pay00001' }),
      ),
    );
    fireEvent.keyDown(payments, { key: 'ArrowLeft' });
    expect(document.activeElement).toBe(production);
    fireEvent.keyDown(production, { key: 'ArrowLeft' });
    expect(production.getAttribute('aria-expanded')).toBe('false');
  });

  it('a unit or state in the URL that is not one is no filter', async () => {
    window.history.replaceState(null, '', '/organizations/org_1?unit=prod&state=gone');
    const { members } = page();
    await screen.findByTestId('member-222222222222');
    expect(members).toHaveBeenCalledWith('org_1', { limit: 50 });
  });

  it('keeps the members’ filters in the URL and sends them', async () => {
    window.history.replaceState(null, '', '/organizations/org_1?state=failed&q=batch');
    const { members } = page();
    await screen.findByTestId('member-222222222222');
    expect(members).toHaveBeenCalledWith(
      'org_1',
      expect.objectContaining({ state: 'failed', q: 'batch', limit: 50 }),
    );
    fireEvent.change(screen.getByRole('combobox', { name: 'Health' }), {
      target: { value: 'degraded' },
    });
    await waitFor(() =>
      expect(members).toHaveBeenLastCalledWith(
        'org_1',
        expect.objectContaining({ state: 'failed', health: 'degraded' }),
      ),
    );
    expect(new URLSearchParams(window.location.search).get('health')).toBe('degraded');
  });

  it('retries a failed member and says what failed, grouped by reason', async () => {
    // The server's view: once retried, the member is enrolling again (and no longer failed).
    let retried = false;
    const enrolling = { ...FAILED, state: 'enrolling' as const, reason: null };
    const retryMember = vi.fn(async () => {
      retried = true;
      return enrolling;
    });
    page({
      'organizations.retryMember': retryMember,
      'organizations.members': async (_id: string, query: ListOrganizationMembersQuery = {}) => ({
        members: (retried ? [member(), enrolling] : MEMBERS).filter(
          (m) => !query.state || m.state === query.state,
        ),
        next: null,
      }),
    });
    const panel = await screen.findByRole('heading', { name: 'What failed' });
    const card = panel.closest('section') as HTMLElement;
    await waitFor(() =>
      expect(card.textContent).toContain('Onramp could not assume the member role.'),
    );
    expect(card.textContent).toContain('1 account');
    const row = await screen.findByTestId('member-222222222222');
    fireEvent.click(within(row).getByRole('button', { name: 'Retry prod-batch' }));
    await waitFor(() => expect(within(row).queryByRole('button', { name: /Retry/ })).toBeNull());
    expect(retryMember).toHaveBeenCalledWith('org_1', '222222222222');
    await waitFor(() =>
      expect(screen.getByTestId('member-222222222222').textContent).toContain('Enrolling'),
    );
  });

  it('shows a refused retry beside its member', async () => {
    page({
      'organizations.retryMember': async () => {
        throw new ApiProblem({ status: 409, title: 'Conflict', detail: 'It is not failed now.' });
      },
    });
    const row = await screen.findByTestId('member-222222222222');
    fireEvent.click(within(row).getByRole('button', { name: 'Retry prod-batch' }));
    expect(await within(row).findByText('It is not failed now.')).toBeTruthy();
  });

  it('previews new rules live (counts and the accounts that change) before they can be saved', async () => {
    const previewRules = vi.fn(async () => ({
      admitted: 5,
      excluded: 3,
      changes: [
        {
          awsAccountId: '111111111111',
          name: 'prod-api',
          state: 'connected' as const,
          admitted: false,
          because: 'Account 111111111111 is excluded by its ID.',
        },
      ],
      changesTotal: 1,
      unknownTargets: [],
    }));
    const update = vi.fn(async (_id: string, input: { rules?: unknown }) =>
      organization({ ...ACTIVE, rules: input.rules as typeof ACTIVE.rules }),
    );
    page({ 'organizations.previewRules': previewRules, 'organizations.update': update });
    const save = await screen.findByRole('button', { name: 'Save rules' });
    expect((save as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByLabelText(/Exclude these accounts/), {
      target: { value: '111111111111' },
    });
    const preview = await screen.findByTestId('rules-preview');
    await waitFor(() => expect(preview.textContent).toContain('5 admitted'));
    expect(preview.textContent).toContain('3 excluded');
    expect(preview.textContent).toContain('1 account change');
    expect(preview.textContent).toContain('Account 111111111111 is excluded by its ID.');
    expect(previewRules).toHaveBeenCalledWith('org_1', {
      include: { organizationalUnits: [], accounts: [] },
      exclude: { organizationalUnits: [], accounts: ['111111111111'] },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save rules' }));
    await waitFor(() => expect(update).toHaveBeenCalledTimes(1));
    expect(update.mock.calls[0]?.[1]).toEqual({
      rules: {
        include: { organizationalUnits: [], accounts: [] },
        exclude: { organizationalUnits: [], accounts: ['111111111111'] },
      },
    });
  });

  it('shows the API’s refusal of a rule under its own list', async () => {
    page({
      'organizations.previewRules': async () => {
        throw new ApiProblem({
          status: 422,
          title: 'Invalid request',
          errors: [
            {
              field: 'rules.exclude.accounts',
              code: 'management_excluded',
              message: 'The management account cannot be excluded.',
              hint: 'It reads the organization for Onramp.',
            },
          ],
        });
      },
    });
    await screen.findByRole('button', { name: 'Save rules' });
    const box = screen.getByLabelText(/Exclude these accounts/);
    fireEvent.change(box, { target: { value: '999999999999' } });
    await waitFor(() => expect(box.getAttribute('aria-invalid')).toBe('true'));
    const described = box.getAttribute('aria-describedby') ?? '';
    const error = described
      .split(' ')
      .map((id) => document.getElementById(id)?.textContent ?? '')
      .join(' ');
    expect(error).toContain('The management account cannot be excluded.');
    expect((screen.getByRole('button', { name: 'Save rules' }) as HTMLButtonElement).disabled).toBe(
      true,
    );
  });

  it('a rule that is not an ID is named as typed, and nothing is previewed', async () => {
    const previewRules = vi.fn();
    page({ 'organizations.previewRules': previewRules });
    await screen.findByRole('button', { name: 'Save rules' });
    fireEvent.change(screen.getByLabelText(/Include these OUs/), { target: { value: 'prod' } });
    expect(await screen.findByText(/Not a root or OU ID: prod\./)).toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(previewRules).not.toHaveBeenCalled();
  });

  it('a viewer sees everything but no action buttons', async () => {
    page(
      {},
      {
        canWrite: false,
        session: { ...SESSION, user: { ...SESSION.user, role: 'tenant_viewer' } },
      },
    );
    await screen.findByTestId('member-222222222222');
    for (const name of [
      'Discover now',
      'Rotate enrollment token',
      'Delete',
      'Retry prod-batch',
      'Save rules',
      'Update permissions',
    ]) {
      expect(screen.queryByRole('button', { name }), name).toBeNull();
    }
    expect(screen.getByRole('tree')).toBeTruthy();
    expect((screen.getByLabelText(/Include these OUs/) as HTMLTextAreaElement).readOnly).toBe(true);
  });

  it('says it waits for the management stack while there are no members', async () => {
    page({
      'organizations.get': async () => organization(),
      'organizations.tree': async () => ({ units: [], discoveredAt: null }),
    });
    const empty = await screen.findByTestId('organization-empty');
    expect(
      within(empty).getByRole('heading', { name: 'Waiting for the management stack' }),
    ).toBeTruthy();
    // Discovery needs the management role.
    expect(
      (screen.getByRole('button', { name: 'Discover now' }) as HTMLButtonElement).disabled,
    ).toBe(true);
  });

  it('Update permissions shows the stack update when members are outdated', async () => {
    const permissionsUpdate = vi.fn(async () => ({ ...SETUP, missing: [] }));
    page({
      'organizations.get': async () => ({ ...ACTIVE, outdated: 3 }),
      'organizations.permissionsUpdate': permissionsUpdate,
    });
    expect(await screen.findByText(/3 member accounts have older permissions/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Update permissions' }));
    const panel = await screen.findByTestId('organization-setup');
    expect(panel.textContent).toContain(
      'aws cloudformation deploy --template-file onramp-organization.yaml',
    );
    expect(permissionsUpdate).toHaveBeenCalledWith('org_1');
  });

  it('rotates the enrollment token and deletes only after confirming', async () => {
    const rotateToken = vi.fn(async () => ({
      ...ACTIVE,
      enrollmentToken: {
        issuedAt: '2026-12-03T13:00:00.000Z',
        previousValidUntil: '2026-12-10T13:00:00.000Z',
      },
    }));
    const del = vi.fn(async () => undefined);
    page({ 'organizations.rotateToken': rotateToken, 'organizations.delete': del });
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate enrollment token' }));
    expect(rotateToken).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Issue a new token' }));
    await screen.findByText(/A new enrollment token is issued/);
    expect(rotateToken).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('organization-facts').textContent).toContain(
      'the previous one is accepted until',
    );

    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete Acme?' });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(del).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Delete' }));
    fireEvent.click(screen.getByRole('button', { name: 'Delete the organization' }));
    await waitFor(() => expect(window.location.pathname).toBe('/organizations'));
    expect(del).toHaveBeenCalledWith('org_1');
  });

  it('Discover now asks for a discovery and says the page follows it', async () => {
    const discover = vi.fn(async () => ({ requestedAt: '2026-12-03T13:00:00.000Z' }));
    page({ 'organizations.discover': discover });
    fireEvent.click(await screen.findByRole('button', { name: 'Discover now' }));
    await screen.findByText(/Discovery asked for/);
    expect(discover).toHaveBeenCalledWith('org_1');
  });
});
