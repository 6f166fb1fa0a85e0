// @vitest-environment happy-dom
import type { Organization } from '@onramp/sdk';
import { ApiProblem } from '@onramp/sdk';
import { act, cleanup, fireEvent, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ORG_OFFERS, organization, SETUP } from '../test-organizations.ts';
import { CATALOG, fakeClient, previewOf, renderInConsole } from '../test-support.tsx';
import { ConnectOrganizationWizard, createOnce } from './ConnectOrganization.tsx';

function wizard(calls: Record<string, unknown> = {}) {
  const client = fakeClient({
    previewPolicy: async (input: { partition: string }) => previewOf(input),
    'organizations.setup': async () => SETUP,
    ...calls,
  });
  return renderInConsole(
    <ConnectOrganizationWizard offers={ORG_OFFERS} catalog={CATALOG} />,
    client,
  );
}

/** Fills the first step and goes through the permissions to the last step before creating. */
async function toScope(name = 'Acme') {
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: name } });
  fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
  fireEvent.click(await screen.findByRole('button', { name: 'Next: accounts and roles' }));
  await screen.findByRole('heading', { name: '3. Accounts and roles' });
}

beforeEach(() => {
  window.localStorage.clear();
  window.history.replaceState(null, '', '/organizations/new');
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connect an organization', () => {
  it('creates the organization once under a double click, keeps its id in the URL and shows the set-up', async () => {
    let answer: (org: Organization) => void = () => {};
    const create = vi.fn(() => new Promise<Organization>((resolve) => (answer = resolve)));
    wizard({ 'organizations.create': create, 'organizations.get': async () => organization() });
    await toScope();
    const button = screen.getByRole('button', { name: 'Create the organization' });
    fireEvent.click(button);
    fireEvent.click(button);
    fireEvent.submit(button.closest('form') as HTMLFormElement);
    await act(async () => answer(organization()));
    await screen.findByRole('heading', { name: '4. Deploy the management stack' });
    expect(create).toHaveBeenCalledTimes(1);
    expect(create.mock.calls[0]).toEqual([
      expect.objectContaining({
        name: 'Acme',
        partition: 'aws',
        deployment: 'service_managed',
        bundles: 'default',
        rules: {
          include: { organizationalUnits: [], accounts: [] },
          exclude: { organizationalUnits: [], accounts: [] },
        },
      }),
    ]);
    expect(window.location.pathname + window.location.search).toBe(
      '/organizations/new/org_1?step=setup',
    );
    // The set-up: the quick-create link, the downloads, the command, and what is still missing.
    expect(
      screen.getByRole('link', { name: 'Launch in the AWS console' }).getAttribute('href'),
    ).toBe(SETUP.quickCreateUrl);
    expect(
      screen.getByRole('button', { name: 'Download management template (YAML)' }),
    ).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Download Terraform' })).toBeTruthy();
    expect(screen.getByTestId('waiting-management-stack').textContent).toMatch(
      /Waiting for the management stack/,
    );
  });

  it('Back then Next changes the created organization instead of creating another', async () => {
    const create = vi.fn(async () => organization());
    const update = vi.fn(async (_id: string, input: { name?: string }) =>
      organization({ name: input.name ?? 'Acme' }),
    );
    wizard({
      'organizations.create': create,
      'organizations.update': update,
      'organizations.get': async () => organization(),
    });
    await toScope();
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await screen.findByRole('heading', { name: '4. Deploy the management stack' });
    // The browser's Back: the step before, of this organization.
    act(() => window.history.back());
    await waitFor(() => expect(window.location.search).toBe('?step=scope'));
    const next = await screen.findByRole('button', { name: 'Save and continue' });
    expect((screen.getByLabelText(/Member role name/) as HTMLInputElement).disabled).toBe(true);
    fireEvent.click(next);
    await screen.findByRole('heading', { name: '4. Deploy the management stack' });
    expect(create).toHaveBeenCalledTimes(1);
    expect(update).toHaveBeenCalledTimes(1);
    expect(update.mock.calls[0]?.[0]).toBe('org_1');
  });

  it('a reload lands on the set-up of the organization in the URL, creating nothing', async () => {
    window.history.replaceState(null, '', '/organizations/new/org_1?step=setup');
    const create = vi.fn(async () => organization());
    const get = vi.fn(async () => organization());
    wizard({ 'organizations.create': create, 'organizations.get': get });
    await screen.findByRole('heading', { name: '4. Deploy the management stack' });
    expect(get).toHaveBeenCalledWith('org_1');
    expect(create).not.toHaveBeenCalled();
  });

  it('a second tab of the same wizard run opens the organization the first one created', async () => {
    const create = vi.fn(async () => organization());
    const get = vi.fn(async () => organization());
    wizard({ 'organizations.create': create, 'organizations.get': get });
    await waitFor(() => expect(window.location.search).toMatch(/draft=/));
    const draftUrl = window.location.pathname + window.location.search;
    await toScope();
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await screen.findByRole('heading', { name: '4. Deploy the management stack' });
    cleanup();

    // The other tab: the same URL (a duplicated tab), none of the first one's memory but storage.
    // It goes on with the organization the first tab made: the same name, nothing to create.
    window.history.replaceState(null, '', draftUrl);
    wizard({ 'organizations.create': create, 'organizations.get': get });
    await waitFor(() => expect(window.location.pathname).toBe('/organizations/new/org_1'));
    expect(((await screen.findByLabelText('Name')) as HTMLInputElement).value).toBe('Acme');
    expect(screen.getByRole('note').textContent).toMatch(/does not make another/);
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: accounts and roles' }));
    expect(screen.queryByRole('button', { name: 'Create the organization' })).toBeNull();
    expect(create).toHaveBeenCalledTimes(1);
  });

  it('two creations of one run at the same moment make one organization; a failed one can be tried again', async () => {
    const create = vi.fn(async () => organization());
    const load = vi.fn(async () => organization());
    const [a, b] = await Promise.all([
      createOnce(create, load, 'draft-1'),
      createOnce(create, load, 'draft-1'),
    ]);
    expect(a.id).toBe('org_1');
    expect(b.id).toBe('org_1');
    expect(create).toHaveBeenCalledTimes(1);

    const refused = vi.fn(async () => {
      throw new ApiProblem({ status: 503, title: 'Unavailable' });
    });
    await expect(createOnce(refused, load, 'draft-2')).rejects.toThrow('Unavailable');
    expect((await createOnce(create, load, 'draft-2')).id).toBe('org_1');
    expect(create).toHaveBeenCalledTimes(2);
  });

  it('in aws-cn offers a self-managed StackSet or a stack per account, saying why not service-managed', async () => {
    const create = vi.fn(async () => organization({ partition: 'aws-cn' }));
    wizard({ 'organizations.create': create, 'organizations.get': async () => organization() });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Acme China' } });
    fireEvent.click(screen.getByRole('radio', { name: /AWS China/ }));
    const serviceManaged = screen.getByRole('radio', {
      name: /Service-managed StackSet/,
    }) as HTMLInputElement;
    expect(serviceManaged.disabled).toBe(true);
    expect(screen.getByText(/not available in AWS China/)).toBeTruthy();
    expect(
      (screen.getByRole('radio', { name: /Self-managed StackSet/ }) as HTMLInputElement).checked,
    ).toBe(true);
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: accounts and roles' }));
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await waitFor(() => expect(create).toHaveBeenCalledTimes(1));
    expect(create.mock.calls[0]).toEqual([
      expect.objectContaining({ partition: 'aws-cn', deployment: 'self_managed' }),
    ]);
  });

  it('shows the API’s refusal beside its field, on the step that asks it', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Invalid request',
        errors: [
          {
            field: 'deployment',
            code: 'not_offered',
            message: 'Service-managed StackSets are not offered in aws-cn.',
            hint: 'Choose self_managed or per_account.',
          },
        ],
      });
    });
    wizard({ 'organizations.create': create });
    await toScope();
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    // Back on the first step, the message under the deployment choice.
    await screen.findByRole('heading', { name: '1. The organization' });
    const group = screen.getByRole('group', { name: 'How member roles are deployed' });
    expect(group.textContent).toContain('Service-managed StackSets are not offered in aws-cn.');
    expect(group.textContent).toContain('Choose self_managed or per_account.');
  });

  it('a rule the API refuses is shown under its list, on the rules step', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Invalid request',
        errors: [
          {
            field: 'rules.include.organizationalUnits.0',
            code: 'invalid',
            message: 'Not an OU of this organization.',
          },
        ],
      });
    });
    wizard({ 'organizations.create': create });
    await toScope();
    fireEvent.change(screen.getByLabelText(/Include these OUs/), {
      target: { value: 'ou-ab12-prod0001' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await screen.findByText('Not an OU of this organization.');
    expect(screen.getByLabelText(/Include these OUs/).getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByRole('heading', { name: '3. Accounts and roles' })).toBeTruthy();
  });

  it('a name taken is shown on the Name field', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 409,
        title: 'Conflict',
        errors: [{ field: 'name', code: 'conflict', message: 'An organization is named Acme.' }],
      });
    });
    wizard({ 'organizations.create': create });
    await toScope();
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await screen.findByText('An organization is named Acme.');
    expect(screen.getByLabelText('Name').getAttribute('aria-invalid')).toBe('true');
  });

  it('checks the rules as typed and explains that the most specific rule wins', async () => {
    const create = vi.fn(async () => organization());
    wizard({ 'organizations.create': create, 'organizations.get': async () => organization() });
    await toScope();
    expect(screen.getByTestId('rules-explanation').textContent).toMatch(/most specific rule wins/);
    fireEvent.change(screen.getByLabelText(/Include these OUs/), {
      target: { value: 'ou-ab12-prod0001\nou-bad' },
    });
    fireEvent.change(screen.getByLabelText(/Exclude these accounts/), {
      target: { value: '12345' },
    });
    expect(screen.getByText(/Not a root or OU ID: ou-bad\./)).toBeTruthy();
    expect(screen.getByText(/Not a 12-digit account ID: 12345\./)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    expect(create).not.toHaveBeenCalled();

    fireEvent.change(screen.getByLabelText(/Include these OUs/), {
      target: { value: 'ou-ab12-prod0001, r-ab12' },
    });
    fireEvent.change(screen.getByLabelText(/Exclude these accounts/), {
      target: { value: '123456789012' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Create the organization' }));
    await waitFor(() => expect(create).toHaveBeenCalledTimes(1));
    expect(create.mock.calls[0]).toEqual([
      expect.objectContaining({
        rules: {
          include: { organizationalUnits: ['ou-ab12-prod0001', 'r-ab12'], accounts: [] },
          exclude: { organizationalUnits: [], accounts: ['123456789012'] },
        },
      }),
    ]);
  });

  it('asks for the root ID the templates need and puts it in the commands', async () => {
    window.history.replaceState(null, '', '/organizations/new/org_1?step=setup');
    const setup = vi.fn(async (_id: string, query: { format?: string; targets?: string } = {}) =>
      query.targets
        ? { ...SETUP, managementTemplate: `DeploymentTargets: ${query.targets}\n` }
        : SETUP,
    );
    wizard({ 'organizations.get': async () => organization(), 'organizations.setup': setup });
    const field = await screen.findByLabelText('Your organization’s root ID');
    fireEvent.change(field, { target: { value: 'ou-nope' } });
    expect(field.getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(field, { target: { value: 'r-ab12' } });
    expect(field.getAttribute('aria-invalid')).toBeNull();
    expect(screen.getByText(/--parameter-overrides DeploymentTargets=r-ab12$/)).toBeTruthy();

    // The downloads carry the names the commands use, and the value entered.
    const files: { name: string; text: Promise<string> }[] = [];
    const created = vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      files.push({ name: '', text: (blob as Blob).text() });
      return 'blob:onramp';
    });
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (
      this: HTMLAnchorElement,
    ) {
      const last = files[files.length - 1];
      if (last) last.name = this.download;
    });
    fireEvent.click(screen.getByRole('button', { name: 'Download Terraform' }));
    fireEvent.click(screen.getByRole('button', { name: 'Download member template' }));
    // The management template is rendered again with the root ID as the parameter's default, so
    // the file deploys as it is (in the console too, where nobody retypes it).
    fireEvent.click(screen.getByRole('button', { name: 'Download management template (YAML)' }));
    await waitFor(() => expect(files).toHaveLength(3));
    expect(setup).toHaveBeenLastCalledWith('org_1', { format: 'yaml', targets: 'r-ab12' });
    expect(files.map((f) => f.name)).toEqual([
      'onramp-organization.tf',
      'onramp-member.yaml',
      'onramp-organization.yaml',
    ]);
    expect(await files[0]?.text).toBe('variable "deployment_targets" { default = "r-ab12" }\n');
    expect(await files[1]?.text).toBe(SETUP.memberTemplate);
    expect(await files[2]?.text).toBe('DeploymentTargets: r-ab12\n');
    created.mockRestore();
    click.mockRestore();
  });

  it('takes a pasted management role ARN, and shows a refusal under the field', async () => {
    window.history.replaceState(null, '', '/organizations/new/org_1?step=setup');
    const managementRole = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Invalid request',
        errors: [
          {
            field: 'roleArn',
            code: 'invalid_arn',
            message: 'Not a role ARN of aws.',
            hint: 'It looks like arn:aws:iam::123456789012:role/OnrampOrganizationRole-abc.',
          },
        ],
      });
    });
    wizard({
      'organizations.get': async () => organization(),
      'organizations.managementRole': managementRole,
    });
    const field = await screen.findByLabelText('Management role ARN');
    fireEvent.change(field, { target: { value: 'arn:aws-cn:iam::1:role/x' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this role' }));
    await screen.findByText('Not a role ARN of aws.');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(managementRole).toHaveBeenCalledWith('org_1', 'arn:aws-cn:iam::1:role/x');
  });

  it('waits for the management stack, asking every few seconds only while the tab is shown, then moves on', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    window.history.replaceState(null, '', '/organizations/new/org_1?step=setup');
    let status: Organization['status'] = 'pending';
    const get = vi.fn(async () => organization({ status }));
    wizard({ 'organizations.get': get });
    await screen.findByTestId('waiting-management-stack');
    const before = get.mock.calls.length;
    await act(() => vi.advanceTimersByTimeAsync(4000));
    expect(get.mock.calls.length).toBe(before + 1);

    // A hidden tab asks nothing.
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
    act(() => {
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await act(() => vi.advanceTimersByTimeAsync(20_000));
    expect(get.mock.calls.length).toBe(before + 1);

    // Shown again: it asks at once; the stack has reported, the organization is active.
    status = 'active';
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => false });
    await act(async () => {
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor(() => expect(window.location.pathname).toBe('/organizations/org_1'));
  });
});
