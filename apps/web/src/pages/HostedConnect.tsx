import { api, fillPath, replaceCredentialsRequestSchema } from '@onramp/contracts';
import {
  ApiProblem,
  type Catalog,
  type Connection,
  type HostedAccountInput,
  type HostedFixInput,
  type HostedSession,
  type OnrampClient,
  type ValidationResult,
} from '@onramp/sdk';
import { type ReactNode, useEffect, useId, useLayoutEffect, useRef, useState } from 'react';
import { AccessKeysFields } from '../components/AccessKeysFields.tsx';
import { CreateRole } from '../components/CreateRole.tsx';
import { DedicatedUser } from '../components/DedicatedUser.tsx';
import { type PermissionSelection, PermissionsPicker } from '../components/PermissionsPicker.tsx';
import { StackWaiting } from '../components/StackWaiting.tsx';
import { UpdateArtefacts } from '../components/UpdatePermissions.tsx';
import {
  Alert,
  Button,
  Card,
  ChoiceCard,
  Field,
  Spinner,
  StatusBadge,
  TextInput,
} from '../components/ui.tsx';
import { ChecksList, FindingsList, ValidationReport } from '../components/ValidationReport.tsx';
import { ProblemsElsewhere, Stepper } from '../components/Wizard.tsx';
import { BrandContext } from '../lib/branding.tsx';
import { exampleRoleArn, isRoleMethod, METHOD_LABELS, PARTITION_LABELS } from '../lib/format.ts';
import { describeError, type FieldErrors, problemErrors } from '../lib/forms.ts';
import type { PermissionsUpdate } from '../lib/permission-upgrades.ts';
import { navigate, useLocation } from '../lib/router.tsx';
import { ClientContext } from '../lib/session.tsx';

/**
 * The hosted connect wizard (issue 17) at `/connect/:sessionId`: a platform's customer, sent here by
 * the platform with a single-use link, connects (or fixes) one AWS account. No Onramp sign-in, no
 * console around it, nothing of the tenant but what the session allows; every text names the
 * platform's brand. The link's secret rides in the fragment, is traded once for the session's cookie,
 * and is dropped from the address bar at once.
 */

type Brand = HostedSession['branding'];
type Method = HostedSession['partitions'][number]['methods'][number];
type Step = 'account' | 'permissions' | 'connect' | 'done';
/** Why the page cannot (or need not) show the wizard: each a full page of its own. */
type Ended = 'link_used' | 'completed' | 'cancelled' | 'expired' | 'unknown' | 'unreachable';

const STEPS: { id: Step; title: string }[] = [
  { id: 'account', title: 'Account' },
  { id: 'permissions', title: 'Permissions' },
  { id: 'connect', title: 'Connect' },
  { id: 'done', title: 'Done' },
];
/** Roles first: no long-lived secret leaves the customer's account. */
const METHOD_ORDER: Method[] = ['oidc_role', 'role', 'access_keys'];
const POLL_MS = 2500;
/** How long the success page waits before it returns to the platform by itself. */
const RETURN_AFTER_MS = 5000;
/** Shown until the platform's brand is known (and where it cannot be): neutral, never "Onramp". */
const NEUTRAL_BRAND: Brand = {
  name: '',
  logoUrl: null,
  colors: { primary: '#2f4a6d', accent: '#3c7a5a' },
  supportUrl: null,
};

/** The problem codes the hosted API answers when a session cannot be used (any of its forms). */
const ENDED_CODES: Record<string, Ended> = {
  link_used: 'link_used',
  session_completed: 'completed',
  session_cancelled: 'cancelled',
  session_expired: 'expired',
};

/** Which end a failure says the session reached; undefined when it is about the request itself. */
export function sessionEnd(failure: unknown): Ended | undefined {
  if (!(failure instanceof ApiProblem)) return undefined;
  const codes = [failure.type.split(':').pop() ?? '', ...failure.errors.map((e) => e.code)];
  for (const code of codes) {
    const ended = ENDED_CODES[code];
    if (ended) return ended;
  }
  if (failure.status === 404) return 'unknown';
  if (failure.status === 410) return 'expired';
  return undefined;
}

function endOfState(session: HostedSession): Ended | undefined {
  if (session.state === 'completed') return 'completed';
  if (session.state === 'cancelled') return 'cancelled';
  if (session.state === 'expired') return 'expired';
  return undefined;
}

/**
 * A client for the wizard's shared components (the policy preview, the dedicated user's template,
 * the manual steps): their calls go to the session's own endpoints; any other call is refused here,
 * so nothing of the tenant is ever asked for.
 */
export function sessionScopedClient(
  client: OnrampClient,
  sessionId: string,
  /** The session's preselection, which the picker's "default" stands for here. */
  defaultsOf: (partition: string) => string[] | undefined,
): OnrampClient {
  const scoped: Record<string, unknown> = {
    previewPolicy: (input: Parameters<OnrampClient['previewPolicy']>[0]) =>
      client.connect.previewPolicy(sessionId, {
        ...input,
        ...(input.bundles === 'default' || input.bundles === undefined
          ? { bundles: defaultsOf(input.partition) ?? 'default' }
          : {}),
      }),
    userTemplate: (input: Parameters<OnrampClient['userTemplate']>[0]) =>
      client.connect.userTemplate(sessionId, input),
    'connections.steps': () => client.connect.steps(sessionId),
  };
  const refuse = (name: string) => () =>
    Promise.reject(new Error(`${name} is not available in a connect session`));
  return new Proxy({} as OnrampClient, {
    get: (_target, key: string) =>
      scoped[key] ??
      new Proxy(refuse(key), {
        get: (_t, sub: string) => scoped[`${key}.${sub}`] ?? refuse(`${key}.${sub}`),
      }),
  });
}

/** The connection with its downloads pointed at the session's endpoints (the cookie goes along). */
function withSessionLinks(connection: Connection, sessionId: string): Connection {
  const cloudFormation = fillPath(api.connect.cloudFormation.path, { sessionId });
  return {
    ...connection,
    links: {
      ...connection.links,
      cloudformationYaml: `${cloudFormation}?format=yaml`,
      cloudformationJson: `${cloudFormation}?format=json`,
      terraform: fillPath(api.connect.terraform.path, { sessionId }),
      steps: fillPath(api.connect.steps.path, { sessionId }),
    },
  };
}

/**
 * The catalog the picker shows: the session's bundles only, offered in the chosen partition, with
 * the preselection as its defaults. Without the catalog in the session, bundles show by their ids.
 */
function catalogFor(session: HostedSession, partition: string): Catalog {
  const choice = session.bundles;
  const offered = 'fixed' in choice ? choice.fixed : choice.choose;
  const known = session.catalog?.products.flatMap((p) => p.bundles.map((b) => b.id)) ?? [];
  const products = (session.catalog?.products ?? [])
    .map((p) => ({ ...p, bundles: p.bundles.filter((b) => offered.includes(b.id)) }))
    .filter((p) => p.bundles.length > 0);
  const unknown = offered.filter((id) => !known.includes(id));
  if (unknown.length > 0) {
    products.push({
      id: 'features',
      name: 'Features',
      description: '',
      bundles: unknown.map((id) => ({
        id,
        name: id,
        description: '',
        isDefault: false,
        partitions: ['aws', 'aws-us-gov', 'aws-cn'],
        actions: [],
        actionsFor: { role: [], user: [] },
      })),
    });
  }
  const partitionName =
    session.partitions.find((p) => p.partition === partition)?.displayName ?? partition;
  return {
    platform: session.branding.name,
    products,
    partitions: [
      {
        partition: partition as 'aws',
        displayName: partitionName,
        customizable: true,
        defaultBundles: preselected(session, partition),
        availableBundles: offered,
      },
    ],
  };
}

function preselected(session: HostedSession, partition: string): string[] {
  const choice = session.bundles;
  if ('fixed' in choice) return choice.fixed;
  if (choice.preselected) return choice.preselected;
  const defaults =
    session.catalog?.partitions.find((p) => p.partition === partition)?.defaultBundles ?? [];
  const among = choice.choose.filter((id) => defaults.includes(id));
  return among.length > 0 ? among : choice.choose;
}

/** Fixed bundles as they are; a choice starts at the picker's "default": the preselection. */
function initialBundles(session: HostedSession, partition: string): PermissionSelection['bundles'] {
  return 'fixed' in session.bundles ? preselected(session, partition) : 'default';
}

/** The regions the customer may pick from (none: no limit offered), and the fixed ones. */
function regionsOf(session: HostedSession): { choose: string[]; fixed: string[] } {
  const choice = session.regions;
  if ('fixed' in choice) return { choose: [], fixed: choice.fixed };
  return { choose: choice.choose, fixed: [] };
}

/** What the wizard keeps across a reload (never a secret): the choices made so far. */
interface Choices {
  name: string;
  partition: string;
  method: Method;
  selection: PermissionSelection;
}

const storageKey = (sessionId: string) => `onramp.connect.${sessionId}`;

function storedChoices(sessionId: string): Partial<Choices> {
  try {
    return JSON.parse(window.sessionStorage.getItem(storageKey(sessionId)) ?? '{}') as Choices;
  } catch {
    return {};
  }
}

function initialChoices(session: HostedSession): Choices {
  const stored = storedChoices(session.id);
  const connection = session.connection;
  const partition =
    connection?.partition ??
    (session.partitions.some((p) => p.partition === stored.partition)
      ? (stored.partition as string)
      : (session.partitions[0]?.partition ?? 'aws'));
  const offer = session.partitions.find((p) => p.partition === partition);
  const method =
    connection?.method ??
    (stored.method && offer?.methods.includes(stored.method)
      ? stored.method
      : (METHOD_ORDER.find((m) => offer?.methods.includes(m)) ?? 'access_keys'));
  const regions = regionsOf(session);
  return {
    name: stored.name ?? '',
    partition,
    method,
    selection: connection
      ? { bundles: connection.bundles, regions: connection.regions }
      : (stored.selection ?? {
          bundles: initialBundles(session, partition),
          regions: regions.fixed,
        }),
  };
}

function stepOf(search: URLSearchParams): Step {
  const step = search.get('step');
  return STEPS.some((s) => s.id === step) ? (step as Step) : 'account';
}

export function HostedConnectPage({
  client,
  sessionId,
}: {
  client: OnrampClient;
  sessionId: string;
}) {
  const [session, setSession] = useState<HostedSession | undefined>();
  const [ended, setEnded] = useState<Ended | undefined>();
  const [failureDetail, setFailureDetail] = useState<string | undefined>();
  const [brand, setBrand] = useState<Brand>(NEUTRAL_BRAND);
  const [attempt, setAttempt] = useState(0);
  // One exchange of the link's secret per page: React may run the effect twice (strict mode).
  const loading = useRef<{ attempt: number; promise: Promise<HostedSession> } | undefined>(
    undefined,
  );

  useEffect(() => {
    if (loading.current?.attempt !== attempt) {
      const secret = window.location.hash.slice(1);
      if (secret) {
        // The secret leaves the address bar (and the history) before anything else happens.
        window.history.replaceState(
          window.history.state,
          '',
          window.location.pathname + window.location.search,
        );
      }
      loading.current = {
        attempt,
        promise: secret ? client.connect.open(sessionId, secret) : client.connect.get(sessionId),
      };
    }
    let current = true;
    loading.current.promise.then(
      (loaded) => {
        if (!current) return;
        setSession(loaded);
        setBrand(loaded.branding);
        setEnded(endOfState(loaded));
      },
      (failure: unknown) => {
        if (!current) return;
        const end = sessionEnd(failure) ?? 'unreachable';
        setEnded(end);
        setFailureDetail(describeError(failure));
        const publicBrand = () =>
          // The page still wears the platform's brand: the public brand answers without a session.
          loadPublicBrand(client).then(
            (loadedBrand) => current && loadedBrand && setBrand(loadedBrand),
          );
        if (end === 'completed' || end === 'cancelled' || end === 'expired') {
          // The browser that used the link still holds the session's cookie: the session then says
          // what happened (connected or fixed) and where to return. Any other browser learns nothing.
          void client.connect.get(sessionId).then((loaded) => {
            if (!current) return;
            setSession(loaded);
            setBrand(loaded.branding);
          }, publicBrand);
        } else {
          void publicBrand();
        }
      },
    );
    return () => {
      current = false;
    };
  }, [client, sessionId, attempt]);

  const latest = useRef(session);
  latest.current = session;
  const scoped = useRef<OnrampClient | undefined>(undefined);
  scoped.current ??= sessionScopedClient(client, sessionId, (partition) =>
    latest.current ? preselected(latest.current, partition) : undefined,
  );

  let content: ReactNode;
  if (ended) {
    content = (
      <EndedPage
        ended={ended}
        brand={brand}
        session={session}
        detail={failureDetail}
        onRetry={ended === 'unreachable' ? () => setAttempt((n) => n + 1) : undefined}
      />
    );
  } else if (!session) {
    content = <Spinner />;
  } else {
    const update = (next: HostedSession) => {
      setSession(next);
      setEnded(next.state === 'completed' ? undefined : endOfState(next));
    };
    const end = (failure: unknown): boolean => {
      const kind = sessionEnd(failure);
      if (!kind) return false;
      setFailureDetail(describeError(failure));
      setEnded(kind);
      return true;
    };
    const cancel = async () => {
      try {
        const cancelled = await client.connect.cancel(sessionId);
        if (cancelled.redirectTo) window.location.assign(cancelled.redirectTo);
        else update(cancelled);
      } catch (failure) {
        if (!end(failure)) setFailureDetail(describeError(failure));
      }
    };
    content =
      session.state === 'completed' ? (
        <CompletedPage session={session} brand={brand} />
      ) : (
        <>
          <div className="hosted-bar">
            <Button variant="ghost" onClick={() => void cancel()}>
              Cancel
            </Button>
          </div>
          {session.kind === 'fix' ? (
            <FixWizard client={client} session={session} onSession={update} onEnded={end} />
          ) : (
            <ConnectWizard client={client} session={session} onSession={update} onEnded={end} />
          )}
        </>
      );
  }

  return (
    <BrandContext.Provider value={{ ...brand, name: brand.name || 'the platform' }}>
      <ClientContext.Provider value={scoped.current}>
        <BrandFrame brand={brand}>{content}</BrandFrame>
      </ClientContext.Provider>
    </BrandContext.Provider>
  );
}

/** The brand as GET /v1/branding says it, for the pages shown without a session. */
async function loadPublicBrand(client: OnrampClient): Promise<Brand | undefined> {
  return client.branding.get().catch(() => undefined);
}

/** The page around everything: the platform's logo, name, colours and support link, nothing else. */
function BrandFrame({ brand, children }: { brand: Brand; children: ReactNode }) {
  const frame = useRef<HTMLDivElement>(null);
  // The CSP has no 'unsafe-inline': colours are set through the CSSOM, not a style attribute.
  useLayoutEffect(() => {
    frame.current?.style.setProperty('--primary', brand.colors.primary);
    frame.current?.style.setProperty('--brand-accent', brand.colors.accent);
  }, [brand.colors.primary, brand.colors.accent]);
  useEffect(() => {
    document.title = brand.name
      ? `Connect an AWS account · ${brand.name}`
      : 'Connect an AWS account';
  }, [brand.name]);
  return (
    <div className="hosted" ref={frame} data-testid="hosted-frame">
      {brand.logoUrl || brand.name ? (
        <header className="hosted-header">
          {brand.logoUrl ? (
            <img className="hosted-logo" src={brand.logoUrl} alt={brand.name || 'Logo'} />
          ) : null}
          {brand.name ? <span className="hosted-name">{brand.name}</span> : null}
        </header>
      ) : (
        <div className="hosted-header-plain" />
      )}
      <main className="hosted-main" id="main">
        {children}
      </main>
      {brand.supportUrl ? (
        <footer className="hosted-footer">
          <a href={brand.supportUrl} target="_blank" rel="noreferrer">
            Get help{brand.name ? ` from ${brand.name}` : ''}
          </a>
        </footer>
      ) : null}
    </div>
  );
}

/** A heading that takes the focus when it appears: each step and page announces itself. */
function FocusHeading({ children, hidden = false }: { children: ReactNode; hidden?: boolean }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, []);
  return (
    <h1 ref={heading} tabIndex={-1} className={hidden ? 'visually-hidden' : 'hosted-title'}>
      {children}
    </h1>
  );
}

const ENDED_TEXT: Record<Ended, { title: string; body: (brand: string) => string }> = {
  link_used: {
    title: 'This link was already used',
    body: (brand) =>
      `A connect link works once, in the browser that opened it first. Go back to ${brand} and ask for a new link.`,
  },
  completed: {
    // Neutral: a browser other than the one that used it cannot tell a connect from a fix.
    title: 'This link has done its work',
    body: (brand) =>
      `This link was used and its AWS account is set up; there is nothing more to do here. You can go back to ${brand}.`,
  },
  cancelled: {
    title: 'This link was cancelled',
    body: (brand) => `Nothing was connected. Go back to ${brand} to start again.`,
  },
  expired: {
    title: 'This link has expired',
    body: (brand) =>
      `Connect links work for a limited time. Nothing was connected; go back to ${brand} and ask for a new link.`,
  },
  unknown: {
    title: 'This link does not work',
    body: (brand) =>
      `It may be incomplete or mistyped. Open the link ${brand} gave you again, exactly as it was, or ask for a new one.`,
  },
  unreachable: {
    title: 'The page could not be loaded',
    body: () => 'Check your connection and try again.',
  },
};

/** A fix link, opened again by the browser that used it: the account was fixed, not connected. */
const FIXED_TEXT: (typeof ENDED_TEXT)[Ended] = {
  title: 'This account is fixed',
  body: (brand) =>
    `This link was used to fix the account; there is nothing more to do here. You can go back to ${brand}.`,
};

function EndedPage({
  ended,
  brand,
  session,
  detail,
  onRetry,
}: {
  ended: Ended;
  brand: Brand;
  session: HostedSession | undefined;
  detail: string | undefined;
  onRetry: (() => void) | undefined;
}) {
  const text =
    ended === 'completed' && session?.outcome === 'fixed' ? FIXED_TEXT : ENDED_TEXT[ended];
  const name = brand.name || 'the platform';
  const redirectTo = session?.redirectTo ?? null;
  return (
    <section className="hosted-ended" data-ended={ended}>
      <FocusHeading>{text.title}</FocusHeading>
      <p>{text.body(name)}</p>
      {ended === 'unreachable' && detail ? <p className="muted small">{detail}</p> : null}
      <div className="form-actions">
        {redirectTo ? (
          <Button variant="primary" onClick={() => window.location.assign(redirectTo)}>
            Return to {name}
          </Button>
        ) : null}
        {onRetry ? <Button onClick={onRetry}>Try again</Button> : null}
      </div>
    </section>
  );
}

/** Done: the platform's name, and back to it (by itself after a few seconds). */
function CompletedPage({ session, brand }: { session: HostedSession; brand: Brand }) {
  const name = brand.name || 'the platform';
  const redirectTo = session.redirectTo;
  useEffect(() => {
    if (!redirectTo) return;
    const timer = setTimeout(() => window.location.assign(redirectTo), RETURN_AFTER_MS);
    return () => clearTimeout(timer);
  }, [redirectTo]);
  const account = session.account;
  return (
    <section className="hosted-ended" data-ended="completed">
      <FocusHeading>
        {session.outcome === 'fixed'
          ? 'Your AWS account is fixed'
          : 'Your AWS account is connected'}
      </FocusHeading>
      {account ? (
        <Alert tone="success" title={account.name}>
          AWS account <code>{account.awsAccountId}</code> · <StatusBadge status={account.status} />
        </Alert>
      ) : null}
      <p>
        {name} can use it now.
        {redirectTo ? ` You are taken back to ${name} in a few seconds.` : ''}
      </p>
      {redirectTo ? (
        <div className="form-actions">
          <Button variant="primary" onClick={() => window.location.assign(redirectTo)}>
            Return to {name}
          </Button>
        </div>
      ) : null}
    </section>
  );
}

interface WizardProps {
  client: OnrampClient;
  session: HostedSession;
  onSession: (session: HostedSession) => void;
  /** A failure that ended the session (used elsewhere, expired, cancelled): true when it did. */
  onEnded: (failure: unknown) => boolean;
}

function ConnectWizard({ client, session, onSession, onEnded }: WizardProps) {
  const id = useId();
  const { path, search } = useLocation();
  const step = stepOf(search);
  const [choices, setChoicesState] = useState<Choices>(() => initialChoices(session));
  const [connection, setConnection] = useState<Connection | undefined>(
    session.connection ?? undefined,
  );
  const [roleArn, setRoleArn] = useState('');
  const [keys, setKeys] = useState({ accessKeyId: '', secretAccessKey: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<ValidationResult | undefined>();
  const [validatedKey, setValidatedKey] = useState<string | undefined>();
  const [pollError, setPollError] = useState<string | undefined>();
  // A double click (or a second Enter) must not start a second set-up, nor complete twice.
  const inFlight = useRef(false);
  // The page's handlers change with each of its renders; the poll keeps running meanwhile.
  const handlers = useRef({ onSession, onEnded });
  handlers.current = { onSession, onEnded };

  const setChoices = (next: Choices) => {
    setChoicesState(next);
    window.sessionStorage.setItem(storageKey(session.id), JSON.stringify(next));
  };
  const setStep = (next: Step, options: { replace?: boolean } = {}) =>
    navigate(`${path}?step=${next}`, options);

  const offer = session.partitions.find((p) => p.partition === choices.partition);
  const methods = METHOD_ORDER.filter((m) => session.partitions.some((p) => p.methods.includes(m)));
  const isRole = isRoleMethod(choices.method);
  const needsName = session.accountName === null;
  const regions = regionsOf(session);
  const bundlesFixed = 'fixed' in session.bundles;
  const catalog = catalogFor(session, choices.partition);
  const chosenBundles =
    choices.selection.bundles === 'default'
      ? preselected(session, choices.partition)
      : choices.selection.bundles;
  const name = needsName ? choices.name.trim() : (session.accountName ?? '');

  // A step that needs what an earlier one makes (a reload of an old URL) starts where it can.
  const reachable: Step =
    step === 'connect' && isRole && !connection
      ? 'permissions'
      : step === 'done'
        ? 'connect'
        : step;
  useEffect(() => {
    if (reachable !== step) navigate(`${path}?step=${reachable}`, { replace: true });
  }, [reachable, step, path]);

  // While a stack made from here can report its role back, ask whether it did (which completes
  // the session on the server).
  useEffect(() => {
    if (reachable !== 'connect' || !isRole || !connection?.reportsBack) return;
    let current = true;
    const timer = setInterval(() => {
      client.connect.get(session.id).then(
        (latest) => {
          if (!current) return;
          setPollError(undefined);
          if (latest.state !== 'active') handlers.current.onSession(latest);
        },
        (failure: unknown) => {
          if (!current) return;
          if (!handlers.current.onEnded(failure)) setPollError(describeError(failure));
        },
      );
    }, POLL_MS);
    return () => {
      current = false;
      clearInterval(timer);
    };
  }, [client, session.id, reachable, isRole, connection?.reportsBack]);

  const goToPermissions = () => {
    const problems: FieldErrors = {};
    if (needsName && !name) problems.name = { message: 'Give the account a name.' };
    if (!offer?.methods.includes(choices.method)) {
      problems.method = {
        message: offer?.reason ?? 'This way is not offered for this partition.',
      };
    }
    setErrors(problems);
    if (Object.keys(problems).length === 0) setStep('permissions');
  };

  /** The session's one role set-up: made once, changed afterwards (Back, another choice). */
  const prepareRole = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setErrors({});
    const wanted = {
      partition: choices.partition as 'aws',
      method: choices.method as 'role' | 'oidc_role',
      bundles: chosenBundles,
      regions: choices.selection.regions,
    };
    try {
      const made = connection
        ? await client.connect.updateConnection(session.id, wanted)
        : await client.connect.createConnection(session.id, wanted);
      if (JSON.stringify(made) !== JSON.stringify(connection)) setResult(undefined);
      setConnection(made);
      setStep('connect');
    } catch (failure) {
      if (!onEnded(failure)) setErrors(problemErrors(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const request = (): HostedAccountInput =>
    isRole
      ? {
          method: (connection?.method ?? choices.method) as 'role',
          connectionId: connection?.id ?? '',
          roleArn,
          ...(needsName ? { name } : {}),
        }
      : {
          method: 'access_keys',
          name,
          partition: choices.partition as 'aws',
          accessKeyId: keys.accessKeyId,
          secretAccessKey: keys.secretAccessKey,
          bundles: chosenBundles,
          regions: choices.selection.regions,
        };
  const requestKey = JSON.stringify(request());
  const isCurrent = result !== undefined && validatedKey === requestKey;
  // The platform asked for these permissions: an account lacking some is not connected from here.
  const canComplete = isCurrent && result.valid;

  const validate = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setBusy(true);
    setErrors({});
    const body = request();
    try {
      const outcome = await client.connect.validate(session.id, body);
      setResult(outcome);
      setValidatedKey(JSON.stringify(body));
      setErrors(
        Object.fromEntries(
          outcome.errors.map((e) => [e.field, { message: e.message, hint: e.hint }]),
        ),
      );
    } catch (failure) {
      setResult(undefined);
      if (!onEnded(failure)) setErrors(problemErrors(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const complete = async () => {
    if (inFlight.current || !result) return;
    inFlight.current = true;
    setBusy(true);
    try {
      const done = await client.connect.complete(session.id, request());
      setKeys({ accessKeyId: '', secretAccessKey: '' });
      window.sessionStorage.removeItem(storageKey(session.id));
      navigate(`${path}?step=done`, { replace: true });
      onSession(done);
    } catch (failure) {
      if (!onEnded(failure)) {
        setErrors(problemErrors(failure));
        setResult(undefined);
      }
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const recordMethod = (
    setupMethod: 'cloudformation' | 'quick_create' | 'terraform' | 'manual',
  ) => {
    if (!connection || connection.setupMethod === setupMethod) return;
    client.connect.updateConnection(session.id, { setupMethod }).then(setConnection, () => {});
  };

  const shown: Record<Step, string[]> = {
    account: ['name', 'partition', 'method'],
    permissions: ['bundles', 'regions'],
    connect: isRole ? ['roleArn', 'oidcProvider'] : ['accessKeyId', 'secretAccessKey'],
    done: [],
  };
  const otherErrors = Object.entries(errors).filter(
    ([field]) => !shown[reachable].includes(field) && !field.startsWith('permissions.'),
  );

  if (session.partitions.length === 0) {
    return (
      <Alert tone="warning" title="No way to connect an account is offered">
        Go back to {session.branding.name || 'the platform'} and ask for help.
      </Alert>
    );
  }
  return (
    <div className="wizard">
      <Stepper steps={STEPS} current={reachable} />
      <ProblemsElsewhere errors={otherErrors} />

      {reachable === 'account' ? (
        <Card>
          <FocusHeading>Connect your AWS account</FocusHeading>
          <form
            noValidate
            onSubmit={(event) => {
              event.preventDefault();
              goToPermissions();
            }}
          >
            {needsName ? (
              <Field label="Account name" error={errors.name}>
                <TextInput
                  value={choices.name}
                  autoComplete="off"
                  placeholder="Production"
                  onChange={(event) => setChoices({ ...choices, name: event.target.value })}
                />
              </Field>
            ) : (
              <p>
                Account: <strong>{session.accountName}</strong>
              </p>
            )}
            {session.partitions.length > 1 ? (
              <fieldset className="choice-group">
                <legend className="field-label">Partition</legend>
                <div className="choice-cards">
                  {session.partitions.map((p) => (
                    <ChoiceCard
                      key={p.partition}
                      name={`${id}-partition`}
                      checked={choices.partition === p.partition}
                      onChange={() =>
                        setChoices({
                          ...choices,
                          partition: p.partition,
                          method: p.methods.includes(choices.method)
                            ? choices.method
                            : (METHOD_ORDER.find((m) => p.methods.includes(m)) ?? 'access_keys'),
                          selection: {
                            bundles: initialBundles(session, p.partition),
                            regions: regions.fixed,
                          },
                        })
                      }
                      title={p.displayName}
                      description={<code>{p.partition}</code>}
                    />
                  ))}
                </div>
              </fieldset>
            ) : null}
            <fieldset className={`choice-group${errors.method ? ' field-invalid' : ''}`}>
              <legend className="field-label">How to connect</legend>
              <div className="choice-cards">
                {methods.map((method) => {
                  const offered = offer?.methods.includes(method) ?? false;
                  return (
                    <ChoiceCard
                      key={method}
                      name={`${id}-method`}
                      disabled={!offered}
                      unavailable={!offered}
                      checked={choices.method === method}
                      onChange={() => setChoices({ ...choices, method })}
                      title={METHOD_LABELS[method]}
                      description={METHOD_TEXT[method](session.branding.name || 'the platform')}
                      reason={!offered ? offer?.reason : undefined}
                    />
                  );
                })}
              </div>
              {errors.method ? (
                <p className="field-error" role="alert">
                  {errors.method.message}
                </p>
              ) : null}
            </fieldset>
            <div className="form-actions">
              <Button type="submit" variant="primary">
                Next: permissions
              </Button>
            </div>
          </form>
        </Card>
      ) : null}

      {reachable === 'permissions' ? (
        <Card>
          <FocusHeading>Permissions</FocusHeading>
          <p className="muted">
            {bundlesFixed
              ? `${session.branding.name || 'The platform'} asks for these permissions; they are set for you.`
              : `Choose what ${session.branding.name || 'the platform'} may do in your account.`}
          </p>
          {regions.fixed.length > 0 ? (
            <p className="muted">
              Limited to the regions {regions.fixed.map((r) => r).join(', ')}.
            </p>
          ) : null}
          <PermissionsPicker
            catalog={catalog}
            partition={choices.partition}
            regions={regions.choose.map((r) => ({ id: r, description: '' }))}
            value={choices.selection}
            onChange={(selection) => setChoices({ ...choices, selection })}
            principal={isRole ? 'role' : 'user'}
            errors={errors}
            readOnly={bundlesFixed}
          />
          <div className="form-actions">
            <Button onClick={() => setStep('account')}>Back</Button>
            {isRole ? (
              <Button variant="primary" busy={busy} onClick={() => void prepareRole()}>
                Create the role set-up
              </Button>
            ) : (
              <Button variant="primary" onClick={() => setStep('connect')}>
                Next: access keys
              </Button>
            )}
          </div>
        </Card>
      ) : null}

      {reachable === 'connect' ? (
        <>
          {isRole && connection ? (
            <Card>
              <FocusHeading>Create the role</FocusHeading>
              <CreateRole
                connection={withSessionLinks(connection, session.id)}
                onMethod={recordMethod}
                providerError={errors.oidcProvider}
              />
            </Card>
          ) : null}
          {!isRole ? (
            <>
              <FocusHeading hidden>Connect with access keys</FocusHeading>
              <DedicatedUser
                partition={choices.partition}
                selection={{ bundles: chosenBundles, regions: choices.selection.regions }}
              />
            </>
          ) : null}
          <Card title={isRole ? 'The role ARN' : 'Access keys'}>
            <form
              noValidate
              autoComplete="off"
              onSubmit={(event) => {
                event.preventDefault();
                void validate();
              }}
            >
              {isRole ? (
                <>
                  <Field
                    label="Role ARN"
                    error={errors.roleArn}
                    description={`The ARN of the role you created, such as ${exampleRoleArn(choices.partition, connection?.roleName)}.`}
                  >
                    <TextInput
                      value={roleArn}
                      spellCheck={false}
                      onChange={(event) => setRoleArn(event.target.value)}
                    />
                  </Field>
                  <StackWaiting waiting={connection?.reportsBack === true} pollError={pollError} />
                </>
              ) : (
                <AccessKeysFields keys={keys} onChange={setKeys} errors={errors} />
              )}
              {isCurrent ? <ValidationReport result={result} allowDegraded={false} /> : null}
              <div className="form-actions">
                <Button onClick={() => setStep('permissions')}>Back</Button>
                <Button type="submit" busy={busy}>
                  Validate
                </Button>
                <Button
                  variant="primary"
                  disabled={!canComplete}
                  busy={busy}
                  onClick={() => void complete()}
                  title={canComplete ? undefined : 'Validate first.'}
                >
                  Connect the account
                </Button>
              </div>
            </form>
          </Card>
        </>
      ) : null}
    </div>
  );
}

const METHOD_TEXT: Record<Method, (brand: string) => string> = {
  oidc_role: (brand) =>
    `A role that trusts ${brand}’s own identity provider. No keys anywhere and no external ID to keep.`,
  role: (brand) =>
    `A role in your account that trusts ${brand}, with an external ID only ${brand} knows. No long-lived secret leaves your account.`,
  access_keys: () =>
    'The access keys of a dedicated IAM user. Use them where roles are not possible.',
};

/** What the account needs: new keys, the permission update, or a new role. */
function fixOf(account: NonNullable<HostedSession['account']>): 'keys' | 'permissions' | 'role' {
  if (account.method === 'access_keys') return 'keys';
  if (account.status === 'invalid') return 'role';
  return 'permissions';
}

function FixWizard({ client, session, onSession, onEnded }: WizardProps) {
  const account = session.account;
  const [keys, setKeys] = useState({ accessKeyId: '', secretAccessKey: '' });
  const [roleArn, setRoleArn] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [update, setUpdate] = useState<PermissionsUpdate | undefined>();
  const [loadError, setLoadError] = useState<string | undefined>();
  const [tried, setTried] = useState(false);
  const inFlight = useRef(false);
  const fix = account ? fixOf(account) : 'keys';
  const handlers = useRef({ onEnded });
  handlers.current = { onEnded };

  useEffect(() => {
    if (fix !== 'permissions') return;
    let current = true;
    client.connect.permissionsUpdate(session.id).then(
      (next) => current && setUpdate(next),
      (failure: unknown) =>
        current && !handlers.current.onEnded(failure) && setLoadError(describeError(failure)),
    );
    return () => {
      current = false;
    };
  }, [client, session.id, fix]);

  if (!account) {
    return (
      <Alert tone="danger" title="The account to fix is not available">
        Go back and ask for a new link.
      </Alert>
    );
  }

  const submit = async (body: HostedFixInput) => {
    if (inFlight.current) return;
    if (!('verify' in body)) {
      const checked = replaceCredentialsRequestSchema.safeParse(body);
      if (!checked.success) {
        return setErrors(
          Object.fromEntries(
            checked.error.issues.map((issue) => [
              String(issue.path[0] ?? 'form'),
              { message: 'This is required.' },
            ]),
          ),
        );
      }
    }
    inFlight.current = true;
    setBusy(true);
    setErrors({});
    try {
      const next = await client.connect.complete(session.id, body);
      setTried(true);
      setKeys({ accessKeyId: '', secretAccessKey: '' });
      onSession(next);
    } catch (failure) {
      if (!onEnded(failure)) setErrors(problemErrors(failure));
    } finally {
      inFlight.current = false;
      setBusy(false);
    }
  };

  const failing = account.checks.filter((c) => c.status === 'failed' || c.status === 'error');
  return (
    <div className="wizard">
      <Card>
        <FocusHeading>Fix your AWS account</FocusHeading>
        <dl className="facts">
          <div>
            <dt>Account</dt>
            <dd>{account.name}</dd>
          </div>
          <div>
            <dt>AWS account</dt>
            <dd>
              <code>{account.awsAccountId}</code>
            </dd>
          </div>
          <div>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={account.status} />
            </dd>
          </div>
        </dl>
        <div aria-live="polite">
          {tried && account.status !== 'valid' ? (
            <Alert
              tone={account.status === 'invalid' ? 'danger' : 'warning'}
              title="It is not fixed yet"
            >
              The check still finds what is listed below. Fix it and try again.
            </Alert>
          ) : null}
        </div>
        {failing.length > 0 ? (
          <>
            <h2 className="card-title hosted-section-title">What is wrong</h2>
            <ChecksList checks={failing} />
          </>
        ) : null}
        <FindingsList findings={account.findings} />
      </Card>

      <ProblemsElsewhere
        errors={Object.entries(errors).filter(
          ([field]) => !['accessKeyId', 'secretAccessKey', 'roleArn'].includes(field),
        )}
      />

      {fix === 'keys' ? (
        <Card title="New access keys">
          <p className="muted">
            Create a new access key for the IAM user <code>{account.principalArn}</code> and enter
            it here.
          </p>
          <form
            noValidate
            autoComplete="off"
            onSubmit={(event) => {
              event.preventDefault();
              void submit({ method: 'access_keys', ...keys });
            }}
          >
            <AccessKeysFields keys={keys} onChange={setKeys} errors={errors} />
            <div className="form-actions">
              <Button type="submit" variant="primary" busy={busy}>
                Check and save the keys
              </Button>
            </div>
          </form>
        </Card>
      ) : null}

      {fix === 'role' ? (
        <>
          {session.connection ? (
            <Card title="Create the role again">
              <CreateRole connection={withSessionLinks(session.connection, session.id)} />
            </Card>
          ) : null}
          <Card title="The role ARN">
            <form
              noValidate
              onSubmit={(event) => {
                event.preventDefault();
                void submit({ method: account.method as 'role', roleArn });
              }}
            >
              <Field
                label="Role ARN"
                error={errors.roleArn}
                description={`The ARN of the role, such as ${exampleRoleArn(account.partition)}.`}
              >
                <TextInput
                  value={roleArn}
                  spellCheck={false}
                  onChange={(event) => setRoleArn(event.target.value)}
                />
              </Field>
              <div className="form-actions">
                <Button type="submit" variant="primary" busy={busy}>
                  Check the role
                </Button>
              </div>
            </form>
          </Card>
        </>
      ) : null}

      {fix === 'permissions' ? (
        <Card title="Update the permissions">
          {loadError ? (
            <Alert tone="danger">{loadError}</Alert>
          ) : update ? (
            <>
              <UpdateArtefacts update={update} account={account} bundleName={(b) => b} />
              <div className="form-actions">
                <Button variant="primary" busy={busy} onClick={() => void submit({ verify: true })}>
                  I’ve applied it — check again
                </Button>
              </div>
            </>
          ) : (
            <Spinner label="Preparing the update…" />
          )}
        </Card>
      ) : null}
      <p className="muted small">
        {PARTITION_LABELS[account.partition] ?? account.partition} · {METHOD_LABELS[account.method]}
      </p>
    </div>
  );
}
