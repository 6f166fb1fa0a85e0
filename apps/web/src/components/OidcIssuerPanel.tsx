import type { OidcSigningKey, OidcStatus, OnrampClient } from '@onramp/sdk';
import { useCallback, useEffect, useState } from 'react';
import { dateTime, PARTITION_LABELS } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { Alert, Button, Card, CopyValue, Modal, Spinner, StatusBadge } from './ui.tsx';

const KEY_STATES: Record<OidcSigningKey['state'], [string, string]> = {
  next: ['Next', 'published, signs later'],
  signing: ['Signing', 'signs every new token'],
  retired: ['Retired', 'published until its tokens expire'],
};

/** "30 days", "24 hours", "5 minutes": the issuer's periods as configured. */
function period(seconds: number): string {
  const units: [string, number][] = [
    ['day', 86_400],
    ['hour', 3_600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/**
 * Onramp's OpenID Connect issuer, for the operator: whether keyless roles are offered (and what to set
 * when not), the documents AWS fetches, the signing keys and their states, where the documents are
 * published, and a rotation (the new key is published first and signs after the pre-publication
 * period, unless it must sign at once because a key leaked).
 */
export function OidcIssuerPanel({ client }: { client: OnrampClient }) {
  const [status, setStatus] = useState<OidcStatus | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [immediate, setImmediate] = useState(false);
  const [busy, setBusy] = useState(false);
  const [rotateError, setRotateError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();

  const load = useCallback(
    () =>
      client.oidc.status().then(
        (loaded) => {
          setStatus(loaded);
          setError(undefined);
        },
        (failure: unknown) => setError(describeError(failure)),
      ),
    [client],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const rotate = async () => {
    setBusy(true);
    setRotateError(undefined);
    try {
      const key = await client.oidc.rotate(immediate ? { immediate: true } : {});
      setNotice(
        key.state === 'signing'
          ? `Key ${key.kid} signs from now. The previous key stays published until the tokens it signed have expired.`
          : `Key ${key.kid} is published and signs from ${dateTime(key.signsFrom)}.`,
      );
      setConfirming(false);
      await load();
    } catch (failure) {
      setRotateError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  if (error) return <Alert tone="danger">{error}</Alert>;
  if (!status) return <Spinner />;
  return (
    <>
      <Card
        title="OpenID Connect issuer"
        actions={
          status.offered ? (
            <Button onClick={() => setConfirming(true)}>Rotate signing key</Button>
          ) : null
        }
      >
        <p>
          <StatusBadge status={status.offered ? 'enabled' : 'disabled'} />{' '}
          {status.offered ? 'Keyless IAM roles are offered' : 'Keyless IAM roles are not offered'}
        </p>
        {status.unavailableReason ? <Alert tone="info">{status.unavailableReason}</Alert> : null}
        {notice ? <Alert tone="success">{notice}</Alert> : null}
        <dl className="facts">
          {status.issuer ? (
            <div>
              <dt>Issuer URL</dt>
              <dd>
                <CopyValue value={status.issuer} />
              </dd>
            </div>
          ) : null}
          {status.discoveryUrl ? (
            <div>
              <dt>Discovery document</dt>
              <dd>
                <code className="wrap">{status.discoveryUrl}</code>
              </dd>
            </div>
          ) : null}
          {status.jwksUri ? (
            <div>
              <dt>JWKS</dt>
              <dd>
                <code className="wrap">{status.jwksUri}</code>
              </dd>
            </div>
          ) : null}
          <div>
            <dt>Audiences</dt>
            <dd>
              {Object.entries(status.audiences).map(([partition, audience]) => (
                <div key={partition}>
                  {PARTITION_LABELS[partition] ?? partition}: <code>{audience}</code>
                </div>
              ))}
            </dd>
          </div>
          <div>
            <dt>Keys</dt>
            <dd>
              {status.algorithm}; a new key every {period(status.rotationSeconds)}, published{' '}
              {period(status.prePublicationSeconds)} before it signs; tokens live{' '}
              {period(status.tokenLifetimeSeconds)}.
            </dd>
          </div>
        </dl>
        {status.issuer ? (
          <p className="muted small">
            AWS fetches the discovery document and the JWKS from the issuer URL when a role is
            assumed: they must be reachable from the internet over https.
          </p>
        ) : null}
      </Card>
      <Card title="Signing keys">
        {status.keys.length === 0 ? (
          <p className="muted">No key yet: Onramp makes the first one when it starts.</p>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <caption className="visually-hidden">Signing keys, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Key ID</th>
                  <th scope="col">State</th>
                  <th scope="col">Signs from</th>
                  <th scope="col">Retired</th>
                  <th scope="col">In the JWKS</th>
                </tr>
              </thead>
              <tbody>
                {status.keys.map((key) => (
                  <tr key={key.kid}>
                    <td>
                      <code>{key.kid}</code> <span className="muted small">{key.algorithm}</span>
                    </td>
                    <td>
                      <strong>{KEY_STATES[key.state][0]}</strong>{' '}
                      <span className="muted small">{KEY_STATES[key.state][1]}</span>
                    </td>
                    <td>{dateTime(key.signsFrom)}</td>
                    <td>{key.retiredAt ? dateTime(key.retiredAt) : '—'}</td>
                    <td>
                      {key.published
                        ? key.unpublishAt
                          ? `Until ${dateTime(key.unpublishAt)}`
                          : 'Yes'
                        : 'No'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {status.publish.length > 0 ? (
        <Card title="Published copies">
          <p className="muted">
            Onramp copies the discovery document and the JWKS here on every key change.
          </p>
          <ul className="publish-targets">
            {status.publish.map((target) => (
              <li key={target.target}>
                <code>{target.target}</code>{' '}
                {target.lastResult ? (
                  <>
                    <StatusBadge status={target.lastResult.ok ? 'valid' : 'failed'} />{' '}
                    <span className="muted small">{dateTime(target.lastResult.at)}</span>
                    {target.lastResult.error ? (
                      <span className="field-error"> {target.lastResult.error}</span>
                    ) : null}
                  </>
                ) : (
                  <span className="muted small">not published yet by this replica</span>
                )}
              </li>
            ))}
          </ul>
        </Card>
      ) : null}
      {confirming ? (
        <Modal title="Rotate the signing key?" onClose={() => setConfirming(false)}>
          <p>
            Onramp makes a new key and publishes it at once. It signs after{' '}
            {period(status.prePublicationSeconds)}, so AWS has it before any token does; the current
            key stays published until the tokens it signed have expired. Connected roles keep
            working throughout.
          </p>
          <label className="choice">
            <input
              type="checkbox"
              checked={immediate}
              onChange={(event) => setImmediate(event.target.checked)}
            />
            <span>
              <strong>Sign with the new key at once</strong>
              <span className="choice-description">
                For a key that leaked: the new key signs without waiting for the pre-publication
                period. The replaced key stays in the JWKS until the tokens it signed have expired.
              </span>
            </span>
          </label>
          {rotateError ? <Alert tone="danger">{rotateError}</Alert> : null}
          <div className="form-actions">
            <Button onClick={() => setConfirming(false)}>Cancel</Button>
            <Button variant="primary" busy={busy} onClick={() => void rotate()}>
              Rotate
            </Button>
          </div>
        </Modal>
      ) : null}
    </>
  );
}
