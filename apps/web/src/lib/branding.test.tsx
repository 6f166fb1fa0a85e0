// @vitest-environment happy-dom
import type { Branding } from '@onramp/sdk';
import { render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { AddAccountWizard } from '../pages/AddAccount.tsx';
import { CATALOG, fakeClient, OFFERS, previewOf, renderInConsole } from '../test-support.tsx';
import { BrandingProvider, BrandMark, SupportLink } from './branding.tsx';

const GLOBEX: Branding = {
  name: 'Globex Portal',
  logoUrl: '/v1/branding/logo?v=0123456789abcdef',
  colors: { primary: '#aa3300', accent: '#0055aa' },
  supportUrl: 'https://help.globex.example/aws',
};

describe('the operator’s brand in the console', () => {
  it('names the platform in the wizard’s texts, never Onramp', async () => {
    const client = fakeClient({
      'branding.get': async () => GLOBEX,
      previewPolicy: async (input: { partition: string }) => previewOf(input),
    });
    renderInConsole(
      <BrandingProvider client={client}>
        <AddAccountWizard offers={OFFERS} catalog={CATALOG} />
      </BrandingProvider>,
      client,
    );
    await screen.findByText('How Globex Portal signs in');
    expect(
      screen.getByText(
        /A role in your account that trusts Globex Portal, with an external ID only Globex Portal knows/,
      ),
    ).toBeTruthy();
    expect(document.body.textContent).not.toMatch(/Onramp/);
  });

  it('applies the colours app-wide, and shows the logo, name and support link', async () => {
    const client = fakeClient({ 'branding.get': async () => GLOBEX });
    render(
      <BrandingProvider client={client}>
        <header>
          <BrandMark />
        </header>
        <footer>
          <SupportLink />
        </footer>
      </BrandingProvider>,
    );
    await screen.findByText('Globex Portal');
    const root = document.documentElement.style;
    expect(root.getPropertyValue('--primary')).toBe('#aa3300');
    expect(root.getPropertyValue('--accent')).toBe('#0055aa');
    expect(root.getPropertyValue('--primary-soft')).toMatch(/^#[0-9a-f]{6}$/);
    expect(document.querySelector('header img')?.getAttribute('src')).toBe(GLOBEX.logoUrl);
    const help = screen.getByRole('link', { name: 'Help from Globex Portal' });
    expect(help.getAttribute('href')).toBe('https://help.globex.example/aws');
    await waitFor(() => expect(document.title).toBe('Globex Portal'));
  });

  it('never links a support URL that is not https or mailto', async () => {
    const client = fakeClient({
      'branding.get': async () => ({ ...GLOBEX, supportUrl: 'javascript:alert(1)' }),
    });
    render(
      <BrandingProvider client={client}>
        <SupportLink />
      </BrandingProvider>,
    );
    await waitFor(() =>
      expect(document.documentElement.style.getPropertyValue('--primary')).toBe('#aa3300'),
    );
    expect(screen.queryByRole('link')).toBeNull();
  });
});
