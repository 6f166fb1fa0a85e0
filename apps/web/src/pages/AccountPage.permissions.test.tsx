// @vitest-environment happy-dom
import type { Account, AccountCheck } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import type { PermissionsUpdate } from '../lib/permission-upgrades.ts';
import { CATALOG, fakeClient, OFFERS, renderInConsole } from '../test-support.tsx';
import { AccountPage } from './AccountPage.tsx';

const ADDED = Array.from({ length: 12 }, (_, i) => `ec2:DescribeNew${String(i).padStart(2, '0')}`);

const PERMISSIONS: NonNullable<Account['permissions']> = {
  outdated: true,
  outdatedSince: '2030-01-05T10:00:00.000Z',
  changes: [{ bundle: 'nodes-ec2', add: ADDED, remove: ['ec2:DescribeOld'] }],
  trimmed: [],
  grantedAt: '2029-12-01T10:00:00.000Z',
};

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
  roleOrigin: 'stack_callback',
  bundles: ['nodes-ec2'],
  regions: [],
  status: 'valid',
  checks: [{ name: 'identity', status: 'passed', detail: '', durationMs: 12 }],
  findings: [],
  lastCheckedAt: '2030-01-01T10:00:00.000Z',
  stale: false,
  staleSince: null,
  permissions: PERMISSIONS,
  createdAt: '2029-12-01T10:00:00.000Z',
  updatedAt: '2030-01-01T10:00:00.000Z',
};

const POLICY = {
  Version: '2012-10-17' as const,
  Statement: [{ Sid: 'Nodes', Effect: 'Allow' as const, Action: ADDED, Resource: '*' }],
};

const CLOUDFORMATION: PermissionsUpdate = {
  madeWith: 'cloudformation',
  changes: PERMISSIONS.changes,
  policies: [{ name: 'OnrampRole-permissions-1', document: POLICY }],
  cloudFormation: {
    stackName: 'onramp-production',
    template: 'AWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n',
    deployCommand:
      'aws cloudformation deploy --stack-name onramp-production --template-file onramp-production.yaml --capabilities CAPABILITY_NAMED_IAM',
    changeSetCommand:
      'aws cloudformation create-change-set --stack-name onramp-production --change-set-name onramp-update --template-body file://onramp-production.yaml',
    updateStackUrl:
      'https://console.aws.amazon.com/cloudformation/home#/stacks/update/template?stackId=onramp-production',
  },
  terraform: null,
  steps: [],
};

function check(overrides: Partial<AccountCheck> = {}): AccountCheck {
  return {
    id: 'chk_9',
    at: '2030-01-06T10:00:00.000Z',
    status: 'valid',
    previousStatus: 'degraded',
    changed: true,
    stale: false,
    checks: [{ name: 'permissions', status: 'passed', detail: '', durationMs: 30 }],
    findings: [],
    errors: [],
    durationMs: 250,
    trigger: 'permissions_updated',
    ...overrides,
  };
}

function page(calls: Record<string, unknown>, overrides = {}) {
  const client = fakeClient({
    'accounts.get': async () => ACCOUNT,
    'accounts.checks': async () => ({ checks: [], next: null }),
    catalog: async () => CATALOG,
    partitions: async () => OFFERS,
    ...calls,
  });
  renderInConsole(<AccountPage accountId="acct_1" />, client, overrides);
}

const panel = async () =>
  (await screen.findByRole('heading', { name: 'Update permissions' })).closest(
    'section.card',
  ) as HTMLElement;
const param = () => new URLSearchParams(window.location.search).get('permissions');

describe('updating an account’s permissions', () => {
  it('says why an outdated account needs an update, with what changes per feature, a few at a time', async () => {
    page({});
    const card = await panel();
    expect(within(screen.getByRole('heading', { level: 1 })).getByText('Outdated')).toBeTruthy();
    const cause = card.querySelector('[data-cause="outdated"]') as HTMLElement;
    expect(cause.textContent).toContain('The platform’s features changed');
    const bundle = cause.querySelector('[data-bundle="nodes-ec2"]') as HTMLElement;
    expect(within(bundle).getByText('Manage EC2 nodes')).toBeTruthy();
    expect(bundle.textContent).toContain('Adds 12 actions');
    expect(bundle.textContent).toContain('Removes 1 action');
    expect(bundle.querySelectorAll('code.action')).toHaveLength(6);
    fireEvent.click(within(bundle).getByRole('button', { name: 'and 7 more' }));
    expect(bundle.querySelectorAll('code.action')).toHaveLength(13);
    // Not trimmed: that explanation is for another cause.
    expect(card.querySelector('[data-cause="trimmed"]')).toBeNull();
  });

  it('explains trimmed actions apart from outdated ones', async () => {
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        status: 'degraded',
        permissions: {
          ...PERMISSIONS,
          outdated: false,
          changes: [],
          trimmed: [{ bundle: 'nodes-ec2', actions: ['ec2:RunInstances'] }],
        },
      }),
    });
    const card = await panel();
    expect(card.querySelector('[data-cause="outdated"]')).toBeNull();
    const trimmed = card.querySelector('[data-cause="trimmed"]') as HTMLElement;
    expect(trimmed.textContent).toContain('someone removed them');
    expect(trimmed.textContent).toContain('ec2:RunInstances');
    expect(within(screen.getByRole('heading', { level: 1 })).getByText('Trimmed')).toBeTruthy();
  });

  it('shows nothing to update for an account whose permissions match', async () => {
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        permissions: { ...PERMISSIONS, outdated: false, changes: [] },
      }),
    });
    await screen.findByRole('heading', { name: 'Permissions' });
    expect(screen.queryByRole('heading', { name: 'Update permissions' })).toBeNull();
  });

  it('Fix now opens the CloudFormation update in the URL; Back closes it, a reload reopens it', async () => {
    const prepare = vi.fn(async () => CLOUDFORMATION);
    window.history.replaceState(null, '', '/accounts/acct_1');
    page({ 'accounts.permissionsUpdate': prepare });
    const card = await panel();
    fireEvent.click(within(card).getByRole('button', { name: 'Fix now' }));
    expect(param()).toBe('update');
    // The button goes away: focus moves into the panel rather than to the page's start.
    expect(document.activeElement?.getAttribute('aria-label')).toBe('What to apply');
    await within(card).findByText('onramp-production');
    expect(prepare).toHaveBeenCalledWith('acct_1');
    expect(card.textContent).toContain(CLOUDFORMATION.cloudFormation?.changeSetCommand);
    expect(card.textContent).toContain(CLOUDFORMATION.cloudFormation?.deployCommand);
    const download = within(card).getByRole('link', { name: 'Download the template' });
    expect(download.getAttribute('download')).toBe('onramp-production.yaml');
    expect(decodeURIComponent(download.getAttribute('href') ?? '')).toContain(
      'AWSTemplateFormatVersion',
    );
    expect(
      within(card)
        .getByRole('link', { name: 'Update the stack in the AWS console' })
        .getAttribute('href'),
    ).toBe(CLOUDFORMATION.cloudFormation?.updateStackUrl);
    expect(within(card).getByRole('button', { name: /Copy the template/ })).toBeTruthy();
    // A stack that reports back verifies its update by itself.
    expect(card.textContent).toContain('the platform verifies it by itself');

    // The browser's Back: the panel closes, the page stays.
    window.history.back();
    await waitFor(() => expect(param()).toBeNull());
    window.dispatchEvent(new PopStateEvent('popstate'));
    await waitFor(() => expect(within(card).queryByRole('button', { name: /verify/ })).toBeNull());
    expect(within(card).getByRole('button', { name: 'Fix now' })).toBeTruthy();
  });

  it('opens the panel from the URL, as a reload gives it', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    const prepare = vi.fn(async () => CLOUDFORMATION);
    page({ 'accounts.permissionsUpdate': prepare });
    const card = await panel();
    expect(
      await within(card).findByRole('button', { name: 'I’ve applied it — verify' }),
    ).toBeTruthy();
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(within(card).queryByRole('button', { name: 'Fix now' })).toBeNull();
  });

  it('gives a Terraform role the file and what changed', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({
      'accounts.permissionsUpdate': async () => ({
        ...CLOUDFORMATION,
        madeWith: 'terraform',
        cloudFormation: null,
        terraform: { file: 'resource "aws_iam_role" "onramp" {}\n' },
      }),
    });
    const card = await panel();
    const file = await within(card).findByRole('link', { name: 'Download Terraform' });
    expect(file.getAttribute('download')).toBe('onramp.tf');
    expect(decodeURIComponent(file.getAttribute('href') ?? '')).toContain('aws_iam_role');
    const changed = within(card).getByRole('heading', { name: 'What changed' }).closest('section');
    expect(changed?.textContent).toContain('Adds 12 actions');
    expect(card.textContent).toContain('terraform apply');
  });

  it('gives a manual role its policy documents and the readable diff', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({
      'accounts.permissionsUpdate': async () => ({
        ...CLOUDFORMATION,
        madeWith: 'manual',
        cloudFormation: null,
        steps: [{ title: 'Replace the policy', detail: 'In IAM, open the role’s policies.' }],
      }),
    });
    const card = await panel();
    const policy = await within(card).findByRole('heading', {
      name: 'Policy OnrampRole-permissions-1',
    });
    expect(policy.closest('section')?.textContent).toContain('"ec2:DescribeNew00"');
    expect(within(card).getByText('Replace the policy')).toBeTruthy();
    expect(card.querySelector('.permission-diff [data-bundle="nodes-ec2"]')?.textContent).toContain(
      'ec2:DescribeOld',
    );
  });

  it('gives a keys account the user policy', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        method: 'access_keys',
        roleArn: null,
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        principalArn: 'arn:aws:iam::222233334444:user/onramp',
      }),
      'accounts.permissionsUpdate': async () => ({
        ...CLOUDFORMATION,
        madeWith: 'access_keys',
        cloudFormation: null,
      }),
    });
    const card = await panel();
    await within(card).findByRole('heading', { name: 'Policy OnrampRole-permissions-1' });
    expect(card.textContent).toContain(
      'Replace the policies of the IAM user whose keys the platform uses (arn:aws:iam::222233334444:user/onramp)',
    );
  });

  it('verifies: still missing says what, then valid says so and closes the panel', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    const verify = vi
      .fn()
      .mockResolvedValueOnce({
        account: { ...ACCOUNT, status: 'degraded' },
        check: check({
          status: 'degraded',
          findings: [
            {
              bundleId: 'nodes-ec2',
              bundleName: 'Manage EC2 nodes',
              missing: ['ec2:DescribeNew03'],
              deniedByScp: [],
            },
          ],
          errors: [
            {
              field: 'permissions.nodes-ec2',
              code: 'missing_actions',
              message: 'The role lacks 1 action.',
            },
          ],
        }),
      })
      .mockResolvedValueOnce({
        account: {
          ...ACCOUNT,
          permissions: { ...PERMISSIONS, outdated: false, outdatedSince: null, changes: [] },
        },
        check: check(),
      });
    page({
      'accounts.permissionsUpdate': async () => CLOUDFORMATION,
      'accounts.permissionsVerify': verify,
    });
    const card = await panel();
    fireEvent.click(await within(card).findByRole('button', { name: 'I’ve applied it — verify' }));
    const still = await within(card).findByText('Not there yet: some actions are still missing');
    expect(still.closest('.alert')?.textContent).toContain('ec2:DescribeNew03');
    expect(param()).toBe('update');

    fireEvent.click(within(card).getByRole('button', { name: 'I’ve applied it — verify' }));
    expect(
      await screen.findByText('Permissions verified: the account is valid again.'),
    ).toBeTruthy();
    expect(verify).toHaveBeenCalledWith('acct_1');
    expect(param()).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Update permissions' })).toBeNull();
    expect(within(screen.getByRole('heading', { level: 1 })).queryByText('Outdated')).toBeNull();
    // The verification is a check in the history, on top.
    const rows = within(screen.getByRole('table', { name: 'Check history' }))
      .getAllByRole('row')
      .filter((row) => row.hasAttribute('data-check'));
    expect(rows[0]?.getAttribute('data-check')).toBe('chk_9');
  });

  it('for an account saved degraded (nothing outdated), says the update gives what the check found missing', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        status: 'degraded',
        permissions: { ...PERMISSIONS, outdated: false, outdatedSince: null, changes: [] },
        findings: [
          {
            bundleId: 'nodes-ec2',
            bundleName: 'Manage EC2 nodes',
            missing: ['ec2:RunInstances'],
            deniedByScp: [],
          },
        ],
      }),
      'accounts.permissionsUpdate': async () => ({
        ...CLOUDFORMATION,
        madeWith: 'manual',
        cloudFormation: null,
        changes: [],
      }),
    });
    const card = await panel();
    expect(card.querySelector('[data-cause="missing"]')?.textContent).toContain(
      'Some features lack actions',
    );
    const changed = (await within(card).findByRole('heading', { name: 'What changed' })).closest(
      'section',
    ) as HTMLElement;
    expect(changed.textContent).toContain('what the last check found missing');
    expect(within(changed).getByText('ec2:RunInstances')).toBeTruthy();
  });

  it('says when the update cannot be prepared, and tries again', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    const prepare = vi
      .fn()
      .mockRejectedValueOnce(new Error('Onramp is busy.'))
      .mockResolvedValueOnce(CLOUDFORMATION);
    page({ 'accounts.permissionsUpdate': prepare });
    const card = await panel();
    await within(card).findByText('The update could not be prepared');
    fireEvent.click(within(card).getByRole('button', { name: 'Try again' }));
    await within(card).findByText('onramp-production');
  });

  it('opens nothing for another value of the parameter', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=%3Cscript%3E');
    const prepare = vi.fn(async () => CLOUDFORMATION);
    page({ 'accounts.permissionsUpdate': prepare });
    const card = await panel();
    expect(within(card).getByRole('button', { name: 'Fix now' })).toBeTruthy();
    expect(prepare).not.toHaveBeenCalled();
  });

  it('lists removable actions per policy, when the checks read them', async () => {
    page({
      'accounts.get': async () => ({
        ...ACCOUNT,
        permissions: {
          ...PERMISSIONS,
          outdated: false,
          changes: [],
          extra: [
            { policy: 'legacy-admin', actions: ['s3:DeleteBucket', 'iam:CreateUser'] },
            { policy: 'arn:aws:iam::aws:policy/ReadOnlyAccess', actions: [] },
          ],
          extraCheckedAt: '2030-01-05T10:00:00.000Z',
        },
      }),
    });
    const section = (await screen.findByRole('heading', { name: 'Removable permissions' }))
      .parentElement as HTMLElement;
    expect(section.textContent).toContain('allow 2 actions that no chosen feature needs');
    const policies = [...section.querySelectorAll('[data-policy]')].map((e) =>
      e.getAttribute('data-policy'),
    );
    expect(policies).toEqual(['legacy-admin']);
    expect(within(section).getByText('iam:CreateUser')).toBeTruthy();
    // Nothing to update: extra actions alone are not a fault.
    expect(screen.queryByRole('heading', { name: 'Update permissions' })).toBeNull();
  });

  it('lets a viewer read why, without Fix now or the panel', async () => {
    window.history.replaceState(null, '', '/accounts/acct_1?permissions=update');
    page({}, { canWrite: false });
    const card = await panel();
    expect(within(card).queryByRole('button', { name: 'Fix now' })).toBeNull();
    expect(card.textContent).toContain('Ask an admin');
    expect(within(card).queryByRole('button', { name: /verify/ })).toBeNull();
  });
});
