import type { Connection } from '@onramp/sdk';
import { useCallback, useEffect, useState } from 'react';
import { useBranding } from '../lib/branding.tsx';
import { dateTime, PARTITION_LABELS, timeAgo } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { navigate } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';
import { Alert, Button, Card, Modal } from './ui.tsx';

/**
 * Role set-ups started in the wizard and not connected yet, until they expire: "Resume" returns to the
 * wizard with the same connection (and external ID), "Discard" deletes it. Shown to those who can add
 * accounts; nothing at all when there are none.
 */
export function PendingConnections() {
  const { name: brandName } = useBranding();
  const { client, canWrite, tenantId } = useConsole();
  const [pending, setPending] = useState<Connection[]>([]);
  const [error, setError] = useState<string | undefined>();
  const [discarding, setDiscarding] = useState<Connection | undefined>();
  const [busy, setBusy] = useState(false);

  // biome-ignore lint/correctness/useExhaustiveDependencies: read again when the tenant changes
  const load = useCallback(async () => {
    try {
      // Every page: a tenant's pending set-ups are capped (ONRAMP_MAX_PENDING_CONNECTIONS).
      const all: Connection[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.connections.list({
          status: 'pending',
          limit: 200,
          ...(cursor ? { cursor } : {}),
        });
        all.push(...page.connections);
        cursor = page.next ?? undefined;
      } while (cursor);
      setPending(all);
      setError(undefined);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [client, tenantId]);

  useEffect(() => {
    if (canWrite) void load();
  }, [canWrite, load]);

  if (!canWrite || (pending.length === 0 && !error)) return null;

  const discard = async (connection: Connection) => {
    setBusy(true);
    try {
      await client.connections.delete(connection.id);
      setDiscarding(undefined);
      await load();
    } catch (failure) {
      setError(describeError(failure));
      setDiscarding(undefined);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card title="Set-ups not finished">
      <p className="muted">
        Roles you started to set up and have not connected yet. Resume keeps the same external ID
        (or, for a keyless role, the same subject), so a role you already created still connects.
      </p>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      <ul className="pending-list" aria-label="Pending connections">
        {pending.map((connection) => (
          <li key={connection.id} className="pending-item">
            <div>
              <strong>{connection.name}</strong>{' '}
              <span className="muted">
                {PARTITION_LABELS[connection.partition] ?? connection.partition} ·{' '}
                {connection.method === 'oidc_role' ? 'keyless role' : 'role'}{' '}
                <code>{connection.roleName}</code> · started {timeAgo(connection.createdAt)}
              </span>
              <div className="muted small" title={dateTime(connection.expiresAt)}>
                Can be resumed until {dateTime(connection.expiresAt)}
              </div>
            </div>
            <div className="pending-actions">
              <Button
                variant="primary"
                aria-label={`Resume ${connection.name}`}
                onClick={() => navigate(`/accounts/new/${connection.id}?step=create`)}
              >
                Resume
              </Button>
              <Button
                variant="ghost"
                aria-label={`Discard ${connection.name}`}
                onClick={() => setDiscarding(connection)}
              >
                Discard
              </Button>
            </div>
          </li>
        ))}
      </ul>
      {discarding ? (
        <Modal title={`Discard ${discarding.name}?`} onClose={() => setDiscarding(undefined)}>
          <p>
            {brandName} forgets this set-up and its{' '}
            {discarding.method === 'oidc_role' ? 'subject' : 'external ID'}. A role already created
            for it can no longer be connected; delete it in AWS too.
          </p>
          <div className="form-actions">
            <Button onClick={() => setDiscarding(undefined)}>Keep it</Button>
            <Button variant="danger" busy={busy} onClick={() => void discard(discarding)}>
              Discard set-up
            </Button>
          </div>
        </Modal>
      ) : null}
    </Card>
  );
}
