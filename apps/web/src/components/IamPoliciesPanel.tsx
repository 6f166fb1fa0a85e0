import type { Account, Catalog, IamPolicyPage } from '@onramp/sdk';
import { type ReactNode, useEffect, useId, useState } from 'react';
import { isRoleMethod, PARTITION_LABELS } from '../lib/format.ts';
import { describeError } from '../lib/forms.ts';
import { useClient } from '../lib/session.tsx';
import { Alert, Button, Field, Spinner, TextInput } from './ui.tsx';

type Policy = IamPolicyPage['policies'][number];

/** The catalog bundle that lets Onramp list and attach an account's IAM policies (the API's gate). */
export const IAM_POLICY_ATTACHMENT_BUNDLE = 'iam-policy-attachment';

export type IamPoliciesOffer =
  | { kind: 'enabled' }
  | { kind: 'add'; bundleName: string }
  | { kind: 'unavailable'; reason: string };

/** Whether "Add IAM policies" can be offered for an account, and if not, why and what to do. */
export function iamPoliciesOffer(
  catalog: Catalog,
  account: Pick<Account, 'partition' | 'bundles' | 'method'>,
): IamPoliciesOffer {
  if (account.bundles.includes(IAM_POLICY_ATTACHMENT_BUNDLE)) return { kind: 'enabled' };
  const identity = isRoleMethod(account.method) ? 'role' : 'IAM user';
  const bundle = catalog.products
    .flatMap((p) => p.bundles)
    .find((b) => b.id === IAM_POLICY_ATTACHMENT_BUNDLE);
  if (!bundle) {
    return {
      kind: 'unavailable',
      reason: `This platform does not offer attaching existing IAM policies; attach them to the ${identity} in the AWS console.`,
    };
  }
  const offer = catalog.partitions.find((p) => p.partition === account.partition);
  if (!offer?.availableBundles.includes(bundle.id)) {
    const name = PARTITION_LABELS[account.partition] ?? account.partition;
    return {
      kind: 'unavailable',
      reason: `${offer && !offer.customizable ? `Permissions cannot be customised in ${name}: accounts there get the default permissions only, so attaching existing IAM policies is not offered.` : `Attaching existing IAM policies is not offered in ${name}.`} Attach them to the ${identity} in the AWS console instead.`,
    };
  }
  return { kind: 'add', bundleName: bundle.name };
}

/**
 * Palette's "Add IAM policies" switch for an account: offered only when the account has the
 * permissions it needs; otherwise it says how to add them (`changePermissions`), or that the
 * partition does not offer them.
 */
export function AddIamPolicies({
  account,
  catalog,
  canWrite,
  changePermissions,
}: {
  account: Pick<Account, 'id' | 'partition' | 'bundles' | 'method'>;
  catalog: Catalog;
  canWrite: boolean;
  /** Where a tenant admin changes the account's permissions (a button, or a pointer to a card). */
  changePermissions?: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const offer = iamPoliciesOffer(catalog, account);
  const identity = isRoleMethod(account.method) ? 'role' : 'user';
  if (offer.kind === 'unavailable') {
    return (
      <p className="muted" data-testid="iam-policies-offer">
        {offer.reason}
      </p>
    );
  }
  if (offer.kind === 'add') {
    return (
      <Alert tone="info" title="Add IAM policies needs one more permission">
        <p data-testid="iam-policies-offer">
          To list this account’s IAM policies and attach them to its {identity}, the account needs “
          {offer.bundleName}”.{' '}
          {canWrite
            ? `Add it with Change permissions, give the ${identity} its new policy in AWS, then save.`
            : 'Ask a tenant admin to add it with Change permissions.'}
        </p>
        {canWrite && changePermissions ? changePermissions : null}
      </Alert>
    );
  }
  return (
    <>
      <div className="switch-row">
        <button
          type="button"
          role="switch"
          aria-checked={open}
          aria-label="Add IAM policies"
          className="switch"
          onClick={() => setOpen(!open)}
        >
          <span className="switch-thumb" aria-hidden="true" />
        </button>
        <span>Add IAM policies</span>
        <span className="muted">Attach existing policies of the account to its {identity}.</span>
      </div>
      {open ? <IamPoliciesPanel accountId={account.id} canWrite={canWrite} /> : null}
    </>
  );
}

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
  const [attachError, setAttachError] = useState<string | undefined>();
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
          // What AWS attached is no longer a choice (after a refusal, some of them may be).
          const now = new Set(page.policies.filter((p) => p.attached).map((p) => p.arn));
          setChosen((before) => new Set([...before].filter((arn) => !now.has(arn))));
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
      setAttachError(undefined);
      setChosen(new Set());
      setReload(reload + 1);
    } catch (failure) {
      // AWS may have attached some before refusing one: re-read the list to show which.
      setAttached([]);
      setAttachError(describeError(failure));
      setReload(reload + 1);
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
      {attachError ? <Alert tone="danger">{attachError}</Alert> : null}
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
