import type { Account, Connection } from '@onramp/sdk';
import { useEffect, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { dateTime } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { useConsole } from '../lib/session.tsx';
import { CreateRole } from './CreateRole.tsx';
import { Alert, Button, Card, Modal, Spinner } from './ui.tsx';

const SETUP_LABELS: Record<NonNullable<Connection['setupMethod']>, string> = {
  quick_create: 'a quick-create CloudFormation stack',
  cloudformation: 'the CloudFormation template',
  terraform: 'the Terraform configuration',
  manual: 'the manual steps in the AWS console',
};

/** How the role was made, as far as Onramp knows: who reported it, and which way the tenant chose. */
export function describeRoleOrigin(
  account: Account,
  connection: Connection,
  brand: string,
): string {
  if (account.roleOrigin === 'stack_callback')
    return `Created by a CloudFormation stack, which reported the role back to ${brand} by itself.`;
  const chosen = connection.setupMethod ? SETUP_LABELS[connection.setupMethod] : undefined;
  if (account.roleOrigin === 'pasted_arn')
    return chosen
      ? `The role ARN was pasted; the role was set up with ${chosen}.`
      : `The role ARN was pasted; ${brand} does not know how the role was created.`;
  return chosen
    ? `Set up with ${chosen}.`
    : `Connected before ${brand} recorded how roles were made.`;
}

/**
 * The role of a role account, always in view: the principal it trusts, the external ID Onramp
 * presents, the role name, how it was made, and the current templates and steps (the connection's).
 * Regenerating the external ID keeps the old one accepted for a grace period. A keyless role shows
 * the issuer, audience and subject it trusts instead: it has no external ID to regenerate.
 */
export function RoleDetails({ account }: { account: Account }) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const [connection, setConnection] = useState<Connection | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | undefined>();

  // Read again whenever the account changes (a check may have switched to the new external ID).
  // biome-ignore lint/correctness/useExhaustiveDependencies: updatedAt and lastCheckedAt stand for the account
  useEffect(() => {
    if (!account.connectionId) return;
    let current = true;
    client.connections.get(account.connectionId).then(
      (loaded) => {
        if (!current) return;
        setConnection(loaded);
        // A regeneration announced here has been taken into use by the check just run.
        if (loaded.externalIdInUse === loaded.externalId)
          setNotice((shown) => (shown ? `${brandName} now uses the new external ID.` : shown));
      },
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, account.connectionId, account.updatedAt, account.lastCheckedAt]);

  if (!account.connectionId) return null;
  if (account.method === 'oidc_role') {
    return (
      <Card title="Role and identity provider">
        {error ? <Alert tone="danger">{error}</Alert> : null}
        {!connection ? (
          error ? null : (
            <Spinner />
          )
        ) : (
          <div className="role-details" id="role-details">
            <p className="muted">{describeRoleOrigin(account, connection, brandName)}</p>
            <CreateRole connection={connection} />
          </div>
        )}
      </Card>
    );
  }
  if (account.method !== 'role') return null;

  const regenerate = async () => {
    setBusy(true);
    try {
      setConnection(await client.accounts.regenerateExternalId(account.id));
      setNotice(
        'A new external ID was generated. Update the role’s trust policy with the template below; the old ID keeps working meanwhile.',
      );
      setConfirming(false);
    } catch (failure) {
      setError(describeError(failure));
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  const waiting =
    connection?.externalIdInUse && connection.externalIdInUse !== connection.externalId;

  return (
    <Card
      title="Role and external ID"
      actions={
        canWrite && connection ? (
          <Button onClick={() => setConfirming(true)}>Regenerate external ID</Button>
        ) : null
      }
    >
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {notice ? <Alert tone="success">{notice}</Alert> : null}
      {!connection ? (
        error ? null : (
          <Spinner />
        )
      ) : (
        <div className="role-details" id="role-details">
          <p className="muted">{describeRoleOrigin(account, connection, brandName)}</p>
          {waiting ? (
            <Alert tone="warning" title="The role does not accept the new external ID yet">
              {brandName} keeps signing in with the previous one,{' '}
              <code>{connection.externalIdInUse}</code>, until a check with the new one passes.
              Update the role’s trust policy: update the stack with the CloudFormation template
              below, apply the Terraform configuration again, or replace the trust policy by hand
              (the manual steps). Then choose Check now. The previous ID stays in the templates
              until {dateTime(connection.previousExternalIdUntil)}.
            </Alert>
          ) : connection.previousExternalId ? (
            <Alert tone="info" title={`${brandName} uses the new external ID`}>
              The previous one stays in the templates’ trust policy until{' '}
              {dateTime(connection.previousExternalIdUntil)}, then only the new one is listed.
            </Alert>
          ) : null}
          <CreateRole connection={connection} />
        </div>
      )}
      {confirming ? (
        <Modal title="Regenerate the external ID?" onClose={() => setConfirming(false)}>
          <p>
            {brandName} generates a new external ID. The templates then accept both the new and the
            current one, and {brandName} keeps using the current one until the role accepts the new
            one (a check with it passes). After the grace period the current one is dropped from the
            templates.
          </p>
          <div className="form-actions">
            <Button onClick={() => setConfirming(false)}>Cancel</Button>
            <Button variant="primary" busy={busy} onClick={() => void regenerate()}>
              Regenerate
            </Button>
          </div>
        </Modal>
      ) : null}
    </Card>
  );
}
