// @vitest-environment happy-dom
import { ApiProblem, type WebhookDelivery, type WebhookEndpoint } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { WebhooksPanel } from './WebhooksPanel.tsx';

const SECRET = 'whsec_0123456789abcdefghijklmnopqrstuv';

const ENDPOINT: WebhookEndpoint = {
  id: 'wh_1',
  scope: 'tenant',
  tenantId: 'tenant_1',
  url: 'https://platform.example.com/hooks/onramp',
  description: 'Health alerts',
  events: ['account.health_changed', 'account.deleted'],
  enabled: true,
  previousSecretExpiresAt: null,
  createdAt: '2030-01-01T10:00:00.000Z',
  updatedAt: '2030-01-01T10:00:00.000Z',
};

const DELIVERED: WebhookDelivery = {
  id: 'whd_1',
  eventId: 'evt_1',
  eventType: 'webhook.test',
  status: 'delivered',
  attempts: 1,
  nextAttemptAt: null,
  lastAttemptAt: '2030-01-01T10:01:00.000Z',
  lastStatusCode: 200,
  lastResponseExcerpt: 'ok',
  lastError: null,
  deliveredAt: '2030-01-01T10:01:00.000Z',
  createdAt: '2030-01-01T10:01:00.000Z',
};

const PAGE = (endpoints: WebhookEndpoint[], next: string | null = null) => ({ endpoints, next });

function panel(calls: Record<string, unknown>) {
  const client = fakeClient(calls);
  renderInConsole(<WebhooksPanel client={client} scope="tenant" />, client);
}

const endpointItem = async (url: string) =>
  (await screen.findByRole('heading', { name: url })).closest('li') as HTMLElement;

describe('the webhooks panel', () => {
  it('adds an endpoint and shows its signing secret once, with how to verify it', async () => {
    let stored: WebhookEndpoint[] = [];
    const create = vi.fn(async (input: Pick<WebhookEndpoint, 'url' | 'events'>) => {
      const endpoint = { ...ENDPOINT, ...input, description: '' };
      stored = [endpoint];
      return { endpoint, secret: SECRET };
    });
    const list = vi.fn(async () => ({ endpoints: stored, next: null }));
    panel({ 'webhooks.list': list, 'webhooks.create': create });
    await screen.findByText('No endpoints yet: add the first one below.');

    fireEvent.change(screen.getByLabelText('Endpoint URL'), {
      target: { value: ENDPOINT.url },
    });
    fireEvent.click(screen.getByRole('checkbox', { name: /account\.deleted/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));

    await screen.findByText('Webhook endpoint added');
    expect(create).toHaveBeenCalledWith({
      url: ENDPOINT.url,
      events: ['account.health_changed', 'account.deleted'],
      description: '',
      enabled: true,
    });
    expect(screen.getByText(SECRET)).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: /^Copy: whsec_/ }));
    await waitFor(async () => expect(await navigator.clipboard.readText()).toBe(SECRET));
    expect(screen.getByText('Onramp-Webhook-Signature: v1=<hex>')).toBeTruthy();
    // The list is read again, and shows the endpoint, never its secret.
    const item = await endpointItem(ENDPOINT.url);
    expect(item.textContent).not.toContain(SECRET);
    expect(list).toHaveBeenCalledTimes(2);
    // The form is empty again, for the next endpoint.
    expect((screen.getByLabelText('Endpoint URL') as HTMLInputElement).value).toBe('');

    fireEvent.click(screen.getByRole('button', { name: 'I have copied it' }));
    expect(screen.queryByText(SECRET)).toBeNull();
    expect(document.body.textContent).not.toContain(SECRET);
  });

  it('reads the endpoints a page at a time with the API’s cursor', async () => {
    const second = { ...ENDPOINT, id: 'wh_2', url: 'https://platform.example.com/hooks/second' };
    const list = vi.fn(async (query: { cursor?: string }) =>
      query.cursor === 'page-2' ? PAGE([second]) : PAGE([ENDPOINT], 'page-2'),
    );
    panel({ 'webhooks.list': list });
    await endpointItem(ENDPOINT.url);
    expect(screen.queryByRole('heading', { name: second.url })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'More endpoints' }));
    await endpointItem(second.url);
    expect(list).toHaveBeenLastCalledWith({ limit: 50, cursor: 'page-2' });
    expect(screen.queryByRole('button', { name: 'More endpoints' })).toBeNull();
  });

  it('says so when the tenant has all the endpoints it may have', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'A limit of this tenant is reached',
        detail: 'This tenant may have at most 20 webhook endpoints. (tenant limit: maxWebhooks)',
        errors: [
          {
            field: 'webhooks',
            code: 'limit_reached',
            message: 'This tenant may have at most 20 webhook endpoints.',
            hint: 'Delete endpoints you no longer use, or ask the operator to raise maxWebhooks.',
          },
        ],
      });
    });
    panel({ 'webhooks.list': async () => PAGE([]), 'webhooks.create': create });
    await screen.findByText('No endpoints yet: add the first one below.');
    fireEvent.change(screen.getByLabelText('Endpoint URL'), {
      target: { value: ENDPOINT.url },
    });
    fireEvent.click(screen.getByRole('checkbox', { name: /account\.deleted/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));
    await screen.findByText(/may have at most 20 webhook endpoints/);
    expect(screen.getByText(/Delete endpoints you no longer use/)).toBeTruthy();
  });

  it('refuses no events before asking the server, and shows the server’s errors on their fields', async () => {
    const create = vi.fn(async () => {
      throw new ApiProblem({
        status: 422,
        title: 'Validation failed',
        errors: [
          {
            field: 'url',
            code: 'private_address',
            message: 'The URL resolves to a private address.',
            hint: 'Use a public address, or ask the operator to allow private ones.',
          },
        ],
      });
    });
    panel({ 'webhooks.list': async () => PAGE([]), 'webhooks.create': create });
    await screen.findByText('No endpoints yet: add the first one below.');

    fireEvent.change(screen.getByLabelText('Endpoint URL'), {
      target: { value: 'http://10.0.0.5/hook' },
    });
    fireEvent.click(screen.getByRole('checkbox', { name: /account\.health_changed/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));
    const events = screen.getByRole('group', { name: 'Events' });
    expect(within(events).getByText('Choose at least one event')).toBeTruthy();
    expect(events.className).toContain('field-invalid');
    expect(create).not.toHaveBeenCalled();

    fireEvent.click(screen.getByRole('checkbox', { name: /account\.health_changed/ }));
    fireEvent.click(screen.getByRole('button', { name: 'Add endpoint' }));
    await screen.findByText('The URL resolves to a private address.');
    const url = screen.getByLabelText('Endpoint URL');
    expect(url.getAttribute('aria-invalid')).toBe('true');
    expect(url.getAttribute('aria-describedby')).toContain(
      screen.getByText('The URL resolves to a private address.').id,
    );
    expect(screen.getByText(/ask the operator to allow private ones/)).toBeTruthy();
    expect(screen.queryByText('Choose at least one event')).toBeNull();
    expect(screen.queryByText(/whsec_/)).toBeNull();
  });

  it('rotates the secret: the new one shown once, the old one valid until the time the API gives', async () => {
    const until = '2030-01-03T10:00:00.000Z';
    const rotateSecret = vi.fn(async () => ({
      endpoint: { ...ENDPOINT, previousSecretExpiresAt: until },
      secret: SECRET,
    }));
    panel({ 'webhooks.list': async () => PAGE([ENDPOINT]), 'webhooks.rotateSecret': rotateSecret });
    const item = await endpointItem(ENDPOINT.url);
    fireEvent.click(within(item).getByRole('button', { name: 'Rotate secret' }));
    const hours = within(item).getByLabelText('Keep the old secret valid for (hours)');
    expect((hours as HTMLInputElement).value).toBe('24');

    fireEvent.change(hours, { target: { value: '500' } });
    fireEvent.click(
      within(item).getAllByRole('button', { name: 'Rotate secret' })[1] as HTMLElement,
    );
    expect(hours.getAttribute('aria-invalid')).toBe('true');
    expect(within(item).getByText('Enter whole hours, from 0 to 168.')).toBeTruthy();
    expect(rotateSecret).not.toHaveBeenCalled();

    fireEvent.change(hours, { target: { value: '48' } });
    fireEvent.click(
      within(item).getAllByRole('button', { name: 'Rotate secret' })[1] as HTMLElement,
    );
    await screen.findByText('Signing secret rotated');
    expect(rotateSecret).toHaveBeenCalledWith('wh_1', { previousSecretValidForHours: 48 });
    expect(screen.getByText(SECRET)).toBeTruthy();
    expect(screen.getByText(/The old secret still signs every delivery/)).toBeTruthy();
    expect(
      within(await endpointItem(ENDPOINT.url)).getByText(/old secret valid until/),
    ).toBeTruthy();
  });

  it('sends a test event and shows it in the delivery log; edits and deletes with confirmation', async () => {
    const test = vi.fn(async () => DELIVERED);
    const deliveries = vi.fn(async () => ({ deliveries: [DELIVERED], next: null }));
    const update = vi.fn(async (_id: string, input: Partial<WebhookEndpoint>) => ({
      ...ENDPOINT,
      ...input,
    }));
    const remove = vi.fn(async () => {});
    panel({
      'webhooks.list': async () => PAGE([ENDPOINT]),
      'webhooks.test': test,
      'webhooks.deliveries': deliveries,
      'webhooks.update': update,
      'webhooks.delete': remove,
    });
    const item = await endpointItem(ENDPOINT.url);
    fireEvent.click(within(item).getByRole('button', { name: 'Send test event' }));
    await within(item).findByText('Test event delivered: the endpoint answered 200.');
    const log = await within(item).findByRole('region', { name: 'Delivery log' });
    await within(log).findByText('webhook.test');
    expect(within(log).getByText('HTTP 200')).toBeTruthy();
    expect(deliveries).toHaveBeenCalledWith('wh_1', { limit: 20 });

    fireEvent.click(within(item).getByRole('button', { name: 'Edit' }));
    fireEvent.click(within(item).getByRole('checkbox', { name: /^Enabled/ }));
    fireEvent.click(within(item).getByRole('button', { name: 'Save endpoint' }));
    await screen.findByText('Endpoint saved.');
    expect(update).toHaveBeenCalledWith('wh_1', {
      events: ENDPOINT.events,
      description: ENDPOINT.description,
      enabled: false,
    });
    expect(within(item).getByText('Disabled')).toBeTruthy();

    fireEvent.click(within(item).getByRole('button', { name: 'Delete' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete this webhook endpoint?' });
    expect(remove).not.toHaveBeenCalled();
    fireEvent.click(within(dialog).getByRole('button', { name: 'Delete endpoint' }));
    await screen.findByText(`Endpoint ${ENDPOINT.url} deleted.`);
    expect(remove).toHaveBeenCalledWith('wh_1');
    expect(screen.queryByRole('heading', { name: ENDPOINT.url })).toBeNull();
  });
});
