import { organizationTargetIdSchema } from '@onramp/contracts';
import type { OrganizationSetup } from '@onramp/sdk';
import { useState } from 'react';
import { describeError } from '../lib/forms.ts';
import { downloadText } from '../lib/organizations.ts';
import { Alert, Button, CopyValue, Field, TextInput } from './ui.tsx';

/**
 * What the tenant still has to fill in (`missing`, such as the root ID before the first discovery)
 * is asked here and put into the commands and the Terraform where they say `<field>`: what is
 * copied or downloaded is ready to run.
 */
function fillIn(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [field, value] of Object.entries(values)) {
    if (!value) continue;
    out = out.split(`<${field}>`).join(value);
    // The rendered commands name the StackSet's targets in words until the root is known.
    if (isTargetField(field)) out = out.split(TARGETS_PLACEHOLDER).join(value);
  }
  return out;
}

/** The downloads are named as the rendered commands name them (`onramp-organization.yaml`). */
const FILE_BASE = 'onramp-organization';

/** What core's renderers write where the StackSet's targets are not known yet. */
const TARGETS_PLACEHOLDER = '<r-… or ou-… IDs, separated by commas>';
function isTargetField(field: string): boolean {
  return /root|deploymentTargets/i.test(field);
}

/** A missing value checked as typed: a root ID must look like one. */
function checkMissing(field: string, value: string): string | undefined {
  if (!value) return undefined;
  // The StackSet's targets: the root, or OUs, separated by commas.
  const ids = value.split(',').map((id) => id.trim());
  if (
    isTargetField(field) &&
    !ids.every((id) => organizationTargetIdSchema.safeParse(id).success)
  ) {
    return 'A root ID looks like r-a1b2 and an OU ID like ou-a1b2-c3d4e5f6; separate several with commas.';
  }
  return undefined;
}

/**
 * The management template (YAML or JSON), the member template, Terraform and the commands of an
 * organization's set-up, or of its permission update (the same shape).
 */
export function OrganizationSetupPanel({
  setup,
  load,
}: {
  setup: OrganizationSetup;
  /**
   * The same set-up rendered again: in JSON, or with the StackSet's targets the tenant filled in
   * (the templates then carry them as the parameter's default, so the file is ready to deploy).
   */
  load: (query: { format: 'yaml' | 'json'; targets?: string }) => Promise<OrganizationSetup>;
}) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [downloadError, setDownloadError] = useState<string | undefined>();
  const [busy, setBusy] = useState<'yaml' | 'json' | undefined>();
  const ready = setup.missing.every(
    (m) => values[m.field] && !checkMissing(m.field, values[m.field] ?? ''),
  );
  const targets = setup.missing
    .filter((m) => isTargetField(m.field))
    .map((m) => values[m.field]?.replace(/\s+/g, ''))
    .find((value) => value && !checkMissing('DeploymentTargets', value));
  const downloadManagement = async (format: 'yaml' | 'json') => {
    setBusy(format);
    try {
      const rendered =
        format === 'yaml' && !targets
          ? setup
          : await load({ format, ...(targets ? { targets } : {}) });
      downloadText(
        `${FILE_BASE}.${format}`,
        rendered.managementTemplate,
        format === 'yaml' ? 'application/yaml' : 'application/json',
      );
      setDownloadError(undefined);
    } catch (failure) {
      setDownloadError(describeError(failure));
    } finally {
      setBusy(undefined);
    }
  };
  return (
    <div className="organization-setup" data-testid="organization-setup">
      {setup.steps.length > 0 ? (
        <ol className="setup-steps">
          {setup.steps.map((step) => (
            <li key={step.title}>
              <strong>{step.title}</strong>
              <div className="muted small">{step.detail}</div>
            </li>
          ))}
        </ol>
      ) : null}
      {setup.missing.length > 0 ? (
        <fieldset className="choice-group">
          <legend className="field-label">Before you deploy</legend>
          {setup.missing.map((m) => (
            <Field
              key={m.field}
              label={m.message}
              description={m.hint}
              error={
                checkMissing(m.field, values[m.field] ?? '')
                  ? { message: checkMissing(m.field, values[m.field] ?? '') ?? '' }
                  : undefined
              }
            >
              <TextInput
                value={values[m.field] ?? ''}
                spellCheck={false}
                placeholder={isTargetField(m.field) ? 'r-a1b2' : undefined}
                onChange={(event) =>
                  setValues({ ...values, [m.field]: event.target.value.replace(/\s+/g, '') })
                }
              />
            </Field>
          ))}
          {!ready ? (
            <p className="muted small">The commands below use these values once entered.</p>
          ) : null}
        </fieldset>
      ) : null}
      {setup.deploymentTargets.length > 0 ? (
        <p className="small">
          The StackSet deploys to:{' '}
          {setup.deploymentTargets.map((t) => (
            <code key={t} className="action">
              {t}
            </code>
          ))}
        </p>
      ) : null}
      <div className="form-actions setup-downloads">
        {setup.quickCreateUrl ? (
          <a
            className="btn btn-primary"
            href={setup.quickCreateUrl}
            target="_blank"
            rel="noopener noreferrer"
          >
            Launch in the AWS console
          </a>
        ) : null}
        <Button busy={busy === 'yaml'} onClick={() => void downloadManagement('yaml')}>
          Download management template (YAML)
        </Button>
        <Button busy={busy === 'json'} onClick={() => void downloadManagement('json')}>
          Download management template (JSON)
        </Button>
        <Button
          onClick={() =>
            downloadText('onramp-member.yaml', setup.memberTemplate, 'application/yaml')
          }
        >
          Download member template
        </Button>
        <Button
          onClick={() =>
            downloadText(`${FILE_BASE}.tf`, fillIn(setup.terraform, values), 'text/plain')
          }
        >
          Download Terraform
        </Button>
      </div>
      {downloadError ? <Alert tone="danger">{downloadError}</Alert> : null}
      {setup.commands.length > 0 ? (
        <>
          <h3 className="subheading">Or with the AWS CLI, in the management account</h3>
          {setup.commands.map((command) => (
            <CopyValue key={command} value={fillIn(command, values)} multiline />
          ))}
        </>
      ) : null}
    </div>
  );
}
