import type { Account, AccountCheck } from '@onramp/sdk';
import { type ReactNode, useEffect, useId, useRef, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { dateTime, fieldLabel, isRoleMethod } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import type { PermissionsUpdate, PermissionsVerify } from '../lib/permission-upgrades.ts';
import { navigate, useLocation } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';
import { ActionList, Alert, Button, Card, CopyButton, CopyValue, Spinner } from './ui.tsx';
import { FieldErrorsList, FindingsList } from './ValidationReport.tsx';

type Change = NonNullable<Account['permissions']>['changes'][number];

/** The query parameter that keeps the panel open across a reload and the browser's Back. */
const PARAM = 'permissions';
const PERMISSION_CODES = new Set(['missing_actions', 'denied_by_scp']);

/** Whether the account's permissions need the tenant's hand: outdated, trimmed or degraded. */
export function needsPermissionUpdate(account: Account): boolean {
  const permissions = account.permissions;
  return (
    account.status === 'degraded' ||
    Boolean(permissions?.outdated) ||
    (permissions?.trimmed.some((t) => t.actions.length > 0) ?? false)
  );
}

/** Per bundle, the actions an update adds and those it removes, a few at a time. */
export function PermissionDiff({
  changes,
  bundleName,
}: {
  changes: Change[];
  bundleName: (id: string) => string;
}) {
  const shown = changes.filter((c) => c.add.length > 0 || c.remove.length > 0);
  if (shown.length === 0) return null;
  return (
    <div className="findings permission-diff">
      {shown.map((change) => (
        <div key={change.bundle} className="finding" data-bundle={change.bundle}>
          <strong>{bundleName(change.bundle)}</strong>
          {change.add.length > 0 ? (
            <p>
              Adds {change.add.length} action{change.add.length === 1 ? '' : 's'}:{' '}
              <ActionList actions={change.add} />
            </p>
          ) : null}
          {change.remove.length > 0 ? (
            <p>
              Removes {change.remove.length} action{change.remove.length === 1 ? '' : 's'} no
              feature needs any more: <ActionList actions={change.remove} />
            </p>
          ) : null}
        </div>
      ))}
    </div>
  );
}

/**
 * "Update permissions" on the account page, when its permissions are outdated (the catalog changed),
 * trimmed (someone removed granted actions in AWS) or missing (saved degraded). "Fix now" opens what
 * to apply, in the way the role or user was made, then "I've applied it — verify" checks it again.
 * Open is `?permissions=update` in the URL, so a reload and the browser's Back keep it.
 */
export function UpdatePermissions({
  account,
  bundleName,
  onChecked,
}: {
  account: Account;
  bundleName: (id: string) => string;
  /** The account as the verification left it, its check, and whether it is fixed. */
  onChecked: (account: Account, check: AccountCheck, fixed: boolean) => void;
}) {
  const { canWrite } = useConsole();
  const { path, search } = useLocation();
  const isOpen = search.get(PARAM) === 'update';
  const identity = isRoleMethod(account.method) ? 'role' : 'IAM user';
  const permissions = account.permissions;
  const trimmed = permissions?.trimmed.filter((t) => t.actions.length > 0) ?? [];
  const outdated = permissions?.outdated ?? false;

  const withParam = (open: boolean) => {
    const query = new URLSearchParams(search);
    if (open) query.set(PARAM, 'update');
    else query.delete(PARAM);
    const rest = query.toString();
    return rest ? `${path}?${rest}` : path;
  };
  // Opened by Fix now (not by a reload): focus moves into the panel, as the button goes away.
  const [opened, setOpened] = useState(false);
  const open = () => {
    setOpened(true);
    navigate(withParam(true), { keepScroll: true });
    document.getElementById('update-permissions')?.scrollIntoView?.({ block: 'start' });
  };

  // Opened by its URL on an account that needs nothing, it still gives an admin the policies as
  // they should be (to re-apply them); a viewer would have nothing to read.
  if (!needsPermissionUpdate(account) && !(isOpen && canWrite)) return null;
  return (
    <section id="update-permissions" aria-labelledby="update-permissions-title">
      <Card
        title={<span id="update-permissions-title">Update permissions</span>}
        actions={
          canWrite && !isOpen ? (
            <Button variant="primary" onClick={open}>
              Fix now
            </Button>
          ) : null
        }
      >
        {outdated ? (
          <div className="permission-cause" data-cause="outdated">
            <p>
              <strong>Outdated.</strong> The platform’s features changed
              {permissions?.outdatedSince ? ` on ${dateTime(permissions.outdatedSince)}` : ''}: this
              account’s {identity} was given what they needed before, not what they need now.
            </p>
            <PermissionDiff changes={permissions?.changes ?? []} bundleName={bundleName} />
          </div>
        ) : null}
        {trimmed.length > 0 ? (
          <div className="permission-cause" data-cause="trimmed">
            <p>
              <strong>Trimmed.</strong> A check found actions this account was given missing from
              its {identity}’s policies in AWS: someone removed them. Applying the update puts them
              back; if they were removed on purpose, the features below will not work.
            </p>
            <div className="findings">
              {trimmed.map((t) => (
                <div key={t.bundle} className="finding" data-bundle={t.bundle}>
                  <strong>{bundleName(t.bundle)}</strong>
                  <p>
                    {t.actions.length} action{t.actions.length === 1 ? '' : 's'} removed:{' '}
                    <ActionList actions={t.actions} />
                  </p>
                </div>
              ))}
            </div>
          </div>
        ) : null}
        {!outdated && trimmed.length === 0 && account.status === 'degraded' ? (
          <p className="permission-cause" data-cause="missing">
            Some features lack actions (listed under Permissions): they will not work until the{' '}
            {identity} is given them.
          </p>
        ) : null}
        {!canWrite ? (
          <p className="muted">Ask an admin of your organisation to update its permissions.</p>
        ) : isOpen ? (
          <UpdatePanel
            focusOnOpen={opened}
            account={account}
            bundleName={bundleName}
            onChecked={(next, check, fixed) => {
              onChecked(next, check, fixed);
              // To the top, where the page says it is fixed.
              if (fixed) navigate(withParam(false), { replace: true });
            }}
            onClose={() => navigate(withParam(false), { keepScroll: true })}
          />
        ) : null}
      </Card>
    </section>
  );
}

function UpdatePanel({
  focusOnOpen,
  account,
  bundleName,
  onChecked,
  onClose,
}: {
  focusOnOpen: boolean;
  account: Account;
  bundleName: (id: string) => string;
  onChecked: (account: Account, check: AccountCheck, fixed: boolean) => void;
  onClose: () => void;
}) {
  const { client } = useConsole();
  const [update, setUpdate] = useState<PermissionsUpdate | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [attempt, setAttempt] = useState(0);
  const [verifying, setVerifying] = useState(false);
  const [verified, setVerified] = useState<PermissionsVerify | undefined>();
  const [verifyError, setVerifyError] = useState<string | undefined>();

  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` asks again after a failure
  useEffect(() => {
    let current = true;
    setError(undefined);
    client.accounts.permissionsUpdate(account.id).then(
      (next) => current && setUpdate(next),
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, account.id, attempt]);

  // A double click checks the account once.
  const inFlight = useRef(false);
  const panel = useRef<HTMLElement>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when opened
  useEffect(() => {
    if (focusOnOpen) panel.current?.focus();
  }, []);
  const verify = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setVerifying(true);
    setVerifyError(undefined);
    try {
      const result = await client.accounts.permissionsVerify(account.id);
      setVerified(result);
      onChecked(result.account, result.check, result.check.status === 'valid');
    } catch (failure) {
      setVerifyError(describeError(failure));
    } finally {
      inFlight.current = false;
      setVerifying(false);
    }
  };

  const stillMissing = verified && verified.check.status !== 'valid' ? verified.check : undefined;
  return (
    <section className="update-panel" ref={panel} tabIndex={-1} aria-label="What to apply">
      {error ? (
        <Alert tone="danger" title="The update could not be prepared">
          {error} <Button onClick={() => setAttempt(attempt + 1)}>Try again</Button>
        </Alert>
      ) : !update ? (
        <Spinner label="Preparing the update…" />
      ) : (
        <UpdateResult
          update={update}
          account={account}
          bundleName={bundleName}
          stillMissing={stillMissing}
          verifyError={verifyError}
          verifying={verifying}
          onVerify={() => void verify()}
          onClose={onClose}
        />
      )}
    </section>
  );
}

function UpdateResult({
  update,
  account,
  bundleName,
  stillMissing,
  verifyError,
  verifying,
  onVerify,
  onClose,
}: {
  update: PermissionsUpdate;
  account: Account;
  bundleName: (id: string) => string;
  stillMissing: AccountCheck | undefined;
  verifyError: string | undefined;
  verifying: boolean;
  onVerify: () => void;
  onClose: () => void;
}) {
  const { name: brandName } = useBranding();
  return (
    <>
      <UpdateArtefacts update={update} account={account} bundleName={bundleName} />
      <div aria-live="polite">
        {stillMissing ? (
          <Alert
            tone={stillMissing.status === 'invalid' ? 'danger' : 'warning'}
            title={
              stillMissing.status === 'invalid'
                ? `${brandName} could not sign in to check it`
                : 'Not there yet: some actions are still missing'
            }
          >
            {stillMissing.status === 'invalid'
              ? 'Fix what is marked below, then verify again.'
              : 'AWS can take a few seconds to apply a policy change. Check that the update finished, then verify again.'}
            <FieldErrorsList
              errors={stillMissing.errors.filter((e) => !PERMISSION_CODES.has(e.code))}
              labelOf={(field) => fieldLabel(field, bundleName)}
            />
            <FindingsList findings={stillMissing.findings} />
          </Alert>
        ) : null}
        {verifyError ? <Alert tone="danger">{verifyError}</Alert> : null}
      </div>
      <div className="form-actions">
        <Button onClick={onClose}>Close</Button>
        <Button variant="primary" busy={verifying} onClick={onVerify}>
          I’ve applied it — verify
        </Button>
      </div>
    </>
  );
}

/** What to apply, in the way the role or user was made. */
export function UpdateArtefacts({
  update,
  account,
  bundleName,
}: {
  update: PermissionsUpdate;
  account: Account;
  bundleName: (id: string) => string;
}) {
  const { name: brandName } = useBranding();
  const cfn = update.cloudFormation;
  const lacking = account.findings.filter((f) => f.missing.length + f.deniedByScp.length > 0);
  const diff = update.changes.some((c) => c.add.length + c.remove.length > 0) ? (
    <PermissionDiff changes={update.changes} bundleName={bundleName} />
  ) : lacking.length > 0 ? (
    <>
      <p className="muted">
        It gives the {isRoleMethod(account.method) ? 'role' : 'user'} what the last check found
        missing:
      </p>
      <FindingsList findings={lacking} />
    </>
  ) : (
    <p className="muted">
      It gives the {isRoleMethod(account.method) ? 'role' : 'user'} its policies as they should be
      now.
    </p>
  );
  if ((update.madeWith === 'cloudformation' || update.madeWith === 'quick_create') && cfn) {
    const isJson = cfn.template.trimStart().startsWith('{');
    return (
      <>
        <p>
          The role was made with the CloudFormation stack <code>{cfn.stackName}</code>. Update that
          stack with the new template: the role and what it trusts stay the same.
          {account.roleOrigin === 'stack_callback'
            ? ` The stack reports back to ${brandName}: once its update completes, ${brandName} verifies it by itself.`
            : ''}
        </p>
        {diff}
        <Artefact title="1. Preview the change (optional)">
          <p className="muted">Creates a change set you can review before anything changes.</p>
          <CopyValue value={cfn.changeSetCommand} multiline />
        </Artefact>
        <Artefact title="2. Update the stack">
          <div className="download-row">
            <DownloadButton
              text={cfn.template}
              filename={`${cfn.stackName}.${isJson ? 'json' : 'yaml'}`}
              type={isJson ? 'application/json' : 'application/yaml'}
              label="Download the template"
            />
            <CopyButton value={cfn.template} label="Copy the template" />
            {cfn.updateStackUrl ? (
              <a
                className="btn btn-secondary"
                href={cfn.updateStackUrl}
                target="_blank"
                rel="noreferrer"
              >
                Update the stack in the AWS console
              </a>
            ) : null}
          </div>
          <p className="field-label">Or deploy it with the AWS CLI</p>
          <CopyValue value={cfn.deployCommand} multiline />
        </Artefact>
      </>
    );
  }
  if (update.madeWith === 'terraform' && update.terraform) {
    return (
      <>
        <p>
          Replace the Terraform configuration you applied with this one, then run{' '}
          <code>terraform plan</code> to see the change and <code>terraform apply</code>.
        </p>
        {account.method === 'oidc_role' ? (
          <Alert tone="info" title="Keep existing_oidc_provider_arn as it was">
            Apply it with the same <code>existing_oidc_provider_arn</code> as the first time: empty
            when this configuration created the identity provider, the provider’s ARN when the
            account had one. Another value would make Terraform plan to destroy the provider (other
            roles may trust it) or to create a second one: the plan must list policy changes only.
          </Alert>
        ) : null}
        <Artefact title="What changed">{diff}</Artefact>
        <Artefact title="The new configuration">
          <div className="download-row">
            <DownloadButton
              text={update.terraform.file}
              filename="onramp.tf"
              type="text/plain"
              label="Download Terraform"
            />
            <CopyButton value={update.terraform.file} label="Copy the configuration" />
          </div>
          <details className="findings-summary">
            <summary>Show the file</summary>
            <pre className="policy-document">{update.terraform.file}</pre>
          </details>
        </Artefact>
      </>
    );
  }
  const who = update.madeWith === 'access_keys' ? 'the IAM user' : 'the role';
  return (
    <>
      <p>
        {update.madeWith === 'access_keys'
          ? `Replace the policies of the IAM user whose keys ${brandName} uses (${account.principalArn}) with these.`
          : `Replace the policies of ${who} (${account.principalArn}) with these documents.`}
      </p>
      <Artefact title="What changed">{diff}</Artefact>
      {update.steps.length > 0 ? (
        <ol className="manual-steps">
          {update.steps.map((step) => (
            <li key={step.title} className="manual-step">
              <h3>{step.title}</h3>
              <p>{step.detail}</p>
            </li>
          ))}
        </ol>
      ) : null}
      {update.policies.map((policy) => (
        <Artefact key={policy.name} title={`Policy ${policy.name}`}>
          <CopyValue value={JSON.stringify(policy.document, null, 2)} multiline />
        </Artefact>
      ))}
    </>
  );
}

function Artefact({ title, children }: { title: string; children: ReactNode }) {
  const id = useId();
  return (
    <section className="update-artefact" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {children}
    </section>
  );
}

/** A file the API answered in its body, offered as a download without another request. */
function DownloadButton({
  text,
  filename,
  type,
  label,
}: {
  text: string;
  filename: string;
  type: string;
  label: string;
}) {
  return (
    <a
      className="btn btn-primary"
      href={`data:${type};charset=utf-8,${encodeURIComponent(text)}`}
      download={filename}
    >
      {label}
    </a>
  );
}

/** What B2's checks read of the role's or user's own policies (absent when they could not be read). */
interface ExtraPermissions {
  extra?: { policy: string; actions: string[] }[];
  extraCheckedAt?: string;
}

/**
 * Least privilege the other way: actions the role's or user's own policies allow that no chosen
 * feature needs, per policy, so the tenant can remove them.
 */
export function RemovablePermissions({ account }: { account: Account }) {
  const { extra, extraCheckedAt } = (account.permissions ?? {}) as ExtraPermissions;
  const listed = extra?.filter((e) => e.actions.length > 0) ?? [];
  if (listed.length === 0) return null;
  const count = listed.reduce((n, e) => n + e.actions.length, 0);
  const identity = isRoleMethod(account.method) ? 'role' : 'IAM user';
  return (
    <div className="removable-permissions">
      <h3>Removable permissions</h3>
      <p className="muted">
        The {identity}’s policies allow {count} action{count === 1 ? '' : 's'} that no chosen
        feature needs{extraCheckedAt ? ` (read ${dateTime(extraCheckedAt)})` : ''}. If nothing else
        uses them, remove them from these policies in AWS.
      </p>
      <div className="findings">
        {listed.map((e) => (
          <div key={e.policy} className="finding finding-remove" data-policy={e.policy}>
            <strong className="wrap">{e.policy}</strong>
            <p>
              <ActionList actions={e.actions} />
            </p>
          </div>
        ))}
      </div>
    </div>
  );
}
