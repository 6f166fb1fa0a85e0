// @vitest-environment happy-dom
import type { Account, Connection } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { CATALOG, fakeClient, OFFERS, renderInConsole } from '../test-support.tsx';
import { AccountPage } from './AccountPage.tsx';

const TRUST = {
  issuer: 'https://onramp.example.test/oidc',
  audience: 'sts.amazonaws.com',
  subject: 'tenant:tenant_1:connection:con_1',
  conditionPrefix: 'onramp.example.test/oidc',
  providerArnPattern: 'arn:aws:iam::<account>:oidc-provider/onramp.example.test/oidc',
};

const ACCOUNT: Account = {
  id: 'acct_1',
  name: 'Keyless prod',
  description: '',
  partition: 'aws',
  method: 'oidc_role',
  awsAccountId: '222233334444',
  principalArn: 'arn:aws:iam::222233334444:role/OnrampRole-abcdefgh',
  roleArn: 'arn:aws:iam::222233334444:role/OnrampRole-abcdefgh',
  accessKeyId: null,
  connectionId: 'con_1',
  roleOrigin: 'stack_callback',
  webIdentity: TRUST,
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

const CONNECTION = {
  id: 'con_1',
  name: 'Keyless prod',
  description: '',
  partition: 'aws',
  bundles: ['nodes-ec2'],
  regions: [],
  roleName: 'OnrampRole-abcdefgh',
  method: 'oidc_role',
  externalId: null,
  webIdentity: TRUST,
  trustedPrincipal: null,
  unavailableReason: null,
  status: 'connected',
  accountId: 'acct_1',
  setupMethod: 'quick_create',
  reportsBack: true,
  links: {
    cloudformationYaml: '/y',
    cloudformationJson: '/j',
    terraform: '/t',
    quickCreate: null,
  },
  quickCreateUnavailableReason: 'No template bucket.',
  deployCommand: null,
  expiresAt: '2030-01-02T10:00:00.000Z',
} as unknown as Connection;

function page(calls: Record<string, unknown> = {}) {
  const client = fakeClient({
    'accounts.get': async () => ACCOUNT,
    'accounts.checks': async () => ({ checks: [], next: null }),
    'connections.get': async () => CONNECTION,
    catalog: async () => CATALOG,
    partitions: async () => OFFERS,
    ...calls,
  });
  renderInConsole(<AccountPage accountId="acct_1" />, client);
}

describe('the account page of a keyless role', () => {
  it('names the method and shows the issuer and subject its role trusts, with no external ID', async () => {
    page();
    const identity = (await screen.findByRole('heading', { name: 'Identity' })).closest(
      'section, .card',
    ) as HTMLElement;
    expect(within(identity).getByText('Keyless IAM role')).toBeTruthy();
    expect(within(identity).getByText('Trusted issuer')).toBeTruthy();
    expect(within(identity).getByText(TRUST.issuer)).toBeTruthy();
    expect(within(identity).getByText(TRUST.subject)).toBeTruthy();

    await screen.findByRole('heading', { name: 'Role and identity provider' });
    await screen.findByText(/Created by a CloudFormation stack/);
    expect(screen.queryByText('External ID')).toBeNull();
    expect(screen.queryByRole('button', { name: 'Regenerate external ID' })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Role and external ID' })).toBeNull();
  });

  it('replaces the role as a keyless role, telling what the new one must trust', async () => {
    const replace = vi.fn(async () => ACCOUNT);
    page({ 'accounts.replaceCredentials': replace });
    fireEvent.click(await screen.findByRole('button', { name: 'Replace role' }));
    fireEvent.change(screen.getByLabelText('New role ARN'), {
      target: { value: 'arn:aws:iam::222233334444:role/Other' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Validate and replace' }));
    await waitFor(() =>
      expect(replace).toHaveBeenCalledWith('acct_1', {
        method: 'oidc_role',
        roleArn: 'arn:aws:iam::222233334444:role/Other',
      }),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Replace role' }));
    fireEvent.click(screen.getByRole('button', { name: 'Close' }));
    expect(
      screen.getByText(/trust the platform’s identity provider with the audience and subject/),
    ).toBeTruthy();
  });

  it('tells a Terraform keyless role to keep existing_oidc_provider_arn when updating permissions', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({
      'accounts.permissionsUpdate': async () => ({
        madeWith: 'terraform',
        changes: [{ bundle: 'nodes-ec2', add: ['ec2:StartInstances'], remove: [] }],
        policies: [],
        cloudFormation: null,
        terraform: { file: 'resource "aws_iam_role" "onramp" {}\n' },
        steps: [],
      }),
    });
    const card = (await screen.findByRole('heading', { name: 'Update permissions' })).closest(
      'section.card',
    ) as HTMLElement;
    await within(card).findByRole('link', { name: 'Download Terraform' });
    expect(within(card).getByText('Keep existing_oidc_provider_arn as it was')).toBeTruthy();
    expect(card.textContent).toContain('the plan must list policy changes only');
  });
});
