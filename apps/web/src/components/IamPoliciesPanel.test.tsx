// @vitest-environment happy-dom
import { ApiProblem, type Catalog } from '@onramp/sdk';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { CATALOG, fakeClient, renderInConsole } from '../test-support.tsx';
import { AddIamPolicies } from './IamPoliciesPanel.tsx';

const attachment = {
  id: 'iam-policy-attachment',
  name: 'Attach existing IAM policies',
  description: 'Attach policies to the account’s own identity.',
  isDefault: false,
  partitions: ['aws', 'aws-us-gov', 'aws-cn'] as ('aws' | 'aws-us-gov' | 'aws-cn')[],
  actions: ['iam:ListPolicies', 'iam:AttachRolePolicy', 'iam:AttachUserPolicy'],
  actionsFor: {
    role: ['iam:ListPolicies', 'iam:AttachRolePolicy'],
    user: ['iam:ListPolicies', 'iam:AttachUserPolicy'],
  },
};
const catalog: Catalog = {
  ...CATALOG,
  products: [
    ...CATALOG.products,
    { id: 'account', name: 'Account access', description: 'The identity.', bundles: [attachment] },
  ],
  partitions: CATALOG.partitions.map((p) =>
    p.customizable ? { ...p, availableBundles: [...p.availableBundles, attachment.id] } : p,
  ),
};
const account = (partition: string, bundles: string[]) => ({
  id: 'acct_1',
  partition: partition as 'aws',
  bundles,
  method: 'access_keys' as const,
});

describe('Add IAM policies', () => {
  it('offers the switch when the account has the bundle', () => {
    renderInConsole(
      <AddIamPolicies
        account={account('aws', ['nodes-ec2', attachment.id])}
        catalog={catalog}
        canWrite
      />,
      fakeClient({}),
    );
    expect(screen.getByRole('switch', { name: 'Add IAM policies' })).toBeTruthy();
    expect(screen.getByText(/to its user/)).toBeTruthy();
  });

  it('without the bundle, says how to add it instead of offering the switch', () => {
    renderInConsole(
      <AddIamPolicies account={account('aws', ['nodes-ec2'])} catalog={catalog} canWrite />,
      fakeClient({}),
    );
    expect(screen.queryByRole('switch')).toBeNull();
    expect(
      screen.getByText(/needs “Attach existing IAM policies”\. Add it with Change permissions/),
    ).toBeTruthy();
  });

  it('tells a viewer whom to ask', () => {
    renderInConsole(
      <AddIamPolicies account={account('aws', ['nodes-ec2'])} catalog={catalog} canWrite={false} />,
      fakeClient({}),
    );
    expect(screen.getByText(/Ask a tenant admin to add it/)).toBeTruthy();
  });

  it('in China, where only defaults are allowed, says so', () => {
    renderInConsole(
      <AddIamPolicies account={account('aws-cn', ['nodes-ec2'])} catalog={catalog} canWrite />,
      fakeClient({}),
    );
    expect(screen.queryByRole('switch')).toBeNull();
    expect(
      screen.getByText(/Permissions cannot be customised in AWS China.*not offered/),
    ).toBeTruthy();
  });

  it('when AWS refuses one of the chosen policies, keeps the error and shows those it attached', async () => {
    const policy = (name: string, attached: boolean) => ({
      arn: `arn:aws:iam::aws:policy/${name}`,
      name,
      path: '/',
      description: name,
      awsManaged: true,
      attached,
    });
    let attachedInAws = false;
    const client = fakeClient({
      'accounts.iamPolicies': async () => ({
        policies: [policy('ReadOnlyAccess', attachedInAws), policy('Gone', false)],
        next: null,
      }),
      'accounts.attachIamPolicies': async () => {
        attachedInAws = true;
        throw new ApiProblem({
          status: 422,
          title: 'Validation failed',
          detail:
            'Policy arn:aws:iam::aws:policy/Gone does not exist. Attached before that: arn:aws:iam::aws:policy/ReadOnlyAccess.',
        });
      },
    });
    renderInConsole(
      <AddIamPolicies
        account={account('aws', ['nodes-ec2', attachment.id])}
        catalog={catalog}
        canWrite
      />,
      client,
    );
    fireEvent.click(screen.getByRole('switch', { name: 'Add IAM policies' }));
    fireEvent.click(await screen.findByRole('checkbox', { name: /ReadOnlyAccess/ }));
    fireEvent.click(screen.getByRole('checkbox', { name: /Gone/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Attach 2 policies' }));
    await screen.findByText(/Attached before that/);
    await waitFor(() => expect(screen.getByText('Attached')).toBeTruthy());
    // The refusal stays on screen after the list is read again; only the refused policy is chosen.
    expect(screen.getByText(/Gone does not exist/)).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Attach 1 policy' })).toBeTruthy();
  });
});
