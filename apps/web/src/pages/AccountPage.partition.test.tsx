// @vitest-environment happy-dom
import type { Account } from '@onramp/sdk';
import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { CATALOG, fakeClient, OFFERS, renderInConsole } from '../test-support.tsx';
import { AccountPage } from './AccountPage.tsx';

const GOV_ACCOUNT = {
  id: 'acct_gov',
  name: 'GovCloud',
  description: '',
  partition: 'aws-us-gov',
  method: 'role',
  awsAccountId: '222233334444',
  principalArn: 'arn:aws-us-gov:iam::222233334444:role/OnrampRole',
  roleArn: 'arn:aws-us-gov:iam::222233334444:role/OnrampRole',
  accessKeyId: null,
  connectionId: 'con_1',
  roleOrigin: 'pasted_arn',
  bundles: ['nodes-ec2'],
  regions: [],
  status: 'valid',
  checks: [],
  findings: [],
  lastCheckedAt: null,
  stale: false,
  staleSince: null,
  createdAt: '2029-12-01T10:00:00.000Z',
  updatedAt: '2030-01-01T10:00:00.000Z',
} satisfies Account;

describe('replacing the role of a GovCloud account', () => {
  it('shows the example ARN in GovCloud’s prefix', async () => {
    renderInConsole(
      <AccountPage accountId="acct_gov" />,
      fakeClient({
        'accounts.get': async () => GOV_ACCOUNT,
        'accounts.checks': async () => ({ checks: [], next: null }),
        catalog: async () => CATALOG,
        partitions: async () => OFFERS,
      }),
    );
    fireEvent.click(await screen.findByRole('button', { name: 'Replace role' }));
    const input = screen.getByLabelText('New role ARN') as HTMLInputElement;
    expect(input.placeholder).toBe('arn:aws-us-gov:iam::123456789012:role/OnrampRole');
    expect(
      screen.getByText(/such as arn:aws-us-gov:iam::123456789012:role\/OnrampRole/),
    ).toBeTruthy();
  });
});
