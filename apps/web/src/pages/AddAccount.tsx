import {
  createAccountRequestSchema,
  createConnectionRequestSchema,
  methodSchema,
} from '@onramp/contracts';
import type {
  Account,
  AccountNotice,
  Catalog,
  Connection,
  CreateAccountInput,
  PartitionOffer,
  UpdateConnectionInput,
  ValidationResult,
} from '@onramp/sdk';
import { ApiProblem } from '@onramp/sdk';
import { useEffect, useId, useRef, useState } from 'react';
import { AccessKeysFields } from '../components/AccessKeysFields.tsx';
import { CreateRole } from '../components/CreateRole.tsx';
import { DedicatedUser } from '../components/DedicatedUser.tsx';
import { AddIamPolicies } from '../components/IamPoliciesPanel.tsx';
import { PartitionMismatch, PartitionSwitch } from '../components/PartitionSwitch.tsx';
import { type PermissionSelection, PermissionsPicker } from '../components/PermissionsPicker.tsx';
import { StackWaiting } from '../components/StackWaiting.tsx';
import {
  Alert,
  Button,
  Card,
  ChoiceCard,
  Field,
  Modal,
  PageHeader,
  Spinner,
  StatusBadge,
  TextInput,
} from '../components/ui.tsx';
import {
  canSaveDegraded,
  lackingFeatures,
  onlyMissingPermissions,
  ValidationReport,
} from '../components/ValidationReport.tsx';
import {
  NameAndDescriptionFields,
  ProblemsElsewhere,
  Stepper,
  useOffersAndCatalog,
} from '../components/Wizard.tsx';
import { useBranding } from '../lib/branding.tsx';
import {
  dateTime,
  exampleRoleArn,
  isRoleMethod,
  METHOD_LABELS,
  PARTITION_LABELS,
} from '../lib/format.ts';
import { describeError, type FieldErrors, problemErrors, validateWith } from '../lib/forms.ts';
import { Link, matchPath, navigate, useLocation } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';

/** Step 1 is checked with the same schema as the connection request it becomes. */
export const detailsSchema = createConnectionRequestSchema
  .pick({ name: true, description: true, partition: true })
  .extend({ method: methodSchema });

type Method = 'role' | 'oidc_role' | 'access_keys';
/**
 * The wizard's choices, in the order shown. A keyless role comes first where offered: no keys
 * anywhere, no external ID to keep, sessions up to 12 hours.
 */
const METHODS: Method[] = ['oidc_role', 'role', 'access_keys'];
/** The method chosen first in a partition: the first of METHODS it offers. */
function preferredMethod(offer: PartitionOffer | undefined): Method {
  return METHODS.find((m) => offer?.methods.includes(m)) ?? 'access_keys';
}
/** How each method reaches the account, in the words of the platform (`brand`) the customer uses. */
function methodDescriptions(brand: string): Record<Method, string> {
  return {
    oidc_role: `A role that trusts ${brand}’s own OpenID Connect issuer. No keys anywhere, no external ID to keep, and sessions of up to 12 hours.`,
    role: `A role in your account that trusts ${brand}, with an external ID only ${brand} knows. No long-lived secret leaves your account.`,
    access_keys: 'The access keys of a dedicated IAM user. Use them where roles are not possible.',
  };
}
type Step = 'details' | 'permissions' | 'credentials' | 'done';
const STEPS: { id: Step; title: string }[] = [
  { id: 'details', title: 'Account' },
  { id: 'permissions', title: 'Permissions' },
  { id: 'credentials', title: 'Connect' },
  { id: 'done', title: 'Done' },
];
/**
 * Errors shown beside their field on each step; any other is listed above the step (a name taken
 * since the first step is refused on Save, when the Name field is no longer on the page).
 */
function fieldsShownOn(step: Step, method: Method): string[] {
  if (step === 'details') return ['name', 'description', 'partition', 'method'];
  if (step !== 'credentials') return [];
  return isRoleMethod(method)
    ? ['roleArn', 'oidcProvider']
    : ['accessKeyId', 'secretAccessKey', 'partition'];
}
/** The set-up is gone (discarded in another tab, or by a colleague): it cannot go on. */
function isLostSetUp(failure: unknown): boolean {
  return (
    failure instanceof ApiProblem &&
    (failure.status === 404 || failure.errors.some((e) => e.code === 'discarded'))
  );
}
/** How often the wizard asks whether a stack reported its role back. */
const POLL_MS = 3000;

/**
 * The wizard's place lives in the URL: `/accounts/new/<connectionId>?step=…` once a role set-up
 * exists, so a reload or the browser's Back returns to the same connection (and its external ID).
 * The role path calls its third step `create`, the keys path `credentials`.
 */
function stepOf(search: URLSearchParams): Step {
  const step = search.get('step');
  if (step === 'create') return 'credentials';
  return STEPS.some((s) => s.id === step) ? (step as Step) : 'details';
}

function wizardUrl(connectionId: string | undefined, step: Step, method: Method): string {
  const name = step === 'credentials' && isRoleMethod(method) ? 'create' : step;
  return `/accounts/new${connectionId ? `/${connectionId}` : ''}?step=${name}`;
}

/** The picker's `default` when a stored list is exactly the partition's defaults. */
function selectionOf(catalog: Catalog, connection: Connection): PermissionSelection {
  const defaults =
    catalog.partitions.find((p) => p.partition === connection.partition)?.defaultBundles ?? [];
  const isDefault =
    defaults.length === connection.bundles.length &&
    defaults.every((b) => connection.bundles.includes(b));
  return { bundles: isDefault ? 'default' : connection.bundles, regions: connection.regions };
}

export function AddAccountPage() {
  const { offers, catalog, error } = useOffersAndCatalog();
  // Each "Start a new one" is a fresh wizard: nothing of the set-up that cannot go on stays.
  const [run, setRun] = useState(0);
  return (
    <>
      <PageHeader
        title="Add AWS account"
        subtitle="Connect an account with an IAM role (a keyless one is recommended where offered) or with access keys."
        actions={<Link to="/accounts">Cancel</Link>}
      />
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {offers && catalog ? (
        <AddAccountWizard
          key={run}
          offers={offers}
          catalog={catalog}
          onStartOver={() => setRun((n) => n + 1)}
        />
      ) : error ? null : (
        <Spinner />
      )}
    </>
  );
}

export function AddAccountWizard({
  offers,
  catalog,
  onStartOver,
}: {
  offers: PartitionOffer[];
  catalog: Catalog;
  onStartOver?: () => void;
}) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const id = useId();
  const { path, search } = useLocation();
  const step = stepOf(search);
  const urlConnectionId = matchPath('/accounts/new/:connectionId', path)?.connectionId;
  const [details, setDetails] = useState({
    name: '',
    description: '',
    partition: offers[0]?.partition ?? 'aws',
    method: preferredMethod(offers[0]),
  });
  const [selection, setSelection] = useState<PermissionSelection>({
    bundles: 'default',
    regions: [],
  });
  const [connection, setConnection] = useState<Connection | undefined>();
  const [roleArn, setRoleArn] = useState('');
  const [keys, setKeys] = useState({ accessKeyId: '', secretAccessKey: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ValidationResult | undefined>();
  const [validatedKey, setValidatedKey] = useState<string | undefined>();
  const [saved, setSaved] = useState<Account | undefined>();
  const [byStack, setByStack] = useState(false);
  const [switchNote, setSwitchNote] = useState<string | undefined>();
  // Said beside Validate, where the tenant is looking, when another tab changed the set-up's method.
  const [methodNote, setMethodNote] = useState<string | undefined>();
  const [notices, setNotices] = useState<AccountNotice[]>([]);
  const [loadError, setLoadError] = useState<string | undefined>();
  // Why the last "did the stack report back?" question failed; the wizard keeps asking.
  const [pollError, setPollError] = useState<string | undefined>();
  // A second Enter before the first answer must not start a second set-up.
  const inFlight = useRef(false);
  // Nor a second click on Save (or Save anyway) a second account.
  const saving = useRef(false);
  // "Save anyway" asks first which features will not work.
  const [confirming, setConfirming] = useState(false);

  const offer = offers.find((o) => o.partition === details.partition);
  const recommended: Method = offer?.methods.includes('oidc_role') ? 'oidc_role' : 'role';
  const setStep = (next: Step, options: { replace?: boolean } = {}) =>
    navigate(wizardUrl(connection?.id ?? urlConnectionId, next, details.method), options);

  // A reload, the browser's Back or "Resume": the set-up and its choices come from the server.
  useEffect(() => {
    if (!urlConnectionId || connection?.id === urlConnectionId) return;
    let current = true;
    client.connections.get(urlConnectionId).then(
      async (loaded) => {
        if (!current) return;
        setConnection(loaded);
        setDetails({
          name: loaded.name,
          description: loaded.description,
          partition: loaded.partition,
          method: loaded.method,
        });
        setSelection(selectionOf(catalog, loaded));
        if (loaded.status === 'connected' && loaded.accountId) {
          const account = await client.accounts.get(loaded.accountId);
          if (current) setSaved(account);
        }
      },
      (failure: unknown) => current && setLoadError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, catalog, urlConnectionId, connection?.id]);

  const request = (
    partition = details.partition,
    chosen: PermissionSelection = selection,
  ): CreateAccountInput =>
    isRoleMethod(details.method)
      ? {
          // The set-up's own method: what its role was made to trust.
          method: connection?.method ?? details.method,
          connectionId: connection?.id ?? '',
          roleArn,
          name: details.name,
          description: details.description,
        }
      : {
          method: 'access_keys',
          name: details.name,
          description: details.description,
          partition: partition as 'aws',
          accessKeyId: keys.accessKeyId,
          secretAccessKey: keys.secretAccessKey,
          bundles: chosen.bundles,
          regions: chosen.regions,
        };
  const requestKey = JSON.stringify(request());
  const canSave = Boolean(result?.valid) && validatedKey === requestKey;
  /** Only permissions are missing: the tenant may save it degraded, once it confirms what breaks. */
  const canSaveAnyway =
    !canSave && result !== undefined && canSaveDegraded(result) && validatedKey === requestKey;

  // While a stack made from here can report its role back, ask whether it did.
  useEffect(() => {
    if (
      step !== 'credentials' ||
      !isRoleMethod(details.method) ||
      !connection?.reportsBack ||
      saved
    )
      return;
    let current = true;
    const timer = setInterval(() => {
      client.connections.get(connection.id).then(
        async (latest) => {
          if (current) setPollError(undefined);
          if (!current || latest.status !== 'connected' || !latest.accountId) return;
          const account = await client.accounts.get(latest.accountId);
          if (!current) return;
          setSaved(account);
          setByStack(true);
          navigate(wizardUrl(connection.id, 'done', connection.method), { replace: true });
        },
        (failure: unknown) => current && setPollError(describeError(failure)),
      );
    }, POLL_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [client, step, details.method, connection, saved]);

  const goToPermissions = async () => {
    const checked = validateWith(detailsSchema, details);
    if (!checked.ok) return setErrors(checked.errors);
    setMethodNote(undefined);
    if (!offer?.methods.includes(details.method)) {
      return setErrors({
        method: { message: offer?.reason ?? 'This method is not offered in this partition.' },
      });
    }
    setErrors({});
    if (details.method === 'access_keys') return setStep('permissions');
    // One pending set-up per wizard run: made here once, changed afterwards (also between an
    // external-ID and a keyless role). Its external ID and its subject stay.
    const wanted = {
      name: details.name,
      description: details.description,
      partition: details.partition as 'aws',
      method: details.method as 'role' | 'oidc_role',
    };
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    try {
      if (!connection) {
        const made = await client.connections.create({ ...wanted, ...selectionFor(wanted) });
        setConnection(made);
        // Back from the permissions returns to these details, of this set-up.
        navigate(wizardUrl(made.id, 'details', made.method), { replace: true });
        navigate(wizardUrl(made.id, 'permissions', made.method));
        return;
      }
      const partitionChanged = connection.partition !== wanted.partition;
      const changed = await client.connections.update(connection.id, {
        name: wanted.name,
        description: wanted.description,
        partition: wanted.partition,
        ...(connection.method === wanted.method ? {} : { method: wanted.method }),
        // Another partition starts from its own defaults, unless the picker already chose for it.
        ...(partitionChanged ? selectionFor(wanted) : {}),
      });
      setConnection(changed);
      if (partitionChanged) setSelection(selectionOf(catalog, changed));
      setStep('permissions');
    } catch (failure) {
      if (isLostSetUp(failure)) return setLoadError(describeError(failure));
      setErrors(problemErrors(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  /** The picker's choice when it was made for this partition; otherwise the partition's defaults. */
  const selectionFor = (wanted: { partition: string }) =>
    (connection?.partition ?? offers[0]?.partition) === wanted.partition
      ? { bundles: selection.bundles, regions: selection.regions }
      : {};

  const goToCredentials = async () => {
    setErrors({});
    if (details.method === 'access_keys') return setStep('credentials');
    if (!connection) return setStep('details');
    setBusy(true);
    try {
      // The same set-up, with the chosen permissions: the template changes, the external ID does not.
      const changed = await client.connections.update(connection.id, {
        bundles: selection.bundles,
        regions: selection.regions,
      });
      if (JSON.stringify(changed) !== JSON.stringify(connection)) setResult(undefined);
      setConnection(changed);
      setStep('credentials');
    } catch (failure) {
      if (isLostSetUp(failure)) return setLoadError(describeError(failure));
      setErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };

  /** Which way the tenant creates the role, for the account page later; a failure changes nothing. */
  const recordMethod = (setupMethod: NonNullable<UpdateConnectionInput['setupMethod']>) => {
    if (!connection || connection.setupMethod === setupMethod) return;
    client.connections.update(connection.id, { setupMethod }).then(setConnection, () => {});
  };

  /**
   * The set-up's method was changed meanwhile (Back and another choice in a second tab, or by a
   * colleague): the server refuses the old one. Follow the set-up as it is now, saying so.
   */
  const followChangedMethod = async (failure: unknown): Promise<boolean> => {
    if (
      !connection ||
      !(failure instanceof ApiProblem) ||
      !failure.errors.some((e) => e.field === 'method' && e.code === 'method_mismatch')
    )
      return false;
    const latest = await client.connections.get(connection.id).catch(() => undefined);
    if (!latest || latest.method === connection.method) return false;
    setConnection(latest);
    setDetails((shown) => ({ ...shown, method: latest.method }));
    setResult(undefined);
    setErrors({});
    setMethodNote(
      `This set-up was changed meanwhile (in another tab?): it now makes ${
        latest.method === 'oidc_role' ? 'a keyless IAM role' : 'an IAM role with an external ID'
      }. Create that role as shown above, or go Back to choose again.`,
    );
    return true;
  };

  const validate = async (body = request()) => {
    const checked = validateWith(createAccountRequestSchema, body);
    if (!checked.ok) {
      setResult(undefined);
      return setErrors(checked.errors);
    }
    setBusy(true);
    setErrors({});
    try {
      const outcome = await client.accounts.validate(body);
      setResult(outcome);
      setValidatedKey(JSON.stringify(body));
      setErrors(
        Object.fromEntries(
          outcome.errors.map((e) => [
            e.field,
            { message: e.message, hint: e.hint, suggestion: e.suggestion },
          ]),
        ),
      );
    } catch (failure) {
      if (await followChangedMethod(failure)) return;
      setResult(undefined);
      setErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };

  /**
   * Moves the keys to the partition they belong to and validates them there. Regions and customised
   * permissions differ between partitions: those go back to the new partition's defaults, saying so.
   */
  const switchPartition = (partition: PartitionOffer['partition']) => {
    const isDefault = selection.bundles === 'default' && selection.regions.length === 0;
    const chosen: PermissionSelection = isDefault ? selection : { bundles: 'default', regions: [] };
    setDetails({ ...details, partition });
    setSelection(chosen);
    setSwitchNote(
      isDefault
        ? undefined
        : `Permissions are back to the defaults of ${PARTITION_LABELS[partition] ?? partition}: regions and customised permissions differ between partitions.`,
    );
    void validate(request(partition, chosen));
  };

  /**
   * Creates the account. `acceptMissing`: saved degraded although actions are missing (the tenant
   * confirmed which features will not work); it opens on its page, where "Fix now" leads on.
   */
  const save = async (acceptMissing = false) => {
    if (saving.current) return;
    saving.current = true;
    setBusy(true);
    try {
      const account = await client.accounts.create({
        ...request(),
        ...(acceptMissing ? { acceptMissingPermissions: true } : {}),
      });
      setKeys({ accessKeyId: '', secretAccessKey: '' });
      if (acceptMissing) {
        setConfirming(false);
        return navigate(`/accounts/${account.id}`, { replace: true });
      }
      setNotices(account.notices);
      setSaved(account);
      setStep('done', { replace: true });
    } catch (failure) {
      if (isRoleMethod(details.method) && isLostSetUp(failure))
        return setLoadError(describeError(failure));
      if (await followChangedMethod(failure)) return setConfirming(false);
      setConfirming(false);
      // The role lost actions since it was validated: validate again, which offers Save anyway.
      if (!acceptMissing && failure instanceof ApiProblem && onlyMissingPermissions(failure.errors))
        return await validate();
      if (acceptMissing) {
        // Refused although accepted (the server does not allow it, or more than permissions
        // failed now): the errors of permissions have no field on this step, so say it above.
        setErrors({ ...problemErrors(failure), form: { message: describeError(failure) } });
        return;
      }
      setErrors(problemErrors(failure));
      setResult(undefined);
    } finally {
      saving.current = false;
      setBusy(false);
    }
  };

  if (!canWrite) {
    return <Alert tone="warning">Your role can view accounts but not add them.</Alert>;
  }
  if (loadError) {
    return (
      <Alert tone="danger" title="This set-up cannot be resumed">
        {loadError}{' '}
        <Link to="/accounts/new" onClick={onStartOver}>
          Start a new one
        </Link>
      </Alert>
    );
  }
  if (urlConnectionId && connection?.id !== urlConnectionId) return <Spinner />;
  if (connection?.expired) {
    return (
      <Alert tone="warning" title="This set-up expired">
        Pending set-ups can be resumed for a limited time after their last change, and this one has
        passed it. A role created with its external ID cannot be connected any more.{' '}
        <Link to="/accounts/new" onClick={onStartOver}>
          Start a new one
        </Link>
      </Alert>
    );
  }
  if (connection?.status === 'connected' && step !== 'done') {
    return (
      <Alert tone="info" title="This set-up is connected already">
        {connection.accountId ? (
          <Link to={`/accounts/${connection.accountId}`}>Open the account</Link>
        ) : null}
      </Alert>
    );
  }
  const shownByField = fieldsShownOn(step, details.method);
  const otherErrors = Object.entries(errors).filter(
    ([field]) => !shownByField.includes(field) && !field.startsWith('permissions.'),
  );

  return (
    <div className="wizard">
      <Stepper steps={STEPS} current={step} />

      {connection?.status === 'pending' &&
      isRoleMethod(details.method) &&
      step !== 'details' &&
      step !== 'done' ? (
        <p className="muted small" role="note">
          This set-up is saved: reload, go back, or leave and resume it from Cloud accounts until{' '}
          {dateTime(connection.expiresAt)}.{' '}
          {connection.method === 'oidc_role'
            ? 'Its subject stays the same.'
            : 'Its external ID stays the same.'}
        </p>
      ) : null}

      <ProblemsElsewhere errors={otherErrors} />

      {step === 'details' ? (
        <Card title="1. The account">
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              void goToPermissions();
            }}
          >
            <NameAndDescriptionFields
              value={details}
              onChange={setDetails}
              errors={errors}
              placeholder="Production (EU)"
            />
            <fieldset className={`choice-group${errors.partition ? ' field-invalid' : ''}`}>
              <legend className="field-label">Partition</legend>
              <div className="choice-cards">
                {offers.map((o) => (
                  <ChoiceCard
                    key={o.partition}
                    name={`${id}-partition`}
                    value={o.partition}
                    checked={details.partition === o.partition}
                    onChange={() =>
                      setDetails({
                        ...details,
                        partition: o.partition,
                        method: o.methods.includes(details.method)
                          ? details.method
                          : preferredMethod(o),
                      })
                    }
                    title={o.displayName}
                    description={<code>{o.partition}</code>}
                  />
                ))}
              </div>
              {errors.partition ? (
                <p className="field-error" role="alert">
                  {errors.partition.message}
                  {errors.partition.hint ? ` ${errors.partition.hint}` : ''}
                </p>
              ) : null}
              <PartitionSwitch
                error={errors.partition}
                offers={offers}
                onSwitch={(partition) => {
                  setDetails({ ...details, partition });
                  setErrors({});
                }}
              />
            </fieldset>
            <fieldset className={`choice-group${errors.method ? ' field-invalid' : ''}`}>
              <legend className="field-label">How {brandName} signs in</legend>
              <div className="choice-cards">
                {METHODS.filter((m) => m !== 'oidc_role' || offer?.methods.includes(m)).map(
                  (method) => {
                    const offered = offer?.methods.includes(method) ?? false;
                    return (
                      <ChoiceCard
                        key={method}
                        name={`${id}-method`}
                        value={method}
                        disabled={!offered}
                        unavailable={!offered}
                        checked={details.method === method}
                        onChange={() => setDetails({ ...details, method })}
                        title={METHOD_LABELS[method]}
                        tag={method === recommended ? 'Recommended' : undefined}
                        description={methodDescriptions(brandName)[method]}
                        reason={!offered && method === 'role' ? offer?.reason : undefined}
                      />
                    );
                  },
                )}
              </div>
              {offer && !offer.methods.includes('oidc_role') && offer.oidcReason ? (
                <p className="muted small method-note">
                  {METHOD_LABELS.oidc_role}s are not offered here: {offer.oidcReason}
                </p>
              ) : null}
              {errors.method ? (
                <p className="field-error" role="alert">
                  {errors.method.message}
                </p>
              ) : null}
            </fieldset>
            <div className="form-actions">
              <Button type="submit" variant="primary" busy={busy}>
                Next: permissions
              </Button>
            </div>
          </form>
        </Card>
      ) : null}

      {step === 'permissions' ? (
        <Card title="2. Permissions">
          <p className="muted">
            {isRoleMethod(details.method)
              ? `The role gets these permissions; ${brandName} adds read access to the role’s own policies so it can check them.`
              : 'Give the dedicated IAM user these permissions (the policy below).'}
          </p>
          <PermissionsPicker
            catalog={catalog}
            partition={details.partition}
            regions={offer?.regions ?? []}
            value={selection}
            onChange={setSelection}
            principal={isRoleMethod(details.method) ? 'role' : 'user'}
            errors={errors}
          />
          <div className="form-actions">
            <Button onClick={() => setStep('details')}>Back</Button>
            <Button variant="primary" busy={busy} onClick={() => void goToCredentials()}>
              {isRoleMethod(details.method) ? 'Next: create the role' : 'Next: access keys'}
            </Button>
          </div>
        </Card>
      ) : null}

      {step === 'credentials' ? (
        <>
          {isRoleMethod(details.method) && connection ? (
            <Card title="3. Create the role">
              <CreateRole
                connection={connection}
                onMethod={recordMethod}
                providerError={errors.oidcProvider}
              />
            </Card>
          ) : null}
          {details.method === 'access_keys' ? (
            <DedicatedUser partition={details.partition} selection={selection} />
          ) : null}
          <Card title={isRoleMethod(details.method) ? '4. The role ARN' : '3. Access keys'}>
            <form
              noValidate
              autoComplete="off"
              onSubmit={(event) => {
                event.preventDefault();
                void validate();
              }}
            >
              {isRoleMethod(details.method) ? (
                <>
                  <Field
                    label="Role ARN"
                    error={errors.roleArn}
                    description={`The ARN of the role you created, such as ${exampleRoleArn(details.partition, connection?.roleName)}.`}
                  >
                    <TextInput
                      value={roleArn}
                      spellCheck={false}
                      placeholder={exampleRoleArn(details.partition, connection?.roleName)}
                      onChange={(event) => setRoleArn(event.target.value)}
                    />
                  </Field>
                  <StackWaiting
                    waiting={!result?.valid && connection?.reportsBack === true}
                    pollError={result?.valid ? undefined : pollError}
                    checker={brandName}
                  />
                </>
              ) : (
                <>
                  <PartitionMismatch
                    partition={details.partition}
                    error={errors.partition}
                    offers={offers}
                    onSwitch={switchPartition}
                    busy={busy}
                  />
                  {switchNote && !errors.partition ? <Alert tone="info">{switchNote}</Alert> : null}
                  <AccessKeysFields keys={keys} onChange={setKeys} errors={errors} />
                </>
              )}
              {methodNote && !result ? <Alert tone="warning">{methodNote}</Alert> : null}
              {result ? <ValidationReport result={result} /> : null}
              {result?.notices.map((notice) => (
                <Alert key={notice.code} tone="warning">
                  {notice.message}
                </Alert>
              ))}
              <div className="form-actions">
                <Button onClick={() => setStep('permissions')}>Back</Button>
                <Button type="submit" busy={busy}>
                  Validate
                </Button>
                {canSaveAnyway ? (
                  <Button busy={busy} onClick={() => setConfirming(true)}>
                    Save anyway
                  </Button>
                ) : null}
                <Button
                  variant="primary"
                  disabled={!canSave}
                  busy={busy}
                  onClick={() => void save()}
                  title={canSave ? undefined : 'Validate first: Save is enabled once it passes.'}
                >
                  Save account
                </Button>
              </div>
            </form>
          </Card>
          {confirming && result ? (
            <Modal title="Save with missing permissions?" onClose={() => setConfirming(false)}>
              <p>
                {details.name} is saved as <strong>Degraded</strong>. Until its{' '}
                {isRoleMethod(details.method) ? 'role' : 'user'} is given the missing actions, these
                features will not work:
              </p>
              <ul className="lacking-features">
                {lackingFeatures(result).map((name) => (
                  <li key={name}>{name}</li>
                ))}
              </ul>
              <p className="muted">
                Its page shows what to apply, with “Fix now”; {brandName} checks it again after.
              </p>
              <div className="form-actions">
                <Button onClick={() => setConfirming(false)}>Cancel</Button>
                <Button variant="primary" busy={busy} onClick={() => void save(true)}>
                  Save without these features
                </Button>
              </div>
            </Modal>
          ) : null}
        </>
      ) : null}

      {step === 'done' && saved ? (
        <Card title="Account connected">
          <Alert tone="success" title={`${saved.name} is connected`}>
            {byStack ? 'Your stack reported the role back. ' : ''}AWS account{' '}
            <code>{saved.awsAccountId}</code> · <StatusBadge status={saved.status} />
          </Alert>
          {notices.map((notice) => (
            <Alert key={notice.code} tone="warning">
              {notice.message}
            </Alert>
          ))}
          {saved.status === 'degraded' ? (
            <Alert tone="warning" title="Some features lack permissions">
              <p>
                The {isRoleMethod(details.method) ? 'role' : 'user'} lacks actions of{' '}
                {saved.findings
                  .filter((f) => f.missing.length + f.deniedByScp.length > 0)
                  .map((f) => f.bundleName)
                  .join(', ') || 'some features'}
                : they will not work until it is given them.
              </p>
              <Button
                variant="primary"
                onClick={() => navigate(`/accounts/${saved.id}?permissions=update`)}
              >
                Fix now
              </Button>
            </Alert>
          ) : null}
          <AddIamPolicies
            account={saved}
            catalog={catalog}
            canWrite={canWrite}
            changePermissions={
              <Button onClick={() => navigate(`/accounts/${saved.id}`)}>
                Change permissions on the account page
              </Button>
            }
          />
          <div className="form-actions">
            <Button onClick={() => navigate('/accounts')}>Back to accounts</Button>
            <Button variant="primary" onClick={() => navigate(`/accounts/${saved.id}`)}>
              Open the account
            </Button>
          </div>
        </Card>
      ) : null}
    </div>
  );
}
