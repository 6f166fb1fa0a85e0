import type { ValidationResult } from '@onramp/sdk';
import { useBranding } from '../lib/branding.tsx';
import { formatDuration } from '../lib/format.ts';
import type { FieldMessage } from '../lib/forms.ts';
import { ActionList, Alert, StatusBadge } from './ui.tsx';

/** Each check as the customer reads it, naming the platform (`brand`) that runs it. */
const checkLabels = (brand: string): Record<string, string> => ({
  shape: 'Credentials are well formed',
  hub: `${brand} can reach the partition`,
  identity: 'Sign in to the account',
  external_id_required: 'The role requires the external ID',
  issuer: `${brand}’s issuer signs a token`,
  subject_required: 'The role requires this connection’s subject',
  audience_required: 'The role requires the audience of this partition',
  permissions: 'Permissions of every chosen feature',
});

const CHECK_ICONS: Record<string, string> = {
  passed: '✓',
  failed: '✕',
  warning: '!',
  error: '?',
  skipped: '–',
};

/** The checks of a validation, in order, each with its result, what it found and how long it took. */
export function ChecksList({ checks }: { checks: ValidationResult['checks'] }) {
  const { name: brandName } = useBranding();
  return (
    <ol className="checks" aria-label="Validation checks">
      {checks.map((check) => (
        <li key={check.name} className={`check check-${check.status}`}>
          <span className="check-icon" aria-hidden="true">
            {CHECK_ICONS[check.status] ?? '?'}
          </span>
          <div className="check-body">
            <div className="check-title">
              <strong>{checkLabels(brandName)[check.name] ?? check.name}</strong>
              <StatusBadge status={check.status} />
              <span className="muted check-duration">{formatDuration(check.durationMs)}</span>
            </div>
            {check.detail ? <p className="check-detail">{check.detail}</p> : null}
          </div>
        </li>
      ))}
    </ol>
  );
}

/** Per bundle, the actions the identity lacks (and those an organization SCP denies). */
export function FindingsList({ findings }: { findings: ValidationResult['findings'] }) {
  const withProblems = findings.filter((f) => f.missing.length > 0 || f.deniedByScp.length > 0);
  if (withProblems.length === 0) return null;
  return (
    <div className="findings">
      {withProblems.map((finding) => (
        <div key={finding.bundleId} className="finding" data-bundle={finding.bundleId}>
          <strong>{finding.bundleName}</strong>
          {finding.missing.length > 0 ? (
            <p>
              Missing {finding.missing.length} action{finding.missing.length === 1 ? '' : 's'}:{' '}
              <ActionList actions={finding.missing} />
            </p>
          ) : null}
          {finding.deniedByScp.length > 0 ? (
            <p>
              Denied by an organization SCP: <ActionList actions={finding.deniedByScp} />
            </p>
          ) : null}
        </div>
      ))}
    </div>
  );
}

/**
 * Errors of a check that are not on a form: each in red under the name of the field it is about (the
 * role ARN, the secret access key, a bundle), with what to do.
 */
export function FieldErrorsList({
  errors,
  labelOf,
}: {
  errors: (FieldMessage & { field: string })[];
  labelOf: (field: string) => string;
}) {
  if (errors.length === 0) return null;
  return (
    <dl className="error-list">
      {errors.map((error) => (
        <div key={`${error.field}:${error.message}`} className="field-invalid">
          <dt>{labelOf(error.field)}</dt>
          <dd className="field-error">
            {error.message}
            {error.hint ? <span className="field-hint"> {error.hint}</span> : null}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** Field-error codes of the permissions check: actions missing, or denied by an SCP. */
const PERMISSION_CODES = new Set(['missing_actions', 'denied_by_scp']);

/**
 * Whether the only thing wrong is missing permissions (the identity and the external ID passed): the
 * account can still be saved, degraded, once the tenant confirms which features will not work.
 */
export function onlyMissingPermissions(errors: { code: string }[]): boolean {
  return errors.length > 0 && errors.every((e) => PERMISSION_CODES.has(e.code));
}

/** The features a validation found lacking, by name: what will not work if saved anyway. */
export function lackingFeatures(result: Pick<ValidationResult, 'findings'>): string[] {
  return result.findings
    .filter((f) => f.missing.length + f.deniedByScp.length > 0)
    .map((f) => f.bundleName);
}

/**
 * Whether the account may be saved degraded (`acceptMissingPermissions`): the API says so with
 * `savableDegraded`; a server that does not, when every error is about missing permissions.
 */
export function canSaveDegraded(result: ValidationResult): boolean {
  if (result.valid || lackingFeatures(result).length === 0) return false;
  const { savableDegraded } = result as { savableDegraded?: boolean };
  return savableDegraded ?? onlyMissingPermissions(result.errors);
}

export function ValidationReport({
  result,
  allowDegraded = true,
}: {
  result: ValidationResult;
  /** Whether the reader may save the account with permissions missing (not in a hosted session). */
  allowDegraded?: boolean;
}) {
  const { name: brandName } = useBranding();
  const permissions = result.checks.find((c) => c.name === 'permissions');
  const unanswered = result.checks.filter((c) => c.status === 'error');
  const lacking = lackingFeatures(result);
  return (
    <div className="validation-report" aria-live="polite">
      {canSaveDegraded(result) ? (
        <Alert tone="warning" title="Signed in; some permissions are missing">
          {result.identity
            ? `Signed in to account ${result.identity.accountId} as ${result.identity.arn}. `
            : null}
          {lacking.length === 1 ? 'One feature lacks' : `${lacking.length} features lack`} actions
          below. Give them to the role or user and validate again
          {allowDegraded
            ? ', or save anyway: the account is saved as Degraded and you can fix it from its page.'
            : '.'}
        </Alert>
      ) : result.valid && result.status === 'unverified' && permissions?.status === 'warning' ? (
        <Alert tone="warning" title="Validation passed; permissions not verified">
          {result.identity
            ? `Signed in to account ${result.identity.accountId} as ${result.identity.arn}.`
            : null}{' '}
          You can save the account: it is saved as Unverified until {brandName} can check its
          permissions, and each health check tries again.
        </Alert>
      ) : !result.valid && result.errors.length === 0 && unanswered.length > 0 ? (
        <Alert tone="warning" title="AWS did not answer every check">
          Nothing wrong was found, but a check that must pass could not be made. Validate again
          shortly.
        </Alert>
      ) : result.valid ? (
        <Alert tone="success" title="Validation passed">
          {result.identity
            ? `Signed in to account ${result.identity.accountId} as ${result.identity.arn}.`
            : null}{' '}
          You can save the account.
        </Alert>
      ) : (
        <Alert tone="danger" title="Validation failed">
          Fix what is marked in red, then validate again.
        </Alert>
      )}
      <ChecksList checks={result.checks} />
      <FindingsList findings={result.findings} />
    </div>
  );
}
