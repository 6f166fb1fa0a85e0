// @vitest-environment happy-dom
import { ApiProblem, type ValidationResult } from '@onramp/sdk';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { AddAccountPage, AddAccountWizard } from './AddAccount.tsx';

const PASSED: ValidationResult = {
  valid: true,
  status: 'valid',
  findings: [],
  identity: { accountId: '222233334444', arn: 'arn:aws:iam::222233334444:user/onramp' },
  checks: [{ name: 'identity', status: 'passed', detail: '', durationMs: 3 }],
  errors: [],
  notices: [],
};

describe('the add-account wizard, on its last step', () => {
  it('shows a refusal on a field of an earlier step (a name taken meanwhile) instead of swallowing it', async () => {
    const message = 'An account named "Billing" already exists in this tenant.';
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 409,
        title: 'This conflicts with what exists',
        detail: message,
        errors: [{ field: 'name', code: 'duplicate_name', message, hint: 'Choose another name.' }],
      });
    });
    const client = fakeClient({
      previewPolicy: async (input: { partition: string }) => previewOf(input),
      'accounts.validate': async () => PASSED,
      'accounts.create': create,
    });
    renderInConsole(<AddAccountWizard offers={OFFERS} catalog={CATALOG} />, client);
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'right' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation passed');
    const save = screen.getByRole('button', { name: 'Save account' }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    fireEvent.click(save);
    await waitFor(() => expect(create).toHaveBeenCalled());
    expect(await screen.findByText(new RegExp(message.replace(/[".]/g, '.')))).toBeTruthy();
    expect(screen.getByText(/Choose another name/)).toBeTruthy();
  });

  it('says a set-up discarded in another tab cannot go on, and offers a new one', async () => {
    const pending = {
      id: 'con_1',
      name: 'Two tabs',
      description: '',
      partition: 'aws',
      roleName: 'OnrampRole-1',
      externalId: 'onramp-x',
      bundles: ['nodes-ec2'],
      regions: [],
      status: 'pending',
      expiresAt: '2030-01-01T00:00:00.000Z',
      expired: false,
    };
    const update = vi.fn(async () => {
      throw new ApiProblem({
        status: 404,
        title: 'Not found',
        detail: 'Connection does not exist, or is not yours to see.',
      });
    });
    renderInConsole(
      <AddAccountWizard offers={OFFERS} catalog={CATALOG} />,
      fakeClient({
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'connections.create': async () => pending,
        'connections.get': async () => pending,
        'connections.update': update,
      }),
    );
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Two tabs' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    await waitFor(() => expect(update).toHaveBeenCalled());
    expect(await screen.findByText('This set-up cannot be resumed')).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Start a new one' })).toBeTruthy();
    // Not the promise that it is saved and can be resumed.
    expect(screen.queryByText(/This set-up is saved/)).toBeNull();
  });

  it('starts a fresh wizard from "Start a new one" when a set-up cannot go on', async () => {
    const pending = {
      id: 'con_2',
      name: 'Gone',
      description: '',
      partition: 'aws',
      roleName: 'OnrampRole-2',
      externalId: 'onramp-y',
      bundles: ['nodes-ec2'],
      regions: [],
      status: 'pending',
      expiresAt: '2030-01-01T00:00:00.000Z',
      expired: false,
    };
    renderInConsole(
      <AddAccountPage />,
      fakeClient({
        partitions: async () => OFFERS,
        catalog: async () => CATALOG,
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'connections.create': async () => pending,
        'connections.get': async () => pending,
        'connections.update': async () => {
          throw new ApiProblem({ status: 404, title: 'Not found', detail: 'Gone.' });
        },
      }),
    );
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'Gone' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    fireEvent.click(await screen.findByRole('link', { name: 'Start a new one' }));
    expect(await screen.findByRole('heading', { name: '1. The account' })).toBeTruthy();
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('');
    expect(screen.queryByText('This set-up cannot be resumed')).toBeNull();
  });

  it.each([
    [false, 0],
    [true, 1],
  ])(
    'waits for a stack to report back only when it can (reportsBack %s)',
    async (reportsBack, shown) => {
      const pending = {
        id: 'con_3',
        name: 'Stack',
        description: '',
        partition: 'aws',
        roleName: 'OnrampRole-3',
        externalId: 'onramp-z',
        bundles: ['nodes-ec2'],
        regions: [],
        status: 'pending',
        expiresAt: '2030-01-01T00:00:00.000Z',
        expired: false,
        reportsBack,
        links: { quickCreate: null },
        quickCreateUnavailableReason: 'Onramp has no public URL.',
      };
      renderInConsole(
        <AddAccountWizard offers={OFFERS} catalog={CATALOG} />,
        fakeClient({
          previewPolicy: async (input: { partition: string }) => previewOf(input),
          'connections.create': async () => pending,
          'connections.get': async () => pending,
          'connections.update': async () => pending,
          'connections.steps': async () => ({ steps: [], policies: [] }),
        }),
      );
      fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Stack' } });
      fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
      fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
      await screen.findByLabelText('Role ARN');
      expect(screen.queryAllByText(/Waiting for your stack/)).toHaveLength(shown);
    },
  );

  it('no longer offers to resume a set-up once it is connected', async () => {
    const pending = {
      id: 'con_4',
      name: 'Done',
      description: '',
      partition: 'aws',
      roleName: 'OnrampRole-4',
      externalId: 'onramp-w',
      bundles: ['nodes-ec2'],
      regions: [],
      status: 'pending',
      expiresAt: '2030-01-01T00:00:00.000Z',
      expired: false,
      reportsBack: false,
      links: { quickCreate: null },
      quickCreateUnavailableReason: 'Onramp has no public URL.',
    };
    const account = {
      id: 'acct_1',
      name: 'Done',
      partition: 'aws',
      method: 'role',
      awsAccountId: '222233334444',
      status: 'valid',
      bundles: ['nodes-ec2'],
      notices: [],
      checks: [],
    };
    renderInConsole(
      <AddAccountWizard offers={OFFERS} catalog={CATALOG} />,
      fakeClient({
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'connections.create': async () => pending,
        'connections.get': async () => pending,
        'connections.update': async () => pending,
        'connections.steps': async () => ({ steps: [], policies: [] }),
        'accounts.validate': async () => ({
          ...PASSED,
          identity: { accountId: '222233334444', arn: 'arn:aws:iam::222233334444:role/R' },
        }),
        'accounts.create': async () => account,
      }),
    );
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Done' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    fireEvent.change(await screen.findByLabelText('Role ARN'), {
      target: { value: 'arn:aws:iam::222233334444:role/R' },
    });
    expect(screen.getByText(/This set-up is saved/)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation passed');
    const save = screen.getByRole('button', { name: 'Save account' }) as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    fireEvent.click(save);
    await screen.findByText('Done is connected');
    expect(screen.queryByText(/This set-up is saved/)).toBeNull();
  });
});
