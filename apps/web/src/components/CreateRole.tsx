import type { Connection, Steps, UpdateConnectionInput } from '@onramp/sdk';
import { useEffect, useId, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { dateTime } from '../lib/format.ts';
import { describeError, type FieldMessage } from '../lib/forms.ts';
import { actingTenant, useClient } from '../lib/session.tsx';
import {
  Alert,
  ChoiceCard,
  CopyValue,
  Field,
  FieldError,
  Spinner,
  Tabs,
  TextInput,
} from './ui.tsx';

/** The keyless templates' input for an account that has Onramp's identity provider already. */
export const PROVIDER_PARAMETER = 'ExistingOidcProviderArn';
export const PROVIDER_VARIABLE = 'existing_oidc_provider_arn';

/** A download link of the API; an operator's names the tenant, as a link cannot send a header. */
export function apiLink(url: string): string {
  const tenant = actingTenant();
  if (!tenant) return url;
  return `${url}${url.includes('?') ? '&' : '?'}tenant=${encodeURIComponent(tenant)}`;
}

type SetupMethod = NonNullable<UpdateConnectionInput['setupMethod']>;

/**
 * "Create the role": CloudFormation, Terraform or by hand, with the connection's external ID.
 * `onMethod` hears which way the tenant took (a launch, a download, the manual steps), to record it.
 */
export function CreateRole({
  connection,
  onMethod,
  providerError,
}: {
  connection: Connection;
  onMethod?: (method: SetupMethod) => void;
  /** A validation's refusal on `oidcProvider` (keyless roles): shown on the provider question. */
  providerError?: FieldMessage | undefined;
}) {
  const { name: brandName } = useBranding();
  if (connection.method === 'oidc_role') {
    return (
      <CreateKeylessRole
        connection={connection}
        onMethod={onMethod}
        providerError={providerError}
      />
    );
  }
  const { trustedPrincipal } = connection;
  if (!trustedPrincipal) {
    return (
      <Alert tone="warning" title="The role cannot be created now">
        {connection.unavailableReason}
      </Alert>
    );
  }
  return (
    <div className="create-role">
      <dl className="facts">
        <div>
          <dt>Trusted principal</dt>
          <dd>
            <CopyValue value={trustedPrincipal.arn} />
          </dd>
        </div>
        <div>
          <dt>External ID</dt>
          <dd>
            <CopyValue value={connection.externalId ?? ''} />
          </dd>
        </div>
        {connection.previousExternalId ? (
          <div>
            <dt>Previous external ID</dt>
            <dd>
              <CopyValue value={connection.previousExternalId} />
              <span className="muted small">
                {' '}
                Still accepted by the templates until{' '}
                {connection.previousExternalIdUntil
                  ? dateTime(connection.previousExternalIdUntil)
                  : `${brandName} uses the new one`}
                .
              </span>
            </dd>
          </div>
        ) : null}
        <div>
          <dt>Role name</dt>
          <dd>
            <code>{connection.roleName}</code>
          </dd>
        </div>
      </dl>
      <Tabs
        label="How to create the role"
        tabs={[
          {
            id: 'cloudformation',
            title: 'CloudFormation',
            content: <CloudFormationTab connection={connection} onMethod={onMethod} />,
          },
          {
            id: 'terraform',
            title: 'Terraform',
            content: (
              <div className="tab-content">
                <p>
                  Download the configuration, then run <code>terraform init</code> and{' '}
                  <code>terraform apply</code> with credentials of the account you are connecting.
                  Paste the <code>role_arn</code> output below.
                </p>
                <a
                  className="btn btn-primary"
                  href={apiLink(connection.links.terraform)}
                  download
                  onClick={() => onMethod?.('terraform')}
                >
                  Download Terraform
                </a>
              </div>
            ),
          },
          {
            id: 'manual',
            title: 'Manual',
            content: <ManualSteps connection={connection} onMethod={onMethod} />,
          },
        ]}
      />
    </div>
  );
}

function CloudFormationTab({
  connection,
  onMethod,
  providerArn,
}: {
  connection: Connection;
  onMethod?: ((method: SetupMethod) => void) | undefined;
  /** Keyless roles: the account's existing identity provider, passed as the stack's parameter. */
  providerArn?: string | undefined;
}) {
  const { name: brandName } = useBranding();
  const quickCreate = connection.links.quickCreate
    ? withQuickCreateParameter(connection.links.quickCreate, providerArn)
    : null;
  const deployCommand = connection.deployCommand
    ? withDeployParameter(connection.deployCommand, providerArn)
    : null;
  return (
    <div className="tab-content">
      {quickCreate ? (
        <>
          <p>
            Open the AWS console signed in to the account you are connecting, and create the stack.
            It reports the role back to {brandName} by itself.
          </p>
          <a
            className="btn btn-primary"
            href={quickCreate}
            target="_blank"
            rel="noreferrer"
            onClick={() => onMethod?.('quick_create')}
          >
            Launch stack
          </a>
        </>
      ) : (
        <Alert tone="info" title="Launch stack is not available">
          {connection.quickCreateUnavailableReason}
        </Alert>
      )}
      <div className="download-row">
        <a
          className="btn btn-secondary"
          href={apiLink(connection.links.cloudformationYaml)}
          download
          onClick={() => onMethod?.('cloudformation')}
        >
          Download template (YAML)
        </a>
        <a
          className="btn btn-ghost"
          href={apiLink(connection.links.cloudformationJson)}
          download
          onClick={() => onMethod?.('cloudformation')}
        >
          JSON
        </a>
      </div>
      {providerArn ? (
        <p className="muted small">
          A downloaded template asks for the parameter <code>{PROVIDER_PARAMETER}</code>: give it{' '}
          <code className="wrap">{providerArn}</code>.
        </p>
      ) : null}
      {deployCommand ? (
        <>
          <p className="field-label">Or deploy it with the AWS CLI</p>
          <CopyValue value={deployCommand} multiline />
        </>
      ) : null}
    </div>
  );
}

function ManualSteps({
  connection,
  onMethod,
}: {
  connection: Connection;
  onMethod?: ((method: SetupMethod) => void) | undefined;
}) {
  const client = useClient();
  const [steps, setSteps] = useState<Steps | undefined>();
  const [error, setError] = useState<string | undefined>();
  // Shown only when its tab is opened: the tenant follows the manual steps.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per connection
  useEffect(() => onMethod?.('manual'), [connection.id]);
  useEffect(() => {
    let current = true;
    client.connections.steps(connection.id).then(
      (result) => current && setSteps(result),
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, connection.id]);
  if (error) return <Alert tone="danger">{error}</Alert>;
  if (!steps) return <Spinner label="Preparing the steps…" />;
  return (
    <ol className="manual-steps">
      {steps.steps.map((step) => (
        <li key={step.title} className="manual-step">
          <h3>{step.title}</h3>
          <p>{step.detail}</p>
          {step.link ? (
            <p>
              <a href={step.link} target="_blank" rel="noreferrer">
                Open in the AWS console
              </a>
            </p>
          ) : null}
          {step.values.map((value) => (
            <div key={value.label} className="step-value">
              <span className="field-label">{value.label}</span>
              <CopyValue value={value.value} multiline={value.format === 'json'} />
            </div>
          ))}
        </li>
      ))}
    </ol>
  );
}

/**
 * The quick-create link with the existing provider's ARN as the stack's parameter (AWS's quick-create
 * links take `param_<Name>` values); without one the template creates the provider.
 */
export function withQuickCreateParameter(link: string, providerArn: string | undefined): string {
  if (!providerArn) return link;
  const value = `param_${PROVIDER_PARAMETER}=${encodeURIComponent(providerArn)}`;
  const existing = new RegExp(`param_${PROVIDER_PARAMETER}=[^&]*`);
  return existing.test(link) ? link.replace(existing, value) : `${link}&${value}`;
}

/**
 * The deploy command with the existing provider's ARN among its parameter overrides. Comment lines
 * (which explain the parameter) are left as they are.
 */
export function withDeployParameter(command: string, providerArn: string | undefined): string {
  if (!providerArn) return command;
  const value = `${PROVIDER_PARAMETER}=${providerArn}`;
  const existing = new RegExp(`'?${PROVIDER_PARAMETER}=[^\\s]*`);
  const lines = command.split('\n');
  const isCommand = (line: string) => !line.trimStart().startsWith('#');
  if (lines.some((line) => isCommand(line) && existing.test(line))) {
    return lines.map((line) => (isCommand(line) ? line.replace(existing, value) : line)).join('\n');
  }
  return lines
    .map((line) =>
      isCommand(line) && line.includes('--parameter-overrides')
        ? `${line.replace(/\s*\\$/, '')} ${value}${line.endsWith('\\') ? ' \\' : ''}`
        : line,
    )
    .join('\n');
}

/** What an existing provider's ARN must look like: this partition, an account, this issuer. */
export function checkProviderArn(
  value: string,
  connection: Pick<Connection, 'partition' | 'webIdentity'>,
): FieldMessage | undefined {
  const prefix = connection.webIdentity?.conditionPrefix ?? '';
  const arn = value.trim();
  if (!arn) return { message: 'Enter the ARN of the identity provider the account has.' };
  const match = /^arn:([a-z-]+):iam::(\d{12}):oidc-provider\/(.+)$/.exec(arn);
  if (!match) {
    return {
      message: 'This is not the ARN of an IAM OpenID Connect identity provider.',
      hint: `It looks like ${connection.webIdentity?.providerArnPattern ?? 'arn:aws:iam::123456789012:oidc-provider/…'}.`,
    };
  }
  if (match[1] !== connection.partition) {
    return {
      message: `This provider is in the ${match[1]} partition, and this role in ${connection.partition}.`,
      hint: `Use the provider of the account you are connecting, arn:${connection.partition}:iam::….`,
    };
  }
  if (match[3] !== prefix) {
    return {
      message: `This provider is for ${match[3]}, not for the issuer this role trusts.`,
      hint: `Use the provider whose URL is https://${prefix}, or choose “No” to let the template create it.`,
    };
  }
  return undefined;
}

/**
 * "Create the role" of a keyless connection: what the role trusts (the issuer, audience and subject),
 * whether the account has Onramp's identity provider already (AWS allows one per URL per account), and
 * the same ways to create it as for external-ID roles.
 */
function CreateKeylessRole({
  connection,
  onMethod,
  providerError,
}: {
  connection: Connection;
  onMethod?: ((method: SetupMethod) => void) | undefined;
  providerError?: FieldMessage | undefined;
}) {
  const { name: brandName } = useBranding();
  const id = useId();
  const [hasProvider, setHasProvider] = useState(false);
  const [providerArn, setProviderArn] = useState('');
  const [touched, setTouched] = useState(false);
  const trust = connection.webIdentity;
  if (!trust) {
    return (
      <Alert tone="warning" title="The role cannot be created now">
        {connection.unavailableReason ??
          `${brandName} has no public OpenID Connect issuer now: keyless roles cannot be created.`}
      </Alert>
    );
  }
  const providerIssue =
    hasProvider && touched ? checkProviderArn(providerArn, connection) : undefined;
  // Only a well-formed ARN of this issuer goes into the links and commands.
  const existing =
    hasProvider && !checkProviderArn(providerArn, connection) ? providerArn.trim() : undefined;
  return (
    <div className="create-role">
      <p className="muted">
        The role trusts {brandName}’s OpenID Connect identity provider in your account, for tokens
        with exactly this audience and subject. Nothing secret is involved: no keys, no external ID.
      </p>
      <dl className="facts">
        <div>
          <dt>Issuer URL</dt>
          <dd>
            <CopyValue value={trust.issuer} />
          </dd>
        </div>
        <div>
          <dt>Audience</dt>
          <dd>
            <CopyValue value={trust.audience} />
          </dd>
        </div>
        <div>
          <dt>Subject</dt>
          <dd>
            <CopyValue value={trust.subject} />
          </dd>
        </div>
        <div>
          <dt>Role name</dt>
          <dd>
            <code>{connection.roleName}</code>
          </dd>
        </div>
      </dl>
      <fieldset className={`choice-group${providerError ? ' field-invalid' : ''}`}>
        <legend className="field-label">
          Does this AWS account already have {brandName}’s identity provider?
        </legend>
        <p className="field-description">
          AWS allows one identity provider per URL in an account. If another {brandName} role in
          this account created it (IAM → Identity providers lists{' '}
          <code>{trust.conditionPrefix}</code>), reuse it.
        </p>
        <div className="choice-cards">
          <ChoiceCard
            name={`${id}-provider`}
            checked={!hasProvider}
            onChange={() => setHasProvider(false)}
            title="No, create it with the role"
            description="The usual case for a first connection."
          />
          <ChoiceCard
            name={`${id}-provider`}
            checked={hasProvider}
            onChange={() => setHasProvider(true)}
            title="Yes, use the existing one"
            description="Give its ARN below."
          />
        </div>
        <FieldError id={`${id}-provider-error`} error={providerError} />
      </fieldset>
      {hasProvider ? (
        <Field
          label="Identity provider ARN"
          error={providerIssue}
          description={
            <>
              Passed as the CloudFormation parameter <code>{PROVIDER_PARAMETER}</code> and the
              Terraform variable <code>{PROVIDER_VARIABLE}</code>, so the templates use this
              provider instead of creating a second one.
            </>
          }
        >
          <TextInput
            value={providerArn}
            spellCheck={false}
            placeholder={trust.providerArnPattern}
            onChange={(event) => setProviderArn(event.target.value)}
            onBlur={() => setTouched(true)}
          />
        </Field>
      ) : null}
      <Tabs
        label="How to create the role"
        tabs={[
          {
            id: 'cloudformation',
            title: 'CloudFormation',
            content: (
              <CloudFormationTab
                connection={connection}
                onMethod={onMethod}
                providerArn={existing}
              />
            ),
          },
          {
            id: 'terraform',
            title: 'Terraform',
            content: (
              <div className="tab-content">
                <p>
                  Download the configuration, then run <code>terraform init</code> and{' '}
                  <code>terraform apply</code> with credentials of the account you are connecting.
                  Paste the <code>role_arn</code> output below.
                </p>
                {existing ? (
                  <>
                    <p className="field-label">Apply it with the existing provider</p>
                    <CopyValue value={`terraform apply -var '${PROVIDER_VARIABLE}=${existing}'`} />
                  </>
                ) : null}
                <a
                  className="btn btn-primary"
                  href={apiLink(connection.links.terraform)}
                  download
                  onClick={() => onMethod?.('terraform')}
                >
                  Download Terraform
                </a>
              </div>
            ),
          },
          {
            id: 'manual',
            title: 'Manual',
            content: (
              <>
                {hasProvider ? (
                  <Alert tone="info">
                    The account has the identity provider: skip the step that adds it.
                  </Alert>
                ) : null}
                <ManualSteps connection={connection} onMethod={onMethod} />
              </>
            ),
          },
        ]}
      />
    </div>
  );
}
