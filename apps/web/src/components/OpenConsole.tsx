import { type Account, ApiProblem } from '@onramp/sdk';
import { useState } from 'react';
import { dateTime, isRoleMethod } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { useConsole } from '../lib/session.tsx';
import { Alert, Button, Card } from './ui.tsx';

/**
 * Redis Cloud's "console role": the AWS console of a role account, signed in as the connected role. The
 * API makes a one-time federation sign-in link (POST /v1/accounts/:id/console-link), for people who may
 * change the account (tenant admins, operator staff), never for API tokens or viewers, so the button is
 * shown only to them. The link signs in whoever opens it: it is opened at once and never shown.
 */
export function OpenConsole({ account }: { account: Account }) {
  const { client, canWrite } = useConsole();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const [opened, setOpened] = useState<string | undefined>();
  if (!canWrite || !isRoleMethod(account.method)) return null;

  const open = async () => {
    setBusy(true);
    setError(undefined);
    // Opened now, while the click still counts as the user's, or the browser blocks the pop-up; the
    // link goes in once Onramp has made it.
    const tab = window.open('', '_blank');
    if (tab) tab.opener = null;
    try {
      const link = await client.accounts.consoleLink(account.id);
      if (tab && !tab.closed) tab.location.href = link.url;
      else window.location.assign(link.url);
      setOpened(link.sessionExpiresAt);
    } catch (failure) {
      tab?.close();
      // The problem's hints say what to do (check the role's trust policy, …): shown with it.
      const hints =
        failure instanceof ApiProblem
          ? failure.errors.map((e) => e.hint).filter((h): h is string => Boolean(h))
          : [];
      setError([describeError(failure), ...new Set(hints)].join(' '));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card
      title="AWS console"
      actions={
        <Button variant="primary" busy={busy} onClick={() => void open()}>
          Open AWS console
        </Button>
      }
    >
      <p className="muted">
        Opens the AWS console in a new tab, signed in as the connected role ({account.roleArn}): a
        federated session with the role’s permissions only, named after you and recorded in the
        audit log. The sign-in link works once within 15 minutes; the session lasts up to an hour.
      </p>
      {opened ? (
        <Alert tone="success">Opened in a new tab; that session ends {dateTime(opened)}.</Alert>
      ) : null}
      {error ? (
        <Alert tone="danger" title="The console could not be opened">
          {error}
        </Alert>
      ) : null}
    </Card>
  );
}
