import {
  createWebhookRequestSchema,
  MAX_PREVIOUS_SECRET_HOURS,
  rotateWebhookSecretRequestSchema,
  updateWebhookRequestSchema,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
} from '@onramp/contracts';
import type { OnrampClient, WebhookDelivery, WebhookEndpoint } from '@onramp/sdk';
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { dateTime, timeAgo } from '../lib/format.ts';
import { describeError, type FieldErrors, useForm, validateWith } from '../lib/forms.ts';
import { usePages } from '../lib/pages.ts';
import {
  Alert,
  Button,
  Card,
  CopyValue,
  Field,
  FieldError,
  Modal,
  OtherErrors,
  Spinner,
  StatusBadge,
  TextInput,
} from './ui.tsx';

export const EVENT_LABELS: Record<WebhookEventType, string> = {
  'account.created': 'An account is connected',
  'account.updated': 'An account is renamed or its permissions change',
  'account.deleted': 'An account is deleted',
  'account.health_changed': 'An account’s health changes',
  'account.credentials_rotated': 'An account’s credentials are replaced',
  'account.external_id_changed':
    'An account’s external ID is regenerated, taken into use, or its old one dropped',
  'account.permissions_outdated': 'A catalog change leaves an account’s permissions out of date',
  'account.permissions_updated': 'An account’s permission update is applied and verified',
  'organization.account_discovered': 'A member account of an organization is found',
  'organization.account_connected': 'A member account of an organization is connected',
  'organization.account_failed': 'A member account of an organization cannot be connected',
  'organization.account_left': 'A member account leaves its organization or is closed',
  'connect_session.completed': 'A customer completes a hosted connect session',
};

/** Deliveries per page of an endpoint's log. */
export const DELIVERIES_PAGE_SIZE = 20;
/** Endpoints per page of the list. */
export const ENDPOINTS_PAGE_SIZE = 50;

/** A signing secret to show this once: just after the endpoint was added, or its secret rotated. */
interface SecretShown {
  title: string;
  secret: string;
  endpoint: WebhookEndpoint;
  rotated: boolean;
}

/**
 * Webhook endpoints, their delivery logs and signing secrets. The same panel serves a tenant admin
 * (the tenant's endpoints) and the operator (endpoints that receive every tenant's events): the
 * client it is given decides which, by the tenant it names or not.
 */
export function WebhooksPanel({
  client,
  scope,
}: {
  client: OnrampClient;
  scope: 'tenant' | 'operator';
}) {
  const listPage = useCallback(
    (cursor: string | undefined) =>
      client.webhooks
        .list({ limit: ENDPOINTS_PAGE_SIZE, ...(cursor ? { cursor } : {}) })
        .then((page) => ({ items: page.endpoints, next: page.next })),
    [client],
  );
  const {
    items: endpoints,
    setItems: setEndpoints,
    next,
    error,
    reload,
    loadMore,
  } = usePages(listPage);
  const [shown, setShown] = useState<SecretShown | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const replace = (endpoint: WebhookEndpoint) =>
    setEndpoints((list) => list?.map((e) => (e.id === endpoint.id ? endpoint : e)));

  return (
    <div className="stack">
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {notice ? <Alert tone="success">{notice}</Alert> : null}
      {shown ? <SecretOnce shown={shown} onDone={() => setShown(undefined)} /> : null}
      <Card title={scope === 'operator' ? 'Operator webhook endpoints' : 'Webhook endpoints'}>
        <p className="muted">
          {scope === 'operator'
            ? 'These endpoints receive the events of every tenant, signed with their own secret.'
            : 'Onramp POSTs a signed JSON event to each endpoint when something about an account happens.'}
        </p>
        {!endpoints ? (
          error ? null : (
            <Spinner />
          )
        ) : endpoints.length === 0 ? (
          <p className="muted">No endpoints yet: add the first one below.</p>
        ) : (
          <ul className="endpoints">
            {endpoints.map((endpoint) => (
              <EndpointItem
                key={endpoint.id}
                client={client}
                endpoint={endpoint}
                onChanged={(e, message) => {
                  replace(e);
                  setNotice(message);
                }}
                onSecret={(next) => {
                  replace(next.endpoint);
                  setNotice(undefined);
                  setShown(next);
                }}
                onDeleted={(message) => {
                  setEndpoints((list) => list?.filter((e) => e.id !== endpoint.id));
                  setNotice(message);
                }}
              />
            ))}
          </ul>
        )}
        {next ? (
          <div className="form-actions">
            <Button onClick={() => void loadMore()}>More endpoints</Button>
          </div>
        ) : null}
      </Card>
      <AddEndpoint
        client={client}
        onCreated={(created) => {
          setNotice(undefined);
          setShown(created);
          void reload();
        }}
      />
    </div>
  );
}

/** The secret, once, with its copy button and how to verify a delivery with it. */
function SecretOnce({ shown, onDone }: { shown: SecretShown; onDone: () => void }) {
  const ref = useRef<HTMLDivElement>(null);
  // Keyboard and screen-reader users land on the secret: it is the one thing to do next.
  useEffect(() => ref.current?.focus(), []);
  const previousUntil = shown.endpoint.previousSecretExpiresAt;
  return (
    <div ref={ref} tabIndex={-1} className="secret-once">
      <Alert tone="success" title={shown.title}>
        <p>
          Copy the signing secret of <code className="wrap">{shown.endpoint.url}</code> now: Onramp
          stores it sealed and will not show it again.
        </p>
        <CopyValue value={shown.secret} />
        {shown.rotated ? (
          <p>
            {previousUntil
              ? `The old secret still signs every delivery beside the new one until ${dateTime(previousUntil)}: move your receiver to the new secret before then.`
              : 'The old secret no longer signs deliveries.'}
          </p>
        ) : null}
        <details className="verify-note">
          <summary>How to verify a delivery</summary>
          <p>
            Each delivery carries <code>Onramp-Webhook-Timestamp</code> (Unix seconds) and{' '}
            <code>Onramp-Webhook-Signature: v1=&lt;hex&gt;</code>, the HMAC-SHA256 of{' '}
            <code>{'${timestamp}.${body}'}</code> with this secret. Compute it over the raw body
            before parsing it, compare in constant time, and refuse timestamps more than five
            minutes old. While an old secret is still valid the header holds one signature per
            secret, separated by a space: accept the delivery when one matches. The README’s
            “Webhooks” section has the code.
          </p>
        </details>
        <div className="form-actions">
          <Button onClick={onDone}>I have copied it</Button>
        </div>
      </Alert>
    </div>
  );
}

/** The event checkboxes of the add and edit forms, with the field's error. */
function EventsFieldset({
  value,
  onChange,
  error,
}: {
  value: WebhookEventType[];
  onChange: (events: WebhookEventType[]) => void;
  error: FieldErrors[string] | undefined;
}) {
  const id = useId();
  return (
    <fieldset
      className={`choice-group${error ? ' field-invalid' : ''}`}
      {...(error ? { 'aria-describedby': `${id}-error` } : {})}
    >
      <legend className="field-label">Events</legend>
      {WEBHOOK_EVENT_TYPES.map((type) => (
        <label key={type} className="inline-check">
          <input
            type="checkbox"
            checked={value.includes(type)}
            onChange={(event) =>
              onChange(event.target.checked ? [...value, type] : value.filter((t) => t !== type))
            }
          />
          <span>
            {EVENT_LABELS[type]} <code>{type}</code>
          </span>
        </label>
      ))}
      <FieldError id={`${id}-error`} error={error} />
    </fieldset>
  );
}

interface EndpointSettings {
  events: WebhookEventType[];
  description: string;
  enabled: boolean;
}

/** What the add and edit forms share: the events, the description and whether it is enabled. */
function EndpointSettingsFields<T extends EndpointSettings>({
  form,
  setForm,
  errors,
  enabledLabel,
}: {
  form: T;
  setForm: (form: T) => void;
  errors: FieldErrors;
  enabledLabel: string;
}) {
  return (
    <>
      <EventsFieldset
        value={form.events}
        onChange={(events) => setForm({ ...form, events })}
        error={errors.events}
      />
      <Field label="Description" optional error={errors.description}>
        <TextInput
          value={form.description}
          onChange={(event) => setForm({ ...form, description: event.target.value })}
        />
      </Field>
      <label className="inline-check">
        <input
          type="checkbox"
          checked={form.enabled}
          onChange={(event) => setForm({ ...form, enabled: event.target.checked })}
        />
        {enabledLabel}
      </label>
    </>
  );
}

const EMPTY_FORM = {
  url: '',
  events: ['account.health_changed'] as WebhookEventType[],
  description: '',
  enabled: true,
};

function AddEndpoint({
  client,
  onCreated,
}: {
  client: OnrampClient;
  onCreated: (shown: SecretShown) => void;
}) {
  const { form, setForm, errors, setErrors, busy, field, reset, submit, onSubmit } =
    useForm(EMPTY_FORM);
  const add = () => {
    const checked = validateWith(createWebhookRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => {
      const created = await client.webhooks.create(checked.data);
      reset();
      onCreated({
        title: 'Webhook endpoint added',
        secret: created.secret,
        endpoint: created.endpoint,
        rotated: false,
      });
    });
  };
  return (
    <Card title="Add an endpoint">
      <form noValidate onSubmit={onSubmit(add)}>
        <Field
          label="Endpoint URL"
          error={errors.url}
          description="http(s), reachable from Onramp; it must answer 2xx within 10 seconds."
        >
          <TextInput
            type="url"
            inputMode="url"
            spellCheck={false}
            placeholder="https://platform.example.com/hooks/onramp"
            {...field('url')}
          />
        </Field>
        <EndpointSettingsFields
          form={form}
          setForm={setForm}
          errors={errors}
          enabledLabel="Enabled: send events to it from now on"
        />
        <OtherErrors errors={errors} fields={['url', 'events', 'description']} />
        <div className="form-actions">
          <Button type="submit" variant="primary" busy={busy}>
            Add endpoint
          </Button>
        </div>
      </form>
    </Card>
  );
}

type Panel = 'edit' | 'rotate' | undefined;

function EndpointItem({
  client,
  endpoint,
  onChanged,
  onSecret,
  onDeleted,
}: {
  client: OnrampClient;
  endpoint: WebhookEndpoint;
  onChanged: (endpoint: WebhookEndpoint, message: string) => void;
  onSecret: (shown: SecretShown) => void;
  onDeleted: (message: string) => void;
}) {
  const id = useId();
  const [panel, setPanel] = useState<Panel>();
  const [showLog, setShowLog] = useState(false);
  const [logVersion, setLogVersion] = useState(0);
  const [testing, setTesting] = useState(false);
  const [testResult, setTestResult] = useState<
    { tone: 'success' | 'warning' | 'danger'; text: string } | undefined
  >();
  const [deleting, setDeleting] = useState(false);
  const toggle = (next: Panel) => setPanel(panel === next ? undefined : next);
  const previousUntil =
    endpoint.previousSecretExpiresAt && Date.parse(endpoint.previousSecretExpiresAt) > Date.now()
      ? endpoint.previousSecretExpiresAt
      : null;

  const sendTest = async () => {
    setTesting(true);
    try {
      const delivery = await client.webhooks.test(endpoint.id);
      setTestResult(
        delivery.status === 'delivered'
          ? {
              tone: 'success',
              text: `Test event delivered: the endpoint answered ${delivery.lastStatusCode}.`,
            }
          : {
              tone: 'warning',
              text: `Test event not delivered: ${delivery.lastError ?? `the endpoint answered ${delivery.lastStatusCode}`} Onramp retries it.`,
            },
      );
      setShowLog(true);
      setLogVersion((v) => v + 1);
    } catch (failure) {
      setTestResult({ tone: 'danger', text: describeError(failure) });
    } finally {
      setTesting(false);
    }
  };

  return (
    <li className="endpoint" aria-labelledby={`${id}-url`} data-endpoint={endpoint.id}>
      <div className="endpoint-header">
        <h3 id={`${id}-url`} className="endpoint-url">
          <code className="wrap">{endpoint.url}</code>
        </h3>
        <StatusBadge status={endpoint.enabled ? 'enabled' : 'disabled'} />
      </div>
      {endpoint.description ? <p className="endpoint-description">{endpoint.description}</p> : null}
      <p className="endpoint-events">
        <span className="visually-hidden">Events: </span>
        {endpoint.events.map((type) => (
          <code key={type} className="action" title={EVENT_LABELS[type]}>
            {type}
          </code>
        ))}
      </p>
      <p className="muted small">
        Added {dateTime(endpoint.createdAt)}
        {previousUntil ? ` · old secret valid until ${dateTime(previousUntil)}` : ''}
      </p>
      <div className="endpoint-actions">
        <Button
          className="btn-small"
          aria-expanded={panel === 'edit'}
          onClick={() => toggle('edit')}
        >
          Edit
        </Button>
        <Button className="btn-small" busy={testing} onClick={() => void sendTest()}>
          Send test event
        </Button>
        <Button className="btn-small" aria-expanded={showLog} onClick={() => setShowLog(!showLog)}>
          {showLog ? 'Hide deliveries' : 'Deliveries'}
        </Button>
        <Button
          className="btn-small"
          aria-expanded={panel === 'rotate'}
          onClick={() => toggle('rotate')}
        >
          Rotate secret
        </Button>
        <Button
          variant="ghost"
          className="btn-small btn-danger-text"
          onClick={() => setDeleting(true)}
        >
          Delete
        </Button>
      </div>
      <div aria-live="polite">
        {testResult ? <Alert tone={testResult.tone}>{testResult.text}</Alert> : null}
      </div>
      {panel === 'edit' ? (
        <EditEndpoint
          client={client}
          endpoint={endpoint}
          onSaved={(e) => {
            setPanel(undefined);
            onChanged(e, 'Endpoint saved.');
          }}
          onCancel={() => setPanel(undefined)}
        />
      ) : null}
      {panel === 'rotate' ? (
        <RotateSecret
          client={client}
          endpoint={endpoint}
          onRotated={(shown) => {
            setPanel(undefined);
            onSecret(shown);
          }}
          onCancel={() => setPanel(undefined)}
        />
      ) : null}
      {showLog ? <DeliveryLog key={logVersion} client={client} endpointId={endpoint.id} /> : null}
      {deleting ? (
        <DeleteEndpoint
          client={client}
          endpoint={endpoint}
          onDeleted={() => onDeleted(`Endpoint ${endpoint.url} deleted.`)}
          onClose={() => setDeleting(false)}
        />
      ) : null}
    </li>
  );
}

function EditEndpoint({
  client,
  endpoint,
  onSaved,
  onCancel,
}: {
  client: OnrampClient;
  endpoint: WebhookEndpoint;
  onSaved: (endpoint: WebhookEndpoint) => void;
  onCancel: () => void;
}) {
  const { form, setForm, errors, setErrors, busy, submit, onSubmit } = useForm({
    events: endpoint.events,
    description: endpoint.description,
    enabled: endpoint.enabled,
  });
  const save = () => {
    const checked = validateWith(updateWebhookRequestSchema, form);
    if (!checked.ok) return setErrors(checked.errors);
    return submit(async () => onSaved(await client.webhooks.update(endpoint.id, checked.data)));
  };
  return (
    <form
      noValidate
      className="endpoint-panel"
      aria-label={`Edit ${endpoint.url}`}
      onSubmit={onSubmit(save)}
    >
      <EndpointSettingsFields
        form={form}
        setForm={setForm}
        errors={errors}
        enabledLabel="Enabled"
      />
      <OtherErrors errors={errors} fields={['events', 'description']} />
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          Save endpoint
        </Button>
      </div>
    </form>
  );
}

function RotateSecret({
  client,
  endpoint,
  onRotated,
  onCancel,
}: {
  client: OnrampClient;
  endpoint: WebhookEndpoint;
  onRotated: (shown: SecretShown) => void;
  onCancel: () => void;
}) {
  const { form, errors, setErrors, busy, field, submit, onSubmit } = useForm({ hours: '24' });
  const rotate = () => {
    const text = form.hours.trim();
    const checked = validateWith(rotateWebhookSecretRequestSchema, {
      previousSecretValidForHours: /^\d+$/.test(text)
        ? Number(text)
        : text === ''
          ? undefined
          : NaN,
    });
    if (!checked.ok) {
      return setErrors({
        previousSecretValidForHours: {
          message: `Enter whole hours, from 0 to ${MAX_PREVIOUS_SECRET_HOURS}.`,
        },
      });
    }
    return submit(async () => {
      const rotated = await client.webhooks.rotateSecret(endpoint.id, checked.data);
      onRotated({
        title: 'Signing secret rotated',
        secret: rotated.secret,
        endpoint: rotated.endpoint,
        rotated: true,
      });
    });
  };
  return (
    <form
      noValidate
      className="endpoint-panel"
      aria-label={`Rotate the secret of ${endpoint.url}`}
      onSubmit={onSubmit(rotate)}
    >
      <p className="muted">
        Onramp makes a new signing secret and shows it once. The old one keeps signing deliveries
        beside it for the hours you choose, so your receiver can switch without missing one.
      </p>
      <Field
        label="Keep the old secret valid for (hours)"
        error={errors.previousSecretValidForHours}
        description={`0 to ${MAX_PREVIOUS_SECRET_HOURS}; 0 stops the old secret at once.`}
      >
        <TextInput inputMode="numeric" {...field('hours')} />
      </Field>
      <OtherErrors errors={errors} fields={['previousSecretValidForHours']} />
      <div className="form-actions">
        <Button onClick={onCancel}>Cancel</Button>
        <Button type="submit" variant="primary" busy={busy}>
          Rotate secret
        </Button>
      </div>
    </form>
  );
}

function DeleteEndpoint({
  client,
  endpoint,
  onDeleted,
  onClose,
}: {
  client: OnrampClient;
  endpoint: WebhookEndpoint;
  onDeleted: () => void;
  onClose: () => void;
}) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await client.webhooks.delete(endpoint.id);
      onDeleted();
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  };
  return (
    <Modal title="Delete this webhook endpoint?" onClose={onClose}>
      <p>
        Onramp stops sending events to <code className="wrap">{endpoint.url}</code> and deletes its
        signing secret and delivery log.
      </p>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      <div className="form-actions">
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="danger" busy={busy} onClick={() => void remove()}>
          Delete endpoint
        </Button>
      </div>
    </Modal>
  );
}

/** An endpoint's deliveries, newest first: what was sent, how often, and what the endpoint said. */
function DeliveryLog({ client, endpointId }: { client: OnrampClient; endpointId: string }) {
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | undefined>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const load = useCallback(
    () =>
      client.webhooks.deliveries(endpointId, { limit: DELIVERIES_PAGE_SIZE }).then(
        (page) => {
          setDeliveries(page.deliveries);
          setNext(page.next);
          setError(undefined);
        },
        (f: unknown) => setError(describeError(f)),
      ),
    [client, endpointId],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const more = async () => {
    if (!next) return;
    setBusy(true);
    try {
      const page = await client.webhooks.deliveries(endpointId, {
        limit: DELIVERIES_PAGE_SIZE,
        cursor: next,
      });
      setDeliveries([...(deliveries ?? []), ...page.deliveries]);
      setNext(page.next);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="endpoint-panel" aria-label="Delivery log">
      <div className="endpoint-panel-header">
        <h4>Delivery log</h4>
        <Button variant="ghost" className="btn-small" onClick={() => void load()}>
          Refresh
        </Button>
      </div>
      {error ? <Alert tone="danger">{error}</Alert> : null}
      {!deliveries ? (
        error ? null : (
          <Spinner />
        )
      ) : deliveries.length === 0 ? (
        <p className="muted">Nothing sent yet. “Send test event” sends one now.</p>
      ) : (
        <div className="table-wrap">
          <table className="table table-stack deliveries">
            <thead>
              <tr>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Times</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((delivery) => (
                <tr key={delivery.id} data-delivery={delivery.id}>
                  <td data-label="Event">
                    <code>{delivery.eventType}</code>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={delivery.status} />
                  </td>
                  <td data-label="Attempts">{delivery.attempts}</td>
                  <td data-label="Last answer">
                    {delivery.lastStatusCode !== null ? (
                      <strong>HTTP {delivery.lastStatusCode}</strong>
                    ) : null}
                    {delivery.lastError ? (
                      <p className="delivery-error">{delivery.lastError}</p>
                    ) : null}
                    {delivery.lastResponseExcerpt ? (
                      <pre className="excerpt">{delivery.lastResponseExcerpt}</pre>
                    ) : null}
                    {delivery.lastStatusCode === null && !delivery.lastError ? (
                      <span className="muted">Not tried yet</span>
                    ) : null}
                  </td>
                  <td data-label="Times" className="small">
                    <div>Created {dateTime(delivery.createdAt)}</div>
                    {delivery.lastAttemptAt ? (
                      <div>Last tried {timeAgo(delivery.lastAttemptAt)}</div>
                    ) : null}
                    {delivery.deliveredAt ? (
                      <div>Delivered {dateTime(delivery.deliveredAt)}</div>
                    ) : null}
                    {delivery.nextAttemptAt ? (
                      <div>Next try {dateTime(delivery.nextAttemptAt)}</div>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next ? (
        <div className="form-actions">
          <Button busy={busy} onClick={() => void more()}>
            Older deliveries
          </Button>
        </div>
      ) : null}
    </section>
  );
}
