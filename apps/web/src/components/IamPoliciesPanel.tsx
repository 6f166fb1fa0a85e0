import type { IamPolicyPage } from '@onramp/sdk';
import { useEffect, useId, useState } from 'react';
import { describeError } from '../lib/forms.ts';
import { useClient } from '../lib/session.tsx';
import { Alert, Button, Field, Spinner, TextInput } from './ui.tsx';

type Policy = IamPolicyPage['policies'][number];

/** Palette's "Add IAM policies": the account's policies, searchable, to attach to its role or user. */
export function IamPoliciesPanel({
  accountId,
  canWrite,
}: {
  accountId: string;
  canWrite: boolean;
}) {
  const client = useClient();
  const id = useId();
  const [scope, setScope] = useState<'aws' | 'local'>('aws');
  const [q, setQ] = useState('');
  const [policies, setPolicies] = useState<Policy[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const [attached, setAttached] = useState<string[]>([]);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let current = true;
    setPolicies(undefined);
    const timer = setTimeout(() => {
      // `reload` re-reads the list after attaching.
      void reload;
      client.accounts.iamPolicies(accountId, { scope, ...(q ? { q } : {}), limit: 50 }).then(
        (page) => {
          if (!current) return;
          setPolicies(page.policies);
          setNext(page.next);
          setError(undefined);
        },
        (failure: unknown) => {
          if (!current) return;
          setPolicies([]);
          setError(describeError(failure));
        },
      );
    }, 250);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, accountId, scope, q, reload]);

  const loadMore = async () => {
    if (!next) return;
    try {
      const page = await client.accounts.iamPolicies(accountId, {
        scope,
        ...(q ? { q } : {}),
        cursor: next,
      });
      setPolicies([...(policies ?? []), ...page.policies]);
      setNext(page.next);
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  const attach = async () => {
    setBusy(true);
    try {
      const result = await client.accounts.attachIamPolicies(accountId, {
        policyArns: [...chosen],
      });
      setAttached(result.attached);
      setChosen(new Set());
      setReload(reload + 1);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="iam-policies">
      <div className="toolbar">
        <Field label="Search policies">
          <TextInput
            type="search"
            value={q}
            placeholder="ReadOnly, S3…"
            onChange={(event) => setQ(event.target.value)}
          />
        </Field>
        <fieldset className="segmented">
          <legend className="field-label">Policies</legend>
          {(
            [
              ['aws', 'AWS managed'],
              ['local', 'Customer managed'],
            ] as const
          ).map(([value, label]) => (
            <label key={value} className="segment">
              <input
                type="radio"
                name={`${id}-scope`}
                checked={scope === value}
                onChange={() => setScope(value)}
              />
              <span>{label}</span>
            </label>
          ))}
        </fieldset>
      </div>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {attached.length > 0 ? (
        <Alert tone="success">
          Attached {attached.length} polic{attached.length === 1 ? 'y' : 'ies'}.
        </Alert>
      ) : null}
      {!policies ? (
        <Spinner label="Reading the account's policies…" />
      ) : policies.length === 0 && !error ? (
        <p className="muted">No policies match.</p>
      ) : (
        <ul className="policy-list">
          {policies.map((policy) => (
            <li key={policy.arn}>
              <label className="policy-item">
                <input
                  type="checkbox"
                  disabled={!canWrite || policy.attached}
                  checked={policy.attached || chosen.has(policy.arn)}
                  onChange={(event) => {
                    const nextChosen = new Set(chosen);
                    if (event.target.checked) nextChosen.add(policy.arn);
                    else nextChosen.delete(policy.arn);
                    setChosen(nextChosen);
                  }}
                />
                <span>
                  <strong>{policy.name}</strong>
                  {policy.attached ? <span className="tag">Attached</span> : null}
                  <span className="choice-description">
                    {policy.description || <code>{policy.arn}</code>}
                  </span>
                </span>
              </label>
            </li>
          ))}
        </ul>
      )}
      <div className="form-actions">
        {next ? <Button onClick={() => void loadMore()}>Load more</Button> : null}
        {canWrite ? (
          <Button
            variant="primary"
            disabled={chosen.size === 0 || chosen.size > 10}
            busy={busy}
            onClick={() => void attach()}
          >
            Attach {chosen.size || ''} polic{chosen.size === 1 ? 'y' : 'ies'}
          </Button>
        ) : null}
      </div>
    </div>
  );
}
