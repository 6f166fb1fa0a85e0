import type { Connection, Steps, UpdateConnectionInput } from '@onramp/sdk';
import { useEffect, useState } from 'react';
import { dateTime } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { actingTenant, useClient } from '../lib/session.tsx';
import { Alert, CopyValue, Spinner, Tabs } from './ui.tsx';

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
}: {
  connection: Connection;
  onMethod?: (method: SetupMethod) => void;
}) {
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
                  : 'Onramp uses the new one'}
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
}: {
  connection: Connection;
  onMethod?: ((method: SetupMethod) => void) | undefined;
}) {
  return (
    <div className="tab-content">
      {connection.links.quickCreate ? (
        <>
          <p>
            Open the AWS console signed in to the account you are connecting, and create the stack.
            It reports the role back to Onramp by itself.
          </p>
          <a
            className="btn btn-primary"
            href={connection.links.quickCreate}
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
      {connection.deployCommand ? (
        <>
          <p className="field-label">Or deploy it with the AWS CLI</p>
          <CopyValue value={connection.deployCommand} multiline />
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
