import { createOrganizationRequestSchema, organizationDeploymentSchema } from '@onramp/contracts';
import type {
  Catalog,
  CreateOrganizationInput,
  Organization,
  OrganizationSetup,
  PartitionOffer,
} from '@onramp/sdk';
import { ApiProblem } from '@onramp/sdk';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { OrganizationSetupPanel } from '../components/OrganizationSetup.tsx';
import { type PermissionSelection, PermissionsPicker } from '../components/PermissionsPicker.tsx';
import { RulesEditor } from '../components/RulesEditor.tsx';
import {
  Alert,
  Button,
  Card,
  ChoiceCard,
  Field,
  PageHeader,
  Spinner,
  TextInput,
} from '../components/ui.tsx';
import {
  NameAndDescriptionFields,
  ProblemsElsewhere,
  Stepper,
  useOffersAndCatalog,
} from '../components/Wizard.tsx';
import { useBranding } from '../lib/branding.tsx';
import { describeError, type FieldErrors, problemErrors, validateWith } from '../lib/forms.ts';
import {
  DEPLOYMENT_DESCRIPTIONS,
  DEPLOYMENT_LABELS,
  type Deployment,
  EMPTY_RULES_TEXT,
  RULE_FIELDS,
  type RulesText,
  ruleErrorsOf,
  rulesFromText,
  rulesToText,
  useVisiblePolling,
} from '../lib/organizations.ts';
import { Link, matchPath, navigate, useLocation } from '../lib/router.tsx';
import { useConsole } from '../lib/session.tsx';

type Step = 'details' | 'permissions' | 'scope' | 'setup';
const STEPS: { id: Step; title: string }[] = [
  { id: 'details', title: 'Organization' },
  { id: 'permissions', title: 'Permissions' },
  { id: 'scope', title: 'Accounts and roles' },
  { id: 'setup', title: 'Deploy' },
];
const DEPLOYMENTS: readonly Deployment[] = organizationDeploymentSchema.options;
/** How often the set-up step asks whether the management stack reported back. */
export const ORGANIZATION_POLL_MS = 4000;

/** Errors shown beside their field on each step; any other is listed above the step. */
const FIELDS_ON: Record<Step, string[]> = {
  details: ['name', 'description', 'partition', 'deployment'],
  permissions: ['bundles', 'regions'],
  scope: [
    ...Object.values(RULE_FIELDS),
    'memberRoleName',
    'managementRoleName',
    'deploymentRegion',
    'managementAccountId',
  ],
  setup: ['roleArn'],
};
/** The step a field of the request is asked on (an error sends the tenant back there). */
function stepOfField(field: string): Step | undefined {
  return (Object.keys(FIELDS_ON) as Step[]).find((step) =>
    FIELDS_ON[step].some((f) => field === f || field.startsWith(`${f}.`)),
  );
}

const detailsSchema = createOrganizationRequestSchema.pick({
  name: true,
  description: true,
  partition: true,
});

/** What a partition offers for organizations; a server without the offer is taken to offer all. */
function offerOf(offer: PartitionOffer | undefined) {
  return (
    offer?.organizations ?? {
      offered: offer?.trustedPrincipal != null,
      deployments: DEPLOYMENTS,
      reason: offer?.trustedPrincipal ? null : (offer?.reason ?? null),
    }
  );
}

function stepOf(search: URLSearchParams, hasOrganization: boolean): Step {
  const step = search.get('step');
  if (STEPS.some((s) => s.id === step)) return step as Step;
  return hasOrganization ? 'setup' : 'details';
}

function wizardUrl(organizationId: string | undefined, step: Step, draft?: string): string {
  if (organizationId) return `/organizations/new/${organizationId}?step=${step}`;
  return `/organizations/new?step=${step}${draft ? `&draft=${draft}` : ''}`;
}

const DRAFT_KEY = 'onramp.organizationDraft.';
/** Creations under way in this tab, by draft: a second Next waits for the first. */
const creating = new Map<string, Promise<Organization>>();

/**
 * Creates the organization of a wizard run once. A run is named by its draft key, which the URL
 * carries (a reload or a duplicated tab keeps it): the created id is remembered under it in
 * localStorage, which every tab of the console shares, and the browser's Web Locks keep two tabs
 * from creating at the same moment. A second Next in this tab waits for the first one's answer.
 */
export async function createOnce(
  create: () => Promise<Organization>,
  load: (id: string) => Promise<Organization>,
  draft: string,
): Promise<Organization> {
  const pending = creating.get(draft);
  if (pending) return pending;
  const key = `${DRAFT_KEY}${draft}`;
  const run = async () => {
    const made = window.localStorage.getItem(key);
    if (made) return load(made);
    const organization = await create();
    window.localStorage.setItem(key, organization.id);
    return organization;
  };
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  // The lock's answer is the promise `run` made; awaiting it gives the organization.
  const promise: Promise<Organization> = locks
    ? locks.request(key, run).then((made) => made)
    : run();
  creating.set(draft, promise);
  try {
    return await promise;
  } finally {
    creating.delete(draft);
  }
}

function newDraft(): string {
  return (
    globalThis.crypto?.randomUUID?.() ?? `${Date.now().toString(36)}${Math.random().toString(36)}`
  );
}

/** The picker's `default` when a stored list is exactly the partition's defaults. */
function selectionOf(catalog: Catalog, organization: Organization): PermissionSelection {
  const defaults =
    catalog.partitions.find((p) => p.partition === organization.partition)?.defaultBundles ?? [];
  const isDefault =
    defaults.length === organization.bundles.length &&
    defaults.every((b) => organization.bundles.includes(b));
  return { bundles: isDefault ? 'default' : organization.bundles, regions: organization.regions };
}

export function ConnectOrganizationPage() {
  const { offers, catalog, error } = useOffersAndCatalog();
  return (
    <>
      <PageHeader
        title="Connect an organization"
        subtitle="One stack in the management account; every member account (and every new one) follows, each with its own role and external ID."
        actions={<Link to="/organizations">Cancel</Link>}
      />
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {offers && catalog ? (
        <ConnectOrganizationWizard offers={offers} catalog={catalog} />
      ) : error ? null : (
        <Spinner />
      )}
    </>
  );
}

export function ConnectOrganizationWizard({
  offers,
  catalog,
}: {
  offers: PartitionOffer[];
  catalog: Catalog;
}) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const id = useId();
  const { path, search } = useLocation();
  const urlId = matchPath('/organizations/new/:id', path)?.id;
  const step = stepOf(search, Boolean(urlId));
  const draftInUrl = search.get('draft') ?? undefined;
  const firstOffered =
    offers.find((o) => offerOf(o).offered)?.partition ?? offers[0]?.partition ?? 'aws';
  const [details, setDetails] = useState({
    name: '',
    description: '',
    partition: firstOffered,
    deployment: (offerOf(offers.find((o) => o.partition === firstOffered)).deployments[0] ??
      'service_managed') as Deployment,
  });
  const [selection, setSelection] = useState<PermissionSelection>({
    bundles: 'default',
    regions: [],
  });
  const [rules, setRules] = useState<RulesText>(EMPTY_RULES_TEXT);
  const [roles, setRoles] = useState({
    memberRoleName: '',
    managementRoleName: '',
    deploymentRegion: '',
    managementAccountId: '',
  });
  const [organization, setOrganization] = useState<Organization | undefined>();
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [loadError, setLoadError] = useState<string | undefined>();
  const inFlight = useRef(false);

  const offer = offers.find((o) => o.partition === details.partition);
  const orgOffer = offerOf(offer);
  const organizationId = organization?.id ?? urlId;

  // A run without a draft key gets one, in the URL, so a reload or a duplicated tab keeps it.
  const isNewPath = path.replace(/\/$/, '') === '/organizations/new';
  useEffect(() => {
    if (isNewPath && !draftInUrl) {
      navigate(wizardUrl(undefined, step, newDraft()), { replace: true, keepScroll: true });
    }
  }, [isNewPath, draftInUrl, step]);
  const draft = draftInUrl;
  // A run that created its organization already (in this tab before a reload, or in another tab
  // with the same URL) goes on with that organization rather than starting a second one.
  useEffect(() => {
    if (!isNewPath || !draftInUrl) return;
    const made = window.localStorage.getItem(`${DRAFT_KEY}${draftInUrl}`);
    if (made) navigate(wizardUrl(made, step), { replace: true, keepScroll: true });
  }, [isNewPath, draftInUrl, step]);

  const setStep = (next: Step) => navigate(wizardUrl(organizationId, next, draft));

  // A reload, Back or a link: the organization and its choices come from the server.
  useEffect(() => {
    if (!urlId || organization?.id === urlId) return;
    let current = true;
    client.organizations.get(urlId).then(
      (loaded) => {
        if (!current) return;
        setOrganization(loaded);
        setDetails({
          name: loaded.name,
          description: loaded.description,
          partition: loaded.partition,
          deployment: loaded.deployment,
        });
        setSelection(selectionOf(catalog, loaded));
        setRules(rulesToText(loaded.rules));
        setRoles({
          memberRoleName: loaded.memberRoleName,
          managementRoleName: loaded.managementRoleName,
          deploymentRegion: loaded.deploymentRegion,
          managementAccountId: loaded.managementAccountId ?? '',
        });
      },
      (failure: unknown) => current && setLoadError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, catalog, urlId, organization?.id]);

  const showErrors = (found: FieldErrors) => {
    setErrors(found);
    // An error of an earlier step (a name taken, a deployment refused) sends the tenant to it.
    const first = Object.keys(found)
      .map(stepOfField)
      .find((s): s is Step => s !== undefined);
    if (first && first !== step) setStep(first);
  };

  const goFromDetails = () => {
    const checked = validateWith(detailsSchema, details);
    if (!checked.ok) return setErrors(checked.errors);
    if (!orgOffer.offered) {
      return setErrors({
        partition: {
          message: orgOffer.reason ?? 'Organizations are not offered in this partition.',
        },
      });
    }
    if (!organization && !orgOffer.deployments.includes(details.deployment)) {
      return setErrors({
        deployment: {
          message: orgOffer.reason ?? 'This deployment is not offered in this partition.',
        },
      });
    }
    setErrors({});
    setStep('permissions');
  };

  const finish = async () => {
    const checked = rulesFromText(rules);
    if (Object.keys(checked.errors).length > 0) return setErrors(checked.errors);
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    try {
      if (organization) {
        // Back, then Next again: the same organization, changed where it may change.
        const changed = await client.organizations.update(organization.id, {
          name: details.name,
          description: details.description,
          bundles: selection.bundles,
          regions: selection.regions,
          rules: checked.rules,
        });
        setOrganization(changed);
        setErrors({});
        navigate(wizardUrl(changed.id, 'setup'));
        return;
      }
      const input: CreateOrganizationInput = {
        name: details.name,
        description: details.description,
        partition: details.partition as 'aws',
        deployment: details.deployment,
        bundles: selection.bundles,
        regions: selection.regions,
        rules: checked.rules,
        ...(roles.memberRoleName.trim() ? { memberRoleName: roles.memberRoleName.trim() } : {}),
        ...(roles.managementRoleName.trim()
          ? { managementRoleName: roles.managementRoleName.trim() }
          : {}),
        ...(roles.deploymentRegion ? { deploymentRegion: roles.deploymentRegion } : {}),
        ...(roles.managementAccountId.trim()
          ? { managementAccountId: roles.managementAccountId.trim() }
          : {}),
      };
      const made = await createOnce(
        () => client.organizations.create(input),
        (existing) => client.organizations.get(existing),
        draft ?? newDraft(),
      );
      setOrganization(made);
      setErrors({});
      // Back from the set-up returns to this step of this organization, which then only changes it.
      navigate(wizardUrl(made.id, 'scope'), { replace: true });
      navigate(wizardUrl(made.id, 'setup'));
    } catch (failure) {
      showErrors(problemErrors(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  if (loadError) {
    return (
      <Alert tone="danger" title="This organization cannot be opened">
        {loadError} <Link to="/organizations">Back to the organizations</Link>
      </Alert>
    );
  }
  if (urlId && !organization) return <Spinner />;

  const shown = FIELDS_ON[step];
  const otherErrors = Object.entries(errors).filter(
    ([field]) => !shown.some((f) => field === f || field.startsWith(`${f}.`)),
  );
  const fixed = organization !== undefined;

  return (
    <div className="wizard" data-testid="connect-organization">
      <Stepper steps={STEPS} current={step} />
      {fixed && step !== 'setup' ? (
        <p className="muted small" role="note">
          This organization is created: going back changes it, it does not make another. Its
          partition, deployment and role names stay as they are.
        </p>
      ) : null}
      <ProblemsElsewhere errors={otherErrors} />

      {step === 'details' ? (
        <Card title="1. The organization">
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              goFromDetails();
            }}
          >
            <NameAndDescriptionFields
              value={details}
              onChange={setDetails}
              errors={errors}
              placeholder="Acme organization"
            />
            <fieldset className={`choice-group${errors.partition ? ' field-invalid' : ''}`}>
              <legend className="field-label">Partition</legend>
              <div className="choice-cards">
                {offers.map((o) => (
                  <ChoiceCard
                    key={o.partition}
                    name={`${id}-partition`}
                    value={o.partition}
                    disabled={fixed}
                    checked={details.partition === o.partition}
                    onChange={() => {
                      const deployments = offerOf(o).deployments;
                      setDetails({
                        ...details,
                        partition: o.partition,
                        deployment: deployments.includes(details.deployment)
                          ? details.deployment
                          : (deployments[0] ?? details.deployment),
                      });
                      setRoles({ ...roles, deploymentRegion: '' });
                    }}
                    title={o.displayName}
                    description={<code>{o.partition}</code>}
                    reason={
                      offerOf(o).offered
                        ? undefined
                        : (offerOf(o).reason ?? 'Organizations are not offered here.')
                    }
                  />
                ))}
              </div>
              {errors.partition ? (
                <p className="field-error" role="alert">
                  {errors.partition.message}
                  {errors.partition.hint ? ` ${errors.partition.hint}` : ''}
                </p>
              ) : null}
            </fieldset>
            <fieldset className={`choice-group${errors.deployment ? ' field-invalid' : ''}`}>
              <legend className="field-label">How member roles are deployed</legend>
              <div className="choice-cards">
                {DEPLOYMENTS.map((deployment) => {
                  const offered = orgOffer.offered && orgOffer.deployments.includes(deployment);
                  return (
                    <ChoiceCard
                      key={deployment}
                      name={`${id}-deployment`}
                      value={deployment}
                      disabled={!offered || fixed}
                      unavailable={!offered}
                      checked={details.deployment === deployment}
                      onChange={() => setDetails({ ...details, deployment })}
                      title={DEPLOYMENT_LABELS[deployment]}
                      tag={deployment === 'service_managed' && offered ? 'Recommended' : undefined}
                      description={DEPLOYMENT_DESCRIPTIONS[deployment]}
                      reason={!offered && orgOffer.offered ? orgOffer.reason : undefined}
                    />
                  );
                })}
              </div>
              {errors.deployment ? (
                <p className="field-error" role="alert">
                  {errors.deployment.message}
                  {errors.deployment.hint ? ` ${errors.deployment.hint}` : ''}
                </p>
              ) : null}
            </fieldset>
            <div className="form-actions">
              <Button type="submit" variant="primary" disabled={!canWrite}>
                Next: permissions
              </Button>
            </div>
          </form>
        </Card>
      ) : null}

      {step === 'permissions' ? (
        <Card title="2. Permissions">
          <p className="muted">
            Every member account’s role gets these permissions; the management account’s role gets
            them too (it is a member), with read access to AWS Organizations.
          </p>
          <PermissionsPicker
            catalog={catalog}
            partition={details.partition}
            regions={offer?.regions ?? []}
            value={selection}
            onChange={setSelection}
            principal="role"
            errors={errors}
          />
          <div className="form-actions">
            <Button onClick={() => setStep('details')}>Back</Button>
            <Button variant="primary" onClick={() => setStep('scope')}>
              Next: accounts and roles
            </Button>
          </div>
        </Card>
      ) : null}

      {step === 'scope' ? (
        <Card title="3. Accounts and roles">
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              void finish();
            }}
          >
            <h3 className="subheading">Which accounts {brandName} connects</h3>
            <RulesEditor
              value={rules}
              onChange={(next) => {
                setRules(next);
                // Checked as typed: each list says at once which entry is not an ID.
                const typed = rulesFromText(next).errors;
                setErrors((current) => {
                  const kept = Object.fromEntries(
                    Object.entries(current).filter(
                      ([field]) => !Object.values(RULE_FIELDS).includes(field),
                    ),
                  );
                  return { ...kept, ...typed };
                });
              }}
              errors={ruleErrorsOf(errors)}
            />
            <h3 className="subheading">Roles and region</h3>
            <Field
              label="Member role name"
              optional
              error={errors.memberRoleName}
              description={
                fixed
                  ? 'Fixed once the organization is created.'
                  : 'Default: OnrampMemberRole- and a part of the organization’s ID.'
              }
            >
              <TextInput
                value={roles.memberRoleName}
                disabled={fixed}
                placeholder="OnrampMemberRole-…"
                onChange={(event) => setRoles({ ...roles, memberRoleName: event.target.value })}
              />
            </Field>
            <Field
              label="Management role name"
              optional
              error={errors.managementRoleName}
              description={
                fixed
                  ? 'Fixed once the organization is created.'
                  : 'Default: OnrampOrganizationRole- and a part of the organization’s ID.'
              }
            >
              <TextInput
                value={roles.managementRoleName}
                disabled={fixed}
                placeholder="OnrampOrganizationRole-…"
                onChange={(event) => setRoles({ ...roles, managementRoleName: event.target.value })}
              />
            </Field>
            <Field
              label="Deployment region"
              optional
              error={errors.deploymentRegion}
              description="The one region the StackSet deploys to: IAM is global, so a second region would make the same role twice."
            >
              <select
                className="input"
                value={roles.deploymentRegion}
                disabled={fixed}
                onChange={(event) => setRoles({ ...roles, deploymentRegion: event.target.value })}
              >
                <option value="">The partition’s default region</option>
                {(offer?.regions ?? []).map((r) => (
                  <option key={r.id} value={r.id}>
                    {r.id} — {r.description}
                  </option>
                ))}
              </select>
            </Field>
            <Field
              label="Management account ID"
              optional
              error={errors.managementAccountId}
              description="When given, a management stack from any other account is refused."
            >
              <TextInput
                value={roles.managementAccountId}
                disabled={fixed}
                inputMode="numeric"
                placeholder="123456789012"
                onChange={(event) =>
                  setRoles({ ...roles, managementAccountId: event.target.value })
                }
              />
            </Field>
            <div className="form-actions">
              <Button onClick={() => setStep('permissions')}>Back</Button>
              <Button type="submit" variant="primary" busy={busy} disabled={!canWrite}>
                {fixed ? 'Save and continue' : 'Create the organization'}
              </Button>
            </div>
          </form>
        </Card>
      ) : null}

      {step === 'setup' && organization ? (
        <DeployStep organization={organization} onChange={setOrganization} />
      ) : null}
      {step === 'setup' && !organization ? (
        <Alert tone="warning">
          Nothing is created yet.{' '}
          <Link to={wizardUrl(undefined, 'details', draft)}>Start here</Link>
        </Alert>
      ) : null}
    </div>
  );
}

/** The set-up of a created organization, waiting for its management stack to report back. */
function DeployStep({
  organization,
  onChange,
}: {
  organization: Organization;
  onChange: (organization: Organization) => void;
}) {
  const { name: brandName } = useBranding();
  const { client, canWrite } = useConsole();
  const [setup, setSetup] = useState<OrganizationSetup | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [pollError, setPollError] = useState<string | undefined>();
  const [roleArn, setRoleArn] = useState('');
  const [roleErrors, setRoleErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let current = true;
    client.organizations.setup(organization.id, { format: 'yaml' }).then(
      (loaded) => current && setSetup(loaded),
      (failure: unknown) => current && setError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, organization.id]);

  const active = organization.status === 'active';
  useEffect(() => {
    if (active) navigate(`/organizations/${organization.id}`, { replace: true });
  }, [active, organization.id]);

  const poll = useCallback(() => {
    client.organizations.get(organization.id).then(
      (latest) => {
        setPollError(undefined);
        onChange(latest);
      },
      (failure: unknown) => setPollError(describeError(failure)),
    );
  }, [client, organization.id, onChange]);
  useVisiblePolling(poll, ORGANIZATION_POLL_MS, !active);

  const pasteRole = async () => {
    if (!roleArn.trim()) return setRoleErrors({ roleArn: { message: 'Enter a value.' } });
    setBusy(true);
    try {
      onChange(await client.organizations.managementRole(organization.id, roleArn.trim()));
      setRoleErrors({});
    } catch (failure) {
      setRoleErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      {organization.status === 'error' ? (
        <Alert tone="danger" title="The management role does not work">
          {organization.lastDiscovery?.error ?? `${brandName} could not use the management role.`}
        </Alert>
      ) : null}
      <Card title="4. Deploy the management stack">
        <p>
          Deploy this in the management account of your organization. Its role lets {brandName} read
          the organization; its StackSet gives every member account a role of its own, which reports
          back by itself.
        </p>
        {error ? <Alert tone="danger">{error}</Alert> : null}
        {setup ? (
          <OrganizationSetupPanel
            setup={setup}
            load={(query) => client.organizations.setup(organization.id, query)}
          />
        ) : error ? null : (
          <Spinner />
        )}
        {!active ? (
          <p className="waiting" role="status" data-testid="waiting-management-stack">
            <span className="spinner" aria-hidden="true" /> Waiting for the management stack… This
            page moves on by itself once it reports back.
          </p>
        ) : null}
        {pollError ? (
          <Alert
            tone="warning"
            title={`${brandName} could not check whether the stack reported back`}
          >
            {pollError} It keeps trying.
          </Alert>
        ) : null}
      </Card>
      {canWrite ? (
        <Card title="Paste the management role ARN">
          <p className="muted">
            With Terraform, or when the stack cannot reach {brandName}, paste the role’s ARN (the{' '}
            <code>management_role_arn</code> output).
          </p>
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              void pasteRole();
            }}
          >
            <Field label="Management role ARN" error={roleErrors.roleArn}>
              <TextInput
                value={roleArn}
                spellCheck={false}
                placeholder={`arn:${organization.partition}:iam::123456789012:role/${organization.managementRoleName}`}
                onChange={(event) => setRoleArn(event.target.value)}
              />
            </Field>
            {Object.entries(roleErrors)
              .filter(([field]) => field !== 'roleArn')
              .map(([field, e]) => (
                <Alert key={field} tone="danger">
                  {e.message} {e.hint}
                </Alert>
              ))}
            <div className="form-actions">
              <Button type="submit" busy={busy}>
                Use this role
              </Button>
            </div>
          </form>
        </Card>
      ) : null}
      <div className="form-actions">
        <Button onClick={() => navigate(`/organizations/${organization.id}`)}>
          Open the organization’s page
        </Button>
      </div>
    </>
  );
}

/** Whether an error is the API saying the organization is gone. */
export function isGone(failure: unknown): boolean {
  return failure instanceof ApiProblem && failure.status === 404;
}
