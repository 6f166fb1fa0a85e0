// @vitest-environment happy-dom
import { ApiProblem, type ValidationResult } from '@onramp/sdk';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { AddAccountWizard } from './AddAccount.tsx';

const FAILED: ValidationResult = {
  valid: false,
  status: 'invalid',
  findings: [],
  identity: null,
  checks: [
    { name: 'shape', status: 'passed', detail: '', durationMs: 0 },
    {
      name: 'identity',
      status: 'failed',
      detail: 'The secret access key does not match the key ID.',
      durationMs: 42,
    },
    { name: 'permissions', status: 'skipped', detail: '', durationMs: 0 },
  ],
  errors: [
    {
      field: 'secretAccessKey',
      code: 'invalid_credentials',
      message: 'The secret access key does not match the key ID.',
      hint: 'Copy the secret again from the CSV AWS gave you.',
    },
  ],
  notices: [],
};

function wizard(calls: Record<string, unknown> = {}) {
  const client = fakeClient({
    previewPolicy: async (input: { partition: string }) => previewOf(input),
    ...calls,
  });
  renderInConsole(<AddAccountWizard offers={OFFERS} catalog={CATALOG} />, client);
}

describe('the add-account wizard', () => {
  it('checks the first step with the shared schema: a name is required', () => {
    wizard();
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    const name = screen.getByLabelText('Name');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Enter a value.')).toBeTruthy();
    // Still on step 1.
    expect(screen.getByRole('heading', { name: '1. The account' })).toBeTruthy();
  });

  it('offers keys only where a partition has no hub identity, and says why', () => {
    wizard();
    fireEvent.click(screen.getByRole('radio', { name: /AWS China/ }));
    const role = screen.getByRole('radio', { name: /IAM role/ }) as HTMLInputElement;
    expect(role.disabled).toBe(true);
    expect((screen.getByRole('radio', { name: /Access keys/ }) as HTMLInputElement).checked).toBe(
      true,
    );
    expect(screen.getByText(/configure a hub identity for AWS China/)).toBeTruthy();
  });

  it('validates keys: empty fields first, then the API’s field errors in red; Save waits for a pass', async () => {
    const validate = vi.fn(async () => FAILED);
    wizard({ 'accounts.validate': validate });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Billing' } });
    fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));

    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    expect(screen.getByLabelText('Access key ID').getAttribute('aria-invalid')).toBe('true');
    expect(validate).not.toHaveBeenCalled();

    fireEvent.change(screen.getByLabelText('Access key ID'), {
      target: { value: 'AKIAIOSFODNN7EXAMPLE' },
    });
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'wrong' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation failed');
    const secret = screen.getByLabelText('Secret access key');
    expect(secret.getAttribute('aria-invalid')).toBe('true');
    expect(secret.getAttribute('type')).toBe('password');
    expect(screen.getByText(/Copy the secret again from the CSV/)).toBeTruthy();
    expect(screen.getByText('42 ms')).toBeTruthy();
    expect(validate).toHaveBeenCalledWith(
      expect.objectContaining({
        method: 'access_keys',
        partition: 'aws',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        bundles: 'default',
      }),
    );
    expect(
      (screen.getByRole('button', { name: 'Save account' }) as HTMLButtonElement).disabled,
    ).toBe(true);

    validate.mockResolvedValueOnce({
      ...FAILED,
      valid: true,
      status: 'valid',
      identity: { accountId: '222233334444', arn: 'arn:aws:iam::222233334444:user/onramp' },
      errors: [],
    });
    fireEvent.change(secret, { target: { value: 'right' } });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation passed');
    await waitFor(() =>
      expect(
        (screen.getByRole('button', { name: 'Save account' }) as HTMLButtonElement).disabled,
      ).toBe(false),
    );
    expect(screen.getByLabelText('Secret access key').getAttribute('aria-invalid')).toBeNull();

    // Changing a credential after validation asks for validation again.
    fireEvent.change(screen.getByLabelText('Secret access key'), { target: { value: 'other' } });
    expect(
      (screen.getByRole('button', { name: 'Save account' }) as HTMLButtonElement).disabled,
    ).toBe(true);
  });

  it('says so when it cannot ask whether the stack reported back, and keeps asking', async () => {
    const pending = {
      id: 'conn_1',
      name: 'Prod',
      description: '',
      partition: 'aws',
      roleName: 'OnrampRole-abcdefgh',
      externalId: 'onramp-x',
      bundles: CATALOG.partitions[0]?.defaultBundles ?? [],
      regions: [],
      status: 'pending',
      reportsBack: true,
    };
    let polls = 0;
    wizard({
      'connections.create': async () => pending,
      'connections.update': async (_id: string, changes: object) => ({ ...pending, ...changes }),
      'connections.get': async () => {
        polls += 1;
        if (polls === 1)
          throw new ApiProblem({ status: 503, title: 'Unavailable', detail: 'Onramp is busy.' });
        return pending;
      },
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('radio', { name: /IAM role/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    expect(
      await screen.findByText(/Onramp is busy\. It keeps trying/, {}, { timeout: 5000 }),
    ).toBeTruthy();
    // The next answer clears it.
    await waitFor(() => expect(screen.queryByText(/Onramp is busy/)).toBeNull(), {
      timeout: 5000,
    });
  }, 15_000);
});
