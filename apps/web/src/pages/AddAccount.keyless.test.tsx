// @vitest-environment happy-dom
import {
  ApiProblem,
  type Connection,
  type PartitionOffer,
  type ValidationResult,
} from '@onramp/sdk';
import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { withDeployParameter, withQuickCreateParameter } from '../components/CreateRole.tsx';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { AddAccountWizard } from './AddAccount.tsx';

const ISSUER = 'https://onramp.example.test/oidc';
const AWS: PartitionOffer = {
  ...(OFFERS[0] as PartitionOffer),
  methods: ['role', 'oidc_role', 'access_keys'],
  oidc: { issuer: ISSUER, audience: 'sts.amazonaws.com' },
  oidcReason: null,
};
const CHINA: PartitionOffer = {
  ...(OFFERS[1] as PartitionOffer),
  oidc: null,
  oidcReason: 'The operator has not set a public https URL for Onramp (ONRAMP_PUBLIC_URL).',
};
/** An operator with no hub credentials at all: roles are not offered, keyless roles are. */
const NO_HUB: PartitionOffer = {
  ...AWS,
  methods: ['oidc_role', 'access_keys'],
  reason: 'Roles need the operator to configure a hub identity for AWS (aws).',
  trustedPrincipal: null,
};

function pendingOf(method: 'role' | 'oidc_role'): Connection {
  const keyless = method === 'oidc_role';
  return {
    id: 'con_1',
    name: 'Prod',
    description: '',
    partition: 'aws',
    bundles: ['nodes-ec2'],
    regions: [],
    roleName: 'OnrampRole-abcdefgh',
    method,
    externalId: keyless ? null : 'onramp-ext-1',
    webIdentity: keyless
      ? {
          issuer: ISSUER,
          audience: 'sts.amazonaws.com',
          subject: 'tenant:tenant_1:connection:con_1',
          conditionPrefix: 'onramp.example.test/oidc',
          providerArnPattern: 'arn:aws:iam::<account>:oidc-provider/onramp.example.test/oidc',
        }
      : null,
    trustedPrincipal: keyless
      ? null
      : { arn: 'arn:aws:iam::111122223333:user/hub', accountId: '111122223333' },
    unavailableReason: null,
    status: 'pending',
    reportsBack: true,
    links: {
      cloudformationYaml: '/v1/connections/con_1/template.yaml',
      cloudformationJson: '/v1/connections/con_1/template.json',
      terraform: '/v1/connections/con_1/terraform',
      quickCreate:
        'https://console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/quickcreate?templateURL=x&stackName=onramp&param_ExistingOidcProviderArn=',
    },
    deployCommand:
      'aws cloudformation deploy --template-file role.yaml --stack-name onramp \\\n  --parameter-overrides RoleName=OnrampRole-abcdefgh',
    expiresAt: '2030-01-02T10:00:00.000Z',
  } as unknown as Connection;
}

function wizard(offers: PartitionOffer[], calls: Record<string, unknown> = {}) {
  const client = fakeClient({
    previewPolicy: async (input: { partition: string }) => previewOf(input),
    'connections.get': async () => pendingOf('oidc_role'),
    ...calls,
  });
  renderInConsole(<AddAccountWizard offers={offers} catalog={CATALOG} />, client);
}

const radio = (name: RegExp) => screen.getByRole('radio', { name }) as HTMLInputElement;

describe('the add-account wizard, keyless roles', () => {
  it('offers a keyless role first where the partition has an issuer, recommended, saying why', () => {
    wizard([AWS, CHINA]);
    const keyless = radio(/Keyless IAM role/);
    expect(keyless.checked).toBe(true);
    const card = keyless.closest('label') as HTMLElement;
    expect(within(card).getByText('Recommended')).toBeTruthy();
    expect(within(card).getByText(/No keys anywhere, no external ID to keep/)).toBeTruthy();
    expect(within(card).getByText(/12 hours/)).toBeTruthy();
    // The external-ID role is still there, no longer the recommended one.
    const role = radio(/^IAM role/);
    expect(role.disabled).toBe(false);
    expect(within(role.closest('label') as HTMLElement).queryByText('Recommended')).toBeNull();
  });

  it('says why keyless roles are not offered in a partition, without a card for them', () => {
    wizard([AWS, CHINA]);
    fireEvent.click(radio(/AWS China/));
    expect(screen.queryByRole('radio', { name: /Keyless IAM role/ })).toBeNull();
    expect(
      screen.getByText(/Keyless IAM roles are not offered here: .*ONRAMP_PUBLIC_URL/),
    ).toBeTruthy();
    expect(radio(/Access keys/).checked).toBe(true);
    // Back in a partition with the issuer, keys stay chosen: a choice is not taken back.
    fireEvent.click(radio(/^AWS aws/));
    expect(radio(/Access keys/).checked).toBe(true);
  });

  it('chooses the keyless role by default when the operator has no hub', () => {
    wizard([NO_HUB]);
    expect(radio(/Keyless IAM role/).checked).toBe(true);
    expect(radio(/^IAM role/).disabled).toBe(true);
    expect(screen.getByText(/configure a hub identity for AWS \(aws\)/)).toBeTruthy();
  });

  it('creates a keyless set-up, shows what its role trusts, and takes an existing provider', async () => {
    const create = vi.fn(async () => pendingOf('oidc_role'));
    wizard([AWS], {
      'connections.create': create,
      'connections.update': async () => pendingOf('oidc_role'),
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    await screen.findByRole('heading', { name: '3. Create the role' });
    expect(create).toHaveBeenCalledWith(expect.objectContaining({ method: 'oidc_role' }));

    expect(screen.getByText(ISSUER)).toBeTruthy();
    expect(screen.getByText('sts.amazonaws.com')).toBeTruthy();
    expect(screen.getByText('tenant:tenant_1:connection:con_1')).toBeTruthy();
    expect(screen.queryByText(/External ID/)).toBeNull();
    expect(screen.getByText(/Its subject stays the same/)).toBeTruthy();

    const launch = screen.getByRole('link', { name: 'Launch stack' }) as HTMLAnchorElement;
    expect(launch.href).toMatch(/param_ExistingOidcProviderArn=$/);

    fireEvent.click(radio(/Yes, use the existing one/));
    const arn = screen.getByLabelText('Identity provider ARN');
    expect(screen.getByText(/CloudFormation parameter/).textContent).toContain(
      'ExistingOidcProviderArn',
    );
    // A provider for another URL is refused on the field, and kept out of the links.
    fireEvent.change(arn, {
      target: {
        value: 'arn:aws:iam::222233334444:oidc-provider/token.actions.githubusercontent.com',
      },
    });
    fireEvent.blur(arn);
    expect(arn.getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText(/not for the issuer this role trusts/)).toBeTruthy();
    expect(launch.href).toMatch(/param_ExistingOidcProviderArn=$/);

    const provider = 'arn:aws:iam::222233334444:oidc-provider/onramp.example.test/oidc';
    fireEvent.change(arn, { target: { value: provider } });
    expect(arn.getAttribute('aria-invalid')).toBeNull();
    expect(
      (screen.getByRole('link', { name: 'Launch stack' }) as HTMLAnchorElement).href,
    ).toContain(`param_ExistingOidcProviderArn=${encodeURIComponent(provider)}`);
    expect(
      screen.getByText(/--parameter-overrides RoleName=OnrampRole-abcdefgh/).textContent,
    ).toContain(`ExistingOidcProviderArn=${provider}`);
    fireEvent.click(screen.getByRole('tab', { name: 'Terraform' }));
    expect(
      screen.getByText(`terraform apply -var 'existing_oidc_provider_arn=${provider}'`),
    ).toBeTruthy();
  });

  it('validates a keyless role as oidc_role and shows refusals on the role ARN and the provider', async () => {
    const refused: ValidationResult = {
      valid: false,
      status: 'invalid',
      findings: [],
      identity: null,
      checks: [{ name: 'web_identity', status: 'failed', detail: 'Not pinned.', durationMs: 5 }],
      errors: [
        {
          field: 'roleArn',
          code: 'subject_not_pinned',
          message: 'The role accepts tokens of other connections.',
          hint: 'Add "StringEquals": {"onramp.example.test/oidc:sub": "tenant:tenant_1:connection:con_1"} to its trust policy.',
        },
        {
          field: 'oidcProvider',
          code: 'provider_missing',
          message: 'The account has no identity provider for https://onramp.example.test/oidc.',
          hint: 'Create it, or choose “No” for the template to create it.',
        },
      ],
      notices: [],
    };
    const validate = vi.fn(async () => refused);
    wizard([AWS], {
      'connections.create': async () => pendingOf('oidc_role'),
      'connections.update': async () => pendingOf('oidc_role'),
      'accounts.validate': validate,
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    fireEvent.change(await screen.findByLabelText('Role ARN'), {
      target: { value: 'arn:aws:iam::222233334444:role/OnrampRole-abcdefgh' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation failed');
    expect(validate).toHaveBeenCalledWith({
      method: 'oidc_role',
      connectionId: 'con_1',
      roleArn: 'arn:aws:iam::222233334444:role/OnrampRole-abcdefgh',
      name: 'Prod',
      description: '',
    });
    expect(screen.getByLabelText('Role ARN').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getAllByText(/onramp.example.test\/oidc:sub/).length).toBeGreaterThan(0);
    const question = screen.getByRole('group', {
      name: /already have the platform’s identity provider/,
    });
    expect(within(question).getByText(/has no identity provider for/)).toBeTruthy();
    // Neither is listed again above the step.
    expect(screen.queryByText('Something needs your attention')).toBeNull();
  });

  it('Back and another method changes the same set-up, never a new one', async () => {
    let current = pendingOf('oidc_role');
    const create = vi.fn(async () => current);
    const update = vi.fn(async (_id: string, changes: { method?: 'role' | 'oidc_role' }) => {
      if (changes.method) current = pendingOf(changes.method);
      return current;
    });
    wizard([AWS], { 'connections.create': create, 'connections.update': update });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    await screen.findByRole('button', { name: 'Next: create the role' });
    fireEvent.click(screen.getByRole('button', { name: 'Back' }));

    fireEvent.click(await screen.findByRole('radio', { name: /^IAM role/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    await screen.findByText('onramp-ext-1');
    expect(screen.getByText(/Its external ID stays the same/)).toBeTruthy();
    expect(create).toHaveBeenCalledTimes(1);
    expect(update).toHaveBeenCalledWith('con_1', expect.objectContaining({ method: 'role' }));

    // And back to keyless: the same connection again, its external ID kept by the server.
    fireEvent.click(screen.getByRole('button', { name: 'Back' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Back' }));
    fireEvent.click(await screen.findByRole('radio', { name: /Keyless IAM role/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    await screen.findByText('tenant:tenant_1:connection:con_1');
    expect(create).toHaveBeenCalledTimes(1);
    expect(update).toHaveBeenCalledWith('con_1', expect.objectContaining({ method: 'oidc_role' }));
    // Only a change of method is sent as one.
    const methods = update.mock.calls.filter(([, c]) => c.method !== undefined);
    expect(methods.map(([, c]) => c.method)).toEqual(['role', 'oidc_role']);
  });

  it('follows a set-up whose method another tab changed, saying so, when the server refuses the old one', async () => {
    const message =
      'The connection con_1 sets up an IAM role with an external ID, not a keyless role.';
    const validate = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Invalid',
        detail: message,
        errors: [{ field: 'method', code: 'method_mismatch', message }],
      });
    });
    wizard([AWS], {
      'connections.create': async () => pendingOf('oidc_role'),
      'connections.update': async () => pendingOf('oidc_role'),
      // What the other tab made of it meanwhile.
      'connections.get': async () => pendingOf('role'),
      'accounts.validate': validate,
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Next: create the role' }));
    fireEvent.change(await screen.findByLabelText('Role ARN'), {
      target: { value: 'arn:aws:iam::222233334444:role/OnrampRole-abcdefgh' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText(/changed meanwhile \(in another tab\?\): it now makes an IAM role/);
    expect(screen.getByText('onramp-ext-1')).toBeTruthy();
    expect(screen.queryByText('tenant:tenant_1:connection:con_1')).toBeNull();
    // Validating again sends the method the set-up has now.
    validate.mockResolvedValueOnce({
      valid: true,
      status: 'valid',
      findings: [],
      identity: { accountId: '222233334444', arn: 'arn:aws:sts::222233334444:assumed-role/R/s' },
      checks: [],
      errors: [],
      notices: [],
    } as never);
    fireEvent.click(screen.getByRole('button', { name: 'Validate' }));
    await screen.findByText('Validation passed');
    expect(validate).toHaveBeenLastCalledWith(expect.objectContaining({ method: 'role' }));
  });

  it('resumes a keyless set-up from its URL, as a reload does', async () => {
    window.history.replaceState(null, '', '/accounts/new/con_1?step=create');
    wizard([AWS], {
      'connections.update': async () => pendingOf('oidc_role'),
    });
    await screen.findByText('tenant:tenant_1:connection:con_1');
    expect(screen.getByRole('heading', { name: '3. Create the role' })).toBeTruthy();
    expect(screen.getByRole('heading', { name: '4. The role ARN' })).toBeTruthy();
    expect(screen.queryByText(/External ID/)).toBeNull();
  });

  it('says why the role cannot be made when the issuer was removed since', async () => {
    window.history.replaceState(null, '', '/accounts/new/con_1?step=create');
    const gone = {
      ...pendingOf('oidc_role'),
      webIdentity: null,
      unavailableReason: 'The operator no longer has a public https issuer (ONRAMP_PUBLIC_URL).',
    };
    wizard([AWS], { 'connections.get': async () => gone });
    expect(await screen.findByText(/no longer has a public https issuer/)).toBeTruthy();
  });
});

describe('the keyless templates’ existing-provider parameter', () => {
  const provider = 'arn:aws-us-gov:iam::222233334444:oidc-provider/onramp.example.test/oidc';
  it('sets it in a quick-create link, replacing an empty one or adding it', () => {
    expect(
      withQuickCreateParameter('https://x/#/q?a=1&param_ExistingOidcProviderArn=', provider),
    ).toBe(`https://x/#/q?a=1&param_ExistingOidcProviderArn=${encodeURIComponent(provider)}`);
    expect(withQuickCreateParameter('https://x/#/q?a=1', provider)).toBe(
      `https://x/#/q?a=1&param_ExistingOidcProviderArn=${encodeURIComponent(provider)}`,
    );
    expect(withQuickCreateParameter('https://x/#/q?a=1', undefined)).toBe('https://x/#/q?a=1');
  });

  it('leaves the comment that explains the parameter as it is', () => {
    const command = `# add to the overrides\n# ExistingOidcProviderArn=arn:aws:iam::<ACCOUNT ID>:oidc-provider/x\naws cloudformation deploy \\\n  --parameter-overrides RoleName=R`;
    expect(withDeployParameter(command, provider)).toBe(
      `# add to the overrides\n# ExistingOidcProviderArn=arn:aws:iam::<ACCOUNT ID>:oidc-provider/x\naws cloudformation deploy \\\n  --parameter-overrides RoleName=R ExistingOidcProviderArn=${provider}`,
    );
  });

  it('adds it to the deploy command’s overrides, keeping a continued line continued', () => {
    const command =
      "aws cloudformation deploy \\\n  --parameter-overrides 'RoleName=R' \\\n  --capabilities CAPABILITY_NAMED_IAM";
    expect(withDeployParameter(command, provider)).toBe(
      `aws cloudformation deploy \\\n  --parameter-overrides 'RoleName=R' ExistingOidcProviderArn=${provider} \\\n  --capabilities CAPABILITY_NAMED_IAM`,
    );
    expect(
      withDeployParameter("deploy --parameter-overrides 'ExistingOidcProviderArn=' X=1", provider),
    ).toBe(`deploy --parameter-overrides ExistingOidcProviderArn=${provider} X=1`);
  });
});

// Refusals before the set-up exists name the method field.
describe('the add-account wizard, keyless refused on creation', () => {
  it('shows the server’s refusal of the keyless method on the method choice', async () => {
    const message = 'Keyless roles are not allowed for this tenant.';
    wizard([AWS], {
      'connections.create': async () => {
        throw new ApiProblem({
          status: 422,
          title: 'Invalid',
          detail: message,
          errors: [
            { field: 'method', code: 'method_not_allowed', message, hint: 'Ask the operator.' },
          ],
        });
      },
    });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Prod' } });
    fireEvent.click(screen.getByRole('button', { name: 'Next: permissions' }));
    expect(await screen.findByText(message)).toBeTruthy();
    expect(screen.getByRole('heading', { name: '1. The account' })).toBeTruthy();
  });
});
