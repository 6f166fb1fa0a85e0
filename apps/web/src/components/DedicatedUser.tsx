import { userTemplateRequestSchema } from '@onramp/contracts';
import type { UserTemplate } from '@onramp/sdk';
import { useEffect, useMemo, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { PARTITION_LABELS } from '../lib/format.ts';
import { describeError, type FieldMessage, validateWith } from '../lib/forms.ts';
import { useClient } from '../lib/session.tsx';
import type { PermissionSelection } from './PermissionsPicker.tsx';
import { Alert, Card, CopyValue, Field, Spinner, Tabs, TextInput } from './ui.tsx';

/**
 * Tutum's "create a tutum user in AWS IAM", step by step, for the access-keys path: a suggested user
 * name, the partition's IAM console, the user's policy, and a CloudFormation or Terraform template that
 * creates the user and attaches the policy. The access key is made in the IAM console afterwards, never
 * by a template: its secret would otherwise sit in the stack or the Terraform state.
 */
export function DedicatedUser({
  partition,
  selection,
}: {
  partition: string;
  selection: PermissionSelection;
}) {
  const { name: brandName } = useBranding();
  const client = useClient();
  const [userName, setUserName] = useState<string | undefined>();
  const [template, setTemplate] = useState<UserTemplate | undefined>();
  const [nameError, setNameError] = useState<FieldMessage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const request = JSON.stringify({
    partition,
    bundles: selection.bundles,
    regions: selection.regions,
    ...(userName !== undefined ? { userName } : {}),
  });

  useEffect(() => {
    const body = JSON.parse(request) as unknown;
    const checked = validateWith(userTemplateRequestSchema, body);
    if (!checked.ok) {
      setNameError(checked.errors.userName ?? { message: 'Check the user name.' });
      return;
    }
    setNameError(undefined);
    let current = true;
    // Typing a name asks again once the typing stops.
    const timer = setTimeout(() => {
      client.userTemplate(checked.data).then(
        (result) => {
          if (!current) return;
          setTemplate(result);
          setError(undefined);
        },
        (failure: unknown) => {
          if (current) setError(describeError(failure));
        },
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, request]);

  const downloads = useMemo(() => {
    if (!template) return undefined;
    const url = (text: string, type: string) => URL.createObjectURL(new Blob([text], { type }));
    return {
      cloudformation: url(template.cloudformation.yaml, 'application/yaml'),
      terraform: url(template.terraform.hcl, 'text/plain'),
    };
  }, [template]);
  useEffect(
    () => () => {
      if (!downloads) return;
      URL.revokeObjectURL(downloads.cloudformation);
      URL.revokeObjectURL(downloads.terraform);
    },
    [downloads],
  );

  const partitionName = PARTITION_LABELS[partition] ?? partition;
  return (
    <Card title="Create a dedicated IAM user" className="dedicated-user">
      <p className="muted">
        If you have no user for {brandName} yet, create one that holds only these permissions, in
        the {partitionName} account you are connecting. Any user with the permissions works; a
        dedicated one is easy to audit and to remove.
      </p>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      <ol className="manual-steps">
        <li className="manual-step">
          <h3>Name the user</h3>
          <Field
            label="User name"
            error={nameError}
            description="The templates and the steps below use this name."
          >
            <TextInput
              value={userName ?? template?.userName ?? ''}
              spellCheck={false}
              autoComplete="off"
              onChange={(event) => setUserName(event.target.value)}
            />
          </Field>
        </li>
        <li className="manual-step">
          <h3>Create the user and attach its policy</h3>
          {!template || !downloads ? (
            <Spinner label="Preparing the templates…" />
          ) : (
            <Tabs
              label="How to create the user"
              tabs={[
                {
                  id: 'cloudformation',
                  title: 'CloudFormation',
                  content: (
                    <div className="tab-content">
                      <p>
                        Create a stack from this template in the account (it needs{' '}
                        <code>CAPABILITY_NAMED_IAM</code>). It creates the user{' '}
                        <code>{template.userName}</code> and its policy, and no access key.
                      </p>
                      <a
                        className="btn btn-primary"
                        href={downloads.cloudformation}
                        download={template.cloudformation.fileName}
                      >
                        Download template (YAML)
                      </a>
                    </div>
                  ),
                },
                {
                  id: 'terraform',
                  title: 'Terraform',
                  content: (
                    <div className="tab-content">
                      <p>
                        Run <code>terraform init</code> and <code>terraform apply</code> with
                        credentials of the account. It creates the user and its policy, and no
                        access key (its secret would be in the state).
                      </p>
                      <a
                        className="btn btn-primary"
                        href={downloads.terraform}
                        download={template.terraform.fileName}
                      >
                        Download Terraform
                      </a>
                    </div>
                  ),
                },
                {
                  id: 'manual',
                  title: 'In the IAM console',
                  content: (
                    <div className="tab-content">
                      <p>
                        <a href={template.consoleLinks.users} target="_blank" rel="noreferrer">
                          Open IAM in the {partitionName} console
                        </a>
                      </p>
                      <ol className="manual-steps">
                        {template.steps.slice(0, -1).map((step) => (
                          <li key={step.title} className="manual-step">
                            <h3>{step.title}</h3>
                            <p>{step.detail}</p>
                            {step.values.some((v) => v.format === 'json') ? (
                              <p className="muted">
                                The document is under “The user’s policy” below.
                              </p>
                            ) : null}
                            {step.values
                              .filter((v) => v.format === 'text')
                              .map((value) => (
                                <div key={value.label} className="step-value">
                                  <span className="field-label">{value.label}</span>
                                  <CopyValue value={value.value} />
                                </div>
                              ))}
                          </li>
                        ))}
                      </ol>
                    </div>
                  ),
                },
              ]}
            />
          )}
        </li>
        <li className="manual-step">
          <h3>The user’s policy</h3>
          {template ? (
            template.policies.map((policy) => (
              <details key={policy.name} className="step-value">
                <summary>
                  <code>{policy.name}</code>
                </summary>
                <CopyValue value={JSON.stringify(policy.document, null, 2)} multiline />
              </details>
            ))
          ) : (
            <Spinner label="Preparing the policy…" />
          )}
        </li>
        <li className="manual-step">
          <h3>Create its access key in the IAM console</h3>
          <p>
            Open the user’s security credentials, choose Create access key (use case: Third-party
            service) and paste both values below. AWS shows the secret only once, and no template
            makes it: nobody else ever sees it.
          </p>
          {template ? (
            <a
              className="btn btn-secondary"
              href={template.consoleLinks.accessKeys}
              target="_blank"
              rel="noreferrer"
            >
              Open {template.userName}’s access keys
            </a>
          ) : null}
        </li>
      </ol>
    </Card>
  );
}
