// @vitest-environment happy-dom
import { ApiProblem, type OidcStatus } from '@onramp/sdk';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { OidcIssuerPanel } from './OidcIssuerPanel.tsx';

const STATUS: OidcStatus = {
  offered: true,
  issuer: 'https://onramp.example.test/oidc',
  unavailableReason: null,
  discoveryUrl: 'https://onramp.example.test/oidc/.well-known/openid-configuration',
  jwksUri: 'https://onramp.example.test/oidc/jwks.json',
  algorithm: 'RS256',
  tokenLifetimeSeconds: 300,
  rotationSeconds: 30 * 86_400,
  prePublicationSeconds: 86_400,
  audiences: {
    aws: 'sts.amazonaws.com',
    'aws-us-gov': 'sts.amazonaws.com',
    'aws-cn': 'sts.amazonaws.com.cn',
  },
  keys: [
    {
      kid: 'key-2',
      generation: 2,
      algorithm: 'RS256',
      state: 'signing',
      published: true,
      createdAt: '2030-01-01T10:00:00.000Z',
      signsFrom: '2030-01-02T10:00:00.000Z',
      retiredAt: null,
      unpublishAt: null,
    },
    {
      kid: 'key-1',
      generation: 1,
      algorithm: 'RS256',
      state: 'retired',
      published: true,
      createdAt: '2029-12-01T10:00:00.000Z',
      signsFrom: '2029-12-01T10:00:00.000Z',
      retiredAt: '2030-01-02T10:00:00.000Z',
      unpublishAt: '2030-01-02T10:10:00.000Z',
    },
  ],
  publish: [
    {
      target: 's3://acme-oidc/onramp',
      lastResult: { at: '2030-01-02T10:00:00.000Z', ok: false, error: 'AccessDenied on PutObject' },
    },
  ],
};

function panel(calls: Record<string, unknown>) {
  const client = fakeClient({ 'oidc.status': async () => STATUS, ...calls });
  renderInConsole(<OidcIssuerPanel client={client} />, client, { isOperator: true });
}

describe('the operator’s keyless issuer panel', () => {
  it('shows the issuer, the documents AWS fetches, the keys with their states, and publishing', async () => {
    panel({});
    await screen.findByText('Keyless IAM roles are offered');
    expect(screen.getByText(STATUS.issuer ?? '')).toBeTruthy();
    expect(screen.getByText(STATUS.jwksUri ?? '')).toBeTruthy();
    expect(screen.getByText('sts.amazonaws.com.cn')).toBeTruthy();
    expect(
      screen.getByText(/a new key every 30 days, published 1 day before it signs/),
    ).toBeTruthy();
    const rows = within(screen.getByRole('table')).getAllByRole('row').slice(1);
    expect(rows.map((r) => r.querySelector('code')?.textContent)).toEqual(['key-2', 'key-1']);
    expect(rows[1]?.textContent).toContain('published until its tokens expire');
    expect(screen.getByText(/AccessDenied on PutObject/)).toBeTruthy();
  });

  it('says why keyless roles are not offered, with no rotation to make', async () => {
    panel({
      'oidc.status': async () => ({
        ...STATUS,
        offered: false,
        issuer: null,
        discoveryUrl: null,
        jwksUri: null,
        keys: [],
        publish: [],
        unavailableReason:
          'ONRAMP_PUBLIC_URL is http://onramp.test; AWS accepts only https issuers.',
      }),
    });
    await screen.findByText('Keyless IAM roles are not offered');
    expect(screen.getByText(/AWS accepts only https issuers/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Rotate signing key' })).toBeNull();
  });

  it('rotates after a confirmation, immediately when asked, and reads the keys again', async () => {
    const rotate = vi.fn(async () => ({
      ...STATUS.keys[0],
      kid: 'key-3',
      generation: 3,
      state: 'signing',
      signsFrom: '2030-01-03T10:00:00.000Z',
    }));
    const status = vi.fn(async () => STATUS);
    panel({ 'oidc.rotate': rotate, 'oidc.status': status });
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate signing key' }));
    const dialog = screen.getByRole('dialog');
    expect(within(dialog).getByText(/signs after 1 day/)).toBeTruthy();
    expect(rotate).not.toHaveBeenCalled();
    fireEvent.click(
      within(dialog).getByRole('checkbox', { name: /Sign with the new key at once/ }),
    );
    fireEvent.click(within(dialog).getByRole('button', { name: 'Rotate' }));
    await screen.findByText(/Key key-3 signs from now/);
    expect(rotate).toHaveBeenCalledWith({ immediate: true });
    expect(status).toHaveBeenCalledTimes(2);
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it('keeps the confirmation open with the reason when a rotation is refused', async () => {
    const detail = 'A new key is already waiting to sign; rotate again after it signs.';
    panel({
      'oidc.rotate': async () => {
        throw new ApiProblem({ status: 409, title: 'Conflict', detail });
      },
    });
    fireEvent.click(await screen.findByRole('button', { name: 'Rotate signing key' }));
    fireEvent.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Rotate' }));
    await waitFor(() => expect(screen.getByText(new RegExp(detail.slice(0, 30)))).toBeTruthy());
    expect(screen.getByRole('dialog')).toBeTruthy();
  });
});
