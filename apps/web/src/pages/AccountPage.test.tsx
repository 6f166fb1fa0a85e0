// @vitest-environment happy-dom
import type { Account, AccountCheck } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, renderInConsole } from '../test-support.tsx';
import { AccountPage } from './AccountPage.tsx';

const ACCOUNT: Account = {
  id: 'acct_1',
  name: 'Production',
  description: '',
  partition: 'aws',
  method: 'role',
  awsAccountId: '222233334444',
  principalArn: 'arn:aws:iam::222233334444:role/OnrampRole',
  roleArn: 'arn:aws:iam::222233334444:role/OnrampRole',
  accessKeyId: null,
  connectionId: 'con_1',
  roleOrigin: 'pasted_arn',
  bundles: ['nodes-ec2'],
  regions: [],
  status: 'valid',
  checks: [{ name: 'identity', status: 'passed', detail: '', durationMs: 12 }],
  findings: [],
  lastCheckedAt: '2030-01-01T10:00:00.000Z',
  stale: false,
  staleSince: null,
  createdAt: '2029-12-01T10:00:00.000Z',
  updatedAt: '2030-01-01T10:00:00.000Z',
};

function check(id: string, at: string, overrides: Partial<AccountCheck> = {}): AccountCheck {
  return {
    id,
    at,
    status: 'valid',
    previousStatus: 'valid',
    changed: false,
    stale: false,
    checks: [{ name: 'identity', status: 'passed', detail: '', durationMs: 30 }],
    findings: [],
    errors: [],
    durationMs: 250,
    trigger: 'schedule',
    ...overrides,
  };
}

const DEGRADED = check('chk_2', '2030-01-01T09:00:00.000Z', {
  status: 'degraded',
  previousStatus: 'valid',
  changed: true,
  checks: [
    { name: 'identity', status: 'passed', detail: '', durationMs: 30 },
    { name: 'permissions', status: 'failed', detail: '1 action missing', durationMs: 1500 },
  ],
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
      message: 'The role lacks 1 action of this feature.',
      hint: 'Update the role’s policy.',
    },
  ],
});

function page(calls: Record<string, unknown>, overrides = {}) {
  const client = fakeClient({
    'accounts.get': async () => ACCOUNT,
    catalog: async () => CATALOG,
    partitions: async () => OFFERS,
    ...calls,
  });
  renderInConsole(<AccountPage accountId="acct_1" />, client, overrides);
}

const historyRows = () =>
  within(screen.getByRole('table', { name: 'Check history' }))
    .getAllByRole('row')
    .slice(1)
    .filter((row) => row.hasAttribute('data-check'))
    .map((row) => row.getAttribute('data-check'));

describe('the account page’s health', () => {
  it('links a member account to its organization, and says nothing of one for an account of its own', async () => {
    page({
      'accounts.get': async () => ({ ...ACCOUNT, organizationId: 'org_1' }),
      'accounts.checks': async () => ({ checks: [], next: null }),
    });
    const link = await screen.findByRole('link', { name: 'Member of an organization' });
    expect(link.getAttribute('href')).toBe('/organizations/org_1');
    expect(screen.queryByText('Checks paused')).toBeNull();
  });

  it('says why a member account’s checks are paused', async () => {
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        organizationId: 'org_1',
        paused: { reason: 'organization_excluded' },
      }),
      'accounts.checks': async () => ({ checks: [], next: null }),
    });
    expect(await screen.findByText('Checks paused')).toBeTruthy();
    expect(screen.getByText(/organization’s rules exclude this account/)).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Open the organization' }).getAttribute('href')).toBe(
      '/organizations/org_1',
    );
  });

  it('an account connected on its own shows no organization', async () => {
    page({ 'accounts.checks': async () => ({ checks: [], next: null }) });
    await screen.findByRole('heading', { name: /Production/, level: 1 });
    expect(screen.queryByText('Organization')).toBeNull();
  });

  it('pages the check history with the API’s cursor, newest first', async () => {
    const checks = vi.fn(async (_id: string, query: { cursor?: string }) =>
      query.cursor === 'cursor_2'
        ? { checks: [check('chk_3', '2030-01-01T08:00:00.000Z')], next: null }
        : { checks: [check('chk_1', '2030-01-01T10:00:00.000Z'), DEGRADED], next: 'cursor_2' },
    );
    page({ 'accounts.checks': checks });
    await waitFor(() => expect(historyRows()).toEqual(['chk_1', 'chk_2']));
    expect(checks).toHaveBeenLastCalledWith('acct_1', { limit: 20 });

    // A change of status says what it was before.
    const degradedRow = screen.getAllByRole('row').find((r) => r.dataset.check === 'chk_2');
    expect(degradedRow?.textContent).toContain('Degraded');
    expect(degradedRow?.textContent).toContain('was');
    expect(degradedRow?.textContent).toContain('250 ms');

    fireEvent.click(screen.getByRole('button', { name: 'Older checks' }));
    await waitFor(() => expect(historyRows()).toEqual(['chk_1', 'chk_2', 'chk_3']));
    expect(checks).toHaveBeenLastCalledWith('acct_1', { limit: 20, cursor: 'cursor_2' });
    expect(screen.queryByRole('button', { name: 'Older checks' })).toBeNull();
  });

  it('expands a check: each check with its duration, errors in red on their field, missing actions', async () => {
    page({ 'accounts.checks': async () => ({ checks: [DEGRADED], next: null }) });
    const details = await screen.findByRole('button', { name: /^Details of the check/ });
    expect(details.getAttribute('aria-expanded')).toBe('false');
    expect(screen.queryByText('ec2:RunInstances')).toBeNull();
    fireEvent.click(details);
    expect(details.getAttribute('aria-expanded')).toBe('true');
    expect(screen.getByText('1.5 s')).toBeTruthy();
    // The error is under the bundle it is about, by its name, in red with what to do.
    const error = screen.getByText('The role lacks 1 action of this feature.');
    expect(error.closest('.field-error')).toBeTruthy();
    expect(error.closest('div')?.querySelector('dt')?.textContent).toBe('Manage EC2 nodes');
    expect(screen.getByText('Update the role’s policy.')).toBeTruthy();
    expect(screen.getByText('ec2:RunInstances')).toBeTruthy();
  });

  it('checks now for an admin: the result, the account read again, the check on top of the history', async () => {
    const fresh = check('chk_new', '2030-01-02T10:00:00.000Z', {
      trigger: 'manual',
      status: 'invalid',
      previousStatus: 'valid',
      changed: true,
      checks: [{ name: 'identity', status: 'failed', detail: 'AccessDenied', durationMs: 80 }],
      errors: [
        {
          field: 'roleArn',
          code: 'assume_role_failed',
          message: 'Onramp cannot assume the role.',
          hint: 'Check its trust policy.',
        },
      ],
    });
    const get = vi
      .fn()
      .mockResolvedValueOnce(ACCOUNT)
      .mockResolvedValueOnce({ ...ACCOUNT, status: 'invalid' });
    const run = vi.fn(async () => fresh);
    page({
      'accounts.get': get,
      'accounts.check': run,
      'accounts.checks': async () => ({
        checks: [check('chk_1', '2030-01-01T10:00:00.000Z')],
        next: null,
      }),
    });
    await waitFor(() => expect(historyRows()).toEqual(['chk_1']));
    fireEvent.click(screen.getByRole('button', { name: 'Check now' }));
    await waitFor(() => expect(historyRows()).toEqual(['chk_new', 'chk_1']));
    expect(run).toHaveBeenCalledWith('acct_1');
    expect(get).toHaveBeenCalledTimes(2);
    // The role ARN the check could not use is marked on the Identity card.
    const onField = screen.getAllByText(/Onramp cannot assume the role\./);
    expect(onField.some((e) => e.closest('.facts'))).toBe(true);
    expect(screen.getByText('80 ms')).toBeTruthy();
  });

  it('shows a viewer the history and the stale marker, but no Check now', async () => {
    page(
      {
        'accounts.get': async () => ({
          ...ACCOUNT,
          stale: true,
          staleSince: '2030-01-01T11:00:00.000Z',
        }),
        'accounts.checks': async () => ({
          checks: [check('chk_4', '2030-01-01T11:00:00.000Z', { stale: true })],
          next: null,
        }),
      },
      { canWrite: false },
    );
    await waitFor(() => expect(historyRows()).toEqual(['chk_4']));
    expect(screen.getByText('Health not refreshed')).toBeTruthy();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toContain('Stale');
    expect(screen.queryByRole('button', { name: 'Check now' })).toBeNull();
  });
});
