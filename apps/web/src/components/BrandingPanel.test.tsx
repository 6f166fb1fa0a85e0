// @vitest-environment happy-dom
import { ApiProblem, type OperatorSettings } from '@onramp/sdk';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderInConsole } from '../test-support.tsx';
import { BrandingPanel } from './BrandingPanel.tsx';

const SETTINGS: OperatorSettings = {
  branding: {
    name: 'Acme Cloud',
    logoUrl: null,
    colors: { primary: '#2f4a6d', accent: '#3c7a5a' },
    supportUrl: null,
  },
  returnUrls: ['https://app.acme.example'],
  configuredReturnUrls: [],
  fromConfiguration: [],
};

function panel(calls: Record<string, unknown>) {
  const client = fakeClient({ 'branding.settings': async () => SETTINGS, ...calls });
  renderInConsole(<BrandingPanel client={client} />, client, { isOperator: true });
}

describe('the operator’s branding tab', () => {
  it('saves the name, colours, support link and return URLs, previewing the colours live', async () => {
    const updateSettings = vi.fn(async (input: Record<string, unknown>) => ({
      ...SETTINGS,
      branding: {
        ...SETTINGS.branding,
        name: input.brandName as string,
        colors: input.colors as OperatorSettings['branding']['colors'],
        supportUrl: input.supportUrl as string,
      },
      returnUrls: input.returnUrls as string[],
    }));
    panel({ 'branding.updateSettings': updateSettings });
    const name = (await screen.findByLabelText('Product name')) as HTMLInputElement;
    expect(name.value).toBe('Acme Cloud');
    fireEvent.change(name, { target: { value: 'Globex Portal' } });
    fireEvent.change(screen.getByLabelText('Primary colour'), { target: { value: '#aa3300' } });
    // The preview shows the header in the colours being chosen, before anything is saved.
    const preview = screen.getByTestId('brand-preview');
    await waitFor(() => expect(preview.style.getPropertyValue('--primary')).toBe('#aa3300'));
    expect(preview.textContent).toContain('Globex Portal');
    fireEvent.change(screen.getByLabelText(/Support link/), {
      target: { value: 'https://help.globex.example' },
    });
    fireEvent.change(screen.getByLabelText(/Return URLs/), {
      target: { value: 'https://app.globex.example\n\nhttps://staging.globex.example/aws\n' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('The brand is saved.');
    expect(updateSettings).toHaveBeenCalledWith({
      brandName: 'Globex Portal',
      colors: { primary: '#aa3300', accent: '#3c7a5a' },
      supportUrl: 'https://help.globex.example',
      returnUrls: ['https://app.globex.example', 'https://staging.globex.example/aws'],
    });
  });

  it('shows the API’s refusal on the field it names', async () => {
    panel({
      'branding.updateSettings': async () => {
        throw new ApiProblem({
          status: 422,
          title: 'Validation failed',
          errors: [
            {
              field: 'supportUrl',
              code: 'invalid_format',
              message: 'The support link must be an https URL or mailto: (no other scheme).',
              hint: 'Use https://… or mailto:…',
            },
          ],
        });
      },
    });
    fireEvent.change(await screen.findByLabelText(/Support link/), {
      target: { value: 'ftp://help.example' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    const field = screen.getByLabelText(/Support link/);
    await waitFor(() => expect(field.getAttribute('aria-invalid')).toBe('true'));
    expect(screen.getByText(/must be an https URL or mailto:/)).toBeTruthy();
  });

  it('shows what configuration sets as read-only, says why, and does not send it', async () => {
    const updateSettings = vi.fn(async () => SETTINGS);
    panel({
      'branding.settings': async () => ({
        ...SETTINGS,
        configuredReturnUrls: ['https://configured.acme.example'],
        fromConfiguration: ['brandName', 'logo'],
      }),
      'branding.updateSettings': updateSettings,
    });
    const name = (await screen.findByLabelText('Product name')) as HTMLInputElement;
    expect(name.readOnly).toBe(true);
    expect(screen.getByText(/Set by configuration \(ONRAMP_BRAND_NAME\)/)).toBeTruthy();
    expect(screen.getByText(/Set by configuration \(ONRAMP_BRAND_LOGO_FILE\)/)).toBeTruthy();
    expect(screen.queryByLabelText('Logo file')).toBeNull();
    expect(screen.getByText('https://configured.acme.example')).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(updateSettings).toHaveBeenCalled());
    expect(updateSettings.mock.calls[0]).toEqual([
      expect.not.objectContaining({ brandName: expect.anything() }),
    ]);
  });

  it('uploads a PNG logo and refuses an SVG before sending it', async () => {
    const putLogo = vi.fn(async () => ({
      ...SETTINGS,
      branding: { ...SETTINGS.branding, logoUrl: '/v1/branding/logo?v=0123456789abcdef' },
    }));
    panel({ 'branding.putLogo': putLogo });
    const input = await screen.findByLabelText('Logo file');
    const svg = new File(['<svg><script>alert(1)</script></svg>'], 'logo.svg', {
      type: 'image/svg+xml',
    });
    fireEvent.change(input, { target: { files: [svg] } });
    expect(await screen.findByText(/SVG is refused: it can carry script/)).toBeTruthy();
    expect(putLogo).not.toHaveBeenCalled();

    // A name typed but not saved yet survives the upload (it is saved with Save).
    fireEvent.change(screen.getByLabelText('Product name'), { target: { value: 'Globex Portal' } });
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'logo.png', {
      type: 'image/png',
    });
    fireEvent.change(input, { target: { files: [png] } });
    await screen.findByText('The logo is uploaded.');
    expect((screen.getByLabelText('Product name') as HTMLInputElement).value).toBe('Globex Portal');
    expect(putLogo).toHaveBeenCalledWith(png, 'image/png');
    expect(screen.getByAltText('The current logo').getAttribute('src')).toBe(
      '/v1/branding/logo?v=0123456789abcdef',
    );
    expect(screen.getByRole('button', { name: 'Remove the logo' })).toBeTruthy();
  });
});
