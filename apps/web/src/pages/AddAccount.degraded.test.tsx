// @vitest-environment happy-dom
import { ApiProblem, type ValidationResult } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { AddAccountWizard } from './AddAccount.tsx';

/** 40 actions one bundle lacks: the wizard must not list them all. */
const MANY = Array.from({ length: 40 }, (_, i) => `ec2:DescribeThing${String(i).padStart(2, '0')}`);

const DEGRADED: ValidationResult = {
  valid: false,
  status: 'degraded',
  findings: [
    { bundleId: 'nodes-ec2', bundleName: 'Manage EC2 nodes', missing: MANY, deniedByScp: [] },
    {
      bundleId: 'nodes-autoscaling',
      bundleName: 'Auto Scaling groups',
      missing: [],
      deniedByScp: ['autoscaling:CreateAutoScalingGroup'],
    },
  ],
  identity: { accountId: '222233334444', arn: 'arn:aws:iam::222233334444:user/onramp' },
  checks: [
    { name: 'shape', status: 'passed', detail: '', durationMs: 0 },
    { name: 'identity', status: 'passed', detail: '', durationMs: 40 },
    { name: 'permissions', status: 'failed', detail: 'Some actions are missing.', durationMs: 90 },
  ],
  errors: [
    {
      field: 'permissions.nodes-ec2',
      code: 'missing_actions',
      message: 'The user lacks 40 action(s) that “Manage EC2 nodes” needs.',
      hint: 'Attach the policy from “View JSON” to the IAM user.',
    },
    {
      field: 'permissions.nodes-autoscaling',
      code: 'denied_by_scp',
      message: 'An SCP denies 1 action(s) that “Auto Scaling groups” needs.',
      hint: 'Ask your organization’s administrator.',
    },
  ],
  notices: [],
};

const CREATED = {
  id: 'acct_9',
  name: 'Billing',
  status: 'degraded',
  notices: [],
};

function wizard(calls: Record<string, unknown>) {
  const client = fakeClient({
    previewPolicy: async (input: { partition: string }) => previewOf(input),
    ...calls,
  });
  renderInConsole(<AddAccountWizard offers={OFFERS} catalog={CATALOG} />, client);
}

/** Keys in aws with the default permissions, up to a validation. */
async function validateKeys() {
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
  fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
  fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
  fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
  fireEvent.change(screen.getByLabelText('Access key ID'), {
    target: { value: 'AKIAIOSFODNN7EXAMPLE' },
  });
  fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'secret' } });
  fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
  await screen.findByText('Signed in; some permissions are missing');
}

const button = (name: string) => screen.getByRole('button', { name }) as HTMLButtonElement;

describe('saving an account whose only failures are missing permissions', () => {
  it('lists the missing actions a few per bundle, and "and N more" shows the rest', async () => {
    wizard({ 'accounts.validate': async () => DEGRADED });
    await validateKeys();
    const finding = document.querySelector('[data-bundle="nodes-ec2"]') as HTMLElement;
    expect(finding.querySelectorAll('code.action')).toHaveLength(5);
    expect(within(finding).getByText(/Missing 40 actions/)).toBeTruthy();
    const more = within(finding).getByRole('button', { name: 'and 35 more' });
    expect(more.getAttribute('aria-expanded')).toBe('false');
    fireEvent.click(more);
    expect(finding.querySelectorAll('code.action')).toHaveLength(40);
    expect(more.getAttribute('aria-expanded')).toBe('true');
    // The SCP denial is listed apart, under its own bundle.
    const scp = document.querySelector('[data-bundle="nodes-autoscaling"]') as HTMLElement;
    expect(within(scp).getByText(/Denied by an organization SCP/)).toBeTruthy();
    // Save stays for a pass; Save anyway is the way forward.
    expect(button('Save account').disabled).toBe(true);
    expect(button('Save anyway').disabled).toBe(false);
  });

  it('asks which features will not work first; Cancel saves nothing', async () => {
    const create = vi.fn(async () => CREATED);
    wizard({ 'accounts.validate': async () => DEGRADED, 'accounts.create': create });
    await validateKeys();
    fireEvent.click(button('Save anyway'));
    const dialog = screen.getByRole('dialog', { name: 'Save with missing permissions?' });
    const features = within(dialog)
      .getAllByRole('listitem')
      .map((li) => li.textContent);
    expect(features).toEqual(['Manage EC2 nodes', 'Auto Scaling groups']);
    expect(within(dialog).getByText('Degraded')).toBeTruthy();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(create).not.toHaveBeenCalled();
  });

  it('creates once with acceptMissingPermissions, however often it is clicked, and opens the account', async () => {
    let finish: (value: typeof CREATED) => void = () => {};
    const create = vi.fn(() => new Promise<typeof CREATED>((resolve) => (finish = resolve)));
    wizard({ 'accounts.validate': async () => DEGRADED, 'accounts.create': create });
    await validateKeys();
    fireEvent.click(button('Save anyway'));
    const confirm = within(screen.getByRole('dialog')).getByRole('button', {
      name: 'Save without these features',
    });
    // Clicks as a browser delivers them, before React has re-rendered the button as busy.
    confirm.click();
    confirm.click();
    confirm.click();
    expect(create).toHaveBeenCalledTimes(1);
    expect(create).toHaveBeenCalledWith(
      expect.objectContaining({
        method: 'access_keys',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        acceptMissingPermissions: true,
      }),
    );
    finish(CREATED);
    await waitFor(() => expect(window.location.pathname).toBe('/accounts/acct_9'));
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('offers no Save anyway when something other than permissions failed, nor after a change', async () => {
    const validate = vi.fn(
      async (): Promise<ValidationResult> => ({
        ...DEGRADED,
        status: 'invalid',
        errors: [
          ...DEGRADED.errors,
          { field: 'secretAccessKey', code: 'invalid_credentials', message: 'Wrong secret.' },
        ],
      }),
    );
    wizard({ 'accounts.validate': validate });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation failed');
    expect(screen.queryByRole('button', { name: 'Save anyway' })).toBeNull();

    validate.mockResolvedValueOnce(DEGRADED);
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByRole('button', { name: 'Save anyway' });
    // Other keys than those validated: validate again first.
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'y' } });
    expect(screen.queryByRole('button', { name: 'Save anyway' })).toBeNull();
  });

  it('follows the API where it says whether the account can be saved degraded', async () => {
    const validate = vi.fn(
      async () => ({ ...DEGRADED, savableDegraded: false }) as ValidationResult,
    );
    wizard({ 'accounts.validate': validate });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation failed');
    expect(screen.queryByRole('button', { name: 'Save anyway' })).toBeNull();
    validate.mockResolvedValueOnce({ ...DEGRADED, savableDegraded: true } as ValidationResult);
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    expect(await screen.findByRole('button', { name: 'Save anyway' })).toBeTruthy();
  });

  it('a Save refused for missing permissions (the role changed since) validates again and offers Save anyway', async () => {
    const validate = vi
      .fn()
      .mockResolvedValueOnce({ ...DEGRADED, valid: true, status: 'valid', errors: [] })
      .mockResolvedValueOnce(DEGRADED);
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Validation failed',
        errors: DEGRADED.errors,
      });
    });
    wizard({ 'accounts.validate': validate, 'accounts.create': create });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await waitFor(() => expect(button('Save account').disabled).toBe(false));
    fireEvent.click(button('Save account'));
    await screen.findByRole('button', { name: 'Save anyway' });
    expect(validate).toHaveBeenCalledTimes(2);
  });

  it('a stack that reported back a role lacking actions ends degraded, with Fix now to the update', async () => {
    window.history.replaceState(null, '', '/accounts/new/con_1?step=done');
    wizard({
      'connections.get': async () => ({
        id: 'con_1',
        name: 'Stacked',
        description: '',
        partition: 'aws',
        roleName: 'OnrampRole-abcdefgh',
        externalId: 'onramp-x',
        bundles: ['nodes-ec2'],
        regions: [],
        status: 'connected',
        accountId: 'acct_9',
        reportsBack: true,
      }),
      'accounts.get': async () => ({
        ...CREATED,
        name: 'Stacked',
        method: 'role',
        partition: 'aws',
        awsAccountId: '222233334444',
        bundles: ['nodes-ec2'],
        findings: DEGRADED.findings,
      }),
    });
    const alert = (await screen.findByText('Some features lack permissions')).closest(
      '.alert',
    ) as HTMLElement;
    expect(alert.textContent).toContain('Manage EC2 nodes, Auto Scaling groups');
    fireEvent.click(within(alert).getByRole('button', { name: 'Fix now' }));
    expect(window.location.pathname + window.location.search).toBe(
      '/accounts/acct_9?permissions=update',
    );
  });

  it('says why when Save anyway is refused, keeping the report', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Validation failed',
        detail: 'The account was not saved: permissions.nodes-ec2: The user lacks 40 action(s).',
        errors: DEGRADED.errors,
      });
    });
    wizard({ 'accounts.validate': async () => DEGRADED, 'accounts.create': create });
    await validateKeys();
    fireEvent.click(button('Save anyway'));
    fireEvent.click(
      within(screen.getByRole('dialog')).getByRole('button', {
        name: 'Save without these features',
      }),
    );
    const alert = (await screen.findByText('Something needs your attention')).closest(
      '.alert',
    ) as HTMLElement;
    expect(alert.textContent).toContain('The account was not saved');
    expect(screen.queryByRole('dialog')).toBeNull();
    // The report stays, and so does the way forward.
    expect(screen.getByText('Signed in; some permissions are missing')).toBeTruthy();
    expect(create).toHaveBeenCalledTimes(1);
    expect(window.location.pathname).not.toMatch(/^\/accounts\/acct_/);
  });
});
