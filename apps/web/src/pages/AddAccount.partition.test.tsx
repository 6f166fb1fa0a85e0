// @vitest-environment happy-dom
import type { PartitionOffer, ValidationResult } from '@onramp/sdk';
import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { AddAccountWizard } from './AddAccount.tsx';

const GOV: PartitionOffer = {
  partition: 'aws-us-gov',
  displayName: 'AWS GovCloud (US)',
  methods: ['role', 'access_keys'],
  reason: null,
  trustedPrincipal: {
    arn: 'arn:aws-us-gov:iam::111122223333:user/hub',
    accountId: '111122223333',
  },
  regions: [{ id: 'us-gov-west-1', description: 'AWS GovCloud (US-West)' }],
};
const OFFERS_WITH_GOV = [...OFFERS, GOV];

const WRONG_PARTITION: ValidationResult = {
  valid: false,
  status: 'invalid',
  findings: [],
  identity: null,
  checks: [{ name: 'identity', status: 'failed', detail: '', durationMs: 3 }],
  errors: [
    {
      field: 'partition',
      code: 'wrong_partition',
      message:
        'These keys belong to AWS GovCloud (US), not to AWS: keys work only in their own partition.',
      hint: 'Choose AWS GovCloud (US) as the partition.',
      suggestion: 'aws-us-gov',
    },
  ],
  notices: [],
};

function toKeys(partitionName: RegExp) {
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Gov' } });
  fireEvent.click(screen.getByRole('radio', { name: partitionName }));
  fireEvent.click(screen.getByRole('radio', { name: /Access keys/ }));
  fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
  fireEvent.click(screen.getByRole('button', { name: 'Next: access keys' }));
  fireEvent.change(screen.getByLabelText('Access key ID'), {
    target: { value: 'AKIAIOSFODNN7EXAMPLE' },
  });
  fireEvent.change(screen.getByLabelText('Secret access key'), {
    target: { value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  });
}

describe('keys of another partition in the wizard', () => {
  it('marks the partition beside the keys and switches to it, validating there', async () => {
    const validate = vi.fn(async () => WRONG_PARTITION);
    renderInConsole(
      <AddAccountWizard offers={OFFERS_WITH_GOV} catalog={CATALOG} />,
      fakeClient({
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'accounts.validate': validate,
      }),
    );
    toKeys(/^AWS aws$/);
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    expect(await screen.findByText(/These keys belong to AWS GovCloud \(US\)/)).toBeTruthy();
    // Not only in a list above the step: at a partition field, with the way out.
    const partition = screen.getByRole('group', { name: 'Partition' });
    expect(partition.className).toContain('field-invalid');
    validate.mockResolvedValueOnce({
      ...WRONG_PARTITION,
      valid: true,
      status: 'valid',
      identity: { accountId: '222233334444', arn: 'arn:aws-us-gov:iam::222233334444:user/onramp' },
      errors: [],
    });
    fireEvent.click(screen.getByRole('button', { name: 'Switch to AWS GovCloud (US)' }));
    await screen.findByText('Validation passed');
    expect(validate).toHaveBeenLastCalledWith(
      expect.objectContaining({ partition: 'aws-us-gov', accessKeyId: 'AKIAIOSFODNN7EXAMPLE' }),
    );
    expect(screen.queryByRole('group', { name: 'Partition' })).toBeNull();
  });

  it('offers no switch to a partition where keys are not offered', async () => {
    const validate = vi.fn(async () => ({
      ...WRONG_PARTITION,
      errors: [{ ...WRONG_PARTITION.errors[0], suggestion: 'aws-us-gov' }],
    }));
    renderInConsole(
      <AddAccountWizard offers={OFFERS} catalog={CATALOG} />,
      fakeClient({
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'accounts.validate': validate,
      }),
    );
    toKeys(/^AWS aws$/);
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText(/These keys belong to AWS GovCloud \(US\)/);
    expect(screen.queryByRole('button', { name: /Switch to/ })).toBeNull();
  });

  it('shows role ARN examples in the partition’s own prefix', async () => {
    renderInConsole(
      <AddAccountWizard offers={OFFERS_WITH_GOV} catalog={CATALOG} />,
      fakeClient({
        previewPolicy: async (input: { partition: string }) => previewOf(input),
        'connections.create': async () => ({
          id: 'conn_1',
          name: 'Gov',
          partition: 'aws-us-gov',
          roleName: 'OnrampRole',
          externalId: 'onramp-x',
          bundles: ['nodes-ec2'],
          regions: [],
          status: 'pending',
        }),
        'connections.update': async (_id: string, changes: object) => ({
          id: 'conn_1',
          name: 'Gov',
          partition: 'aws-us-gov',
          roleName: 'OnrampRole',
          externalId: 'onramp-x',
          bundles: ['nodes-ec2'],
          regions: [],
          status: 'pending',
          ...changes,
        }),
        'connections.get': async () => ({ status: 'pending' }),
      }),
    );
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Gov' } });
    fireEvent.click(screen.getByRole('radio', { name: /GovCloud/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    const arn = (await screen.findByLabelText('Role ARN')) as HTMLInputElement;
    expect(arn.placeholder).toBe('arn:aws-us-gov:iam::123456789012:role/OnrampRole');
    expect(
      screen.getByText(/such as arn:aws-us-gov:iam::123456789012:role\/OnrampRole/),
    ).toBeTruthy();
    expect(document.body.textContent).not.toContain('arn:aws:iam');
  });
});
