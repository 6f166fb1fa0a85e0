import type { Branding, OnrampClient } from '@onramp/sdk';
import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';

/**
 * What the console shows before the brand has loaded, or when it cannot: no product's name or
 * colours, and never "Onramp" (customers are in the platform's world).
 */
export const NEUTRAL_BRAND: Branding = {
  name: 'the platform',
  logoUrl: null,
  colors: { primary: '#2f4a6d', accent: '#3c7a5a' },
  supportUrl: null,
};

/** Provided by BrandingProvider; a hosted connect session provides its own session's brand. */
export const BrandContext = createContext<Branding>(NEUTRAL_BRAND);

/** The operator's brand: its name in every text a customer reads, its logo, colours and support link. */
export function useBranding(): Branding {
  return useContext(BrandContext);
}

/**
 * Loads the brand once (GET /v1/branding, anonymous: the sign-in page shows it too), applies its
 * colours app-wide and provides it to every page. `onChange` lets the operator's settings page show
 * its change at once.
 */
export function BrandingProvider({
  client,
  children,
}: {
  client: Pick<OnrampClient, 'branding'>;
  children: ReactNode;
}) {
  const [brand, setBrand] = useState<Branding>(NEUTRAL_BRAND);
  useEffect(() => {
    let live = true;
    const load = () =>
      client.branding.get().then(
        (loaded) => {
          if (live) setBrand(loaded);
        },
        // Without the brand the console stays neutral; nothing else depends on it.
        () => {},
      );
    void load();
    const reload = () => void load();
    window.addEventListener(BRAND_CHANGED_EVENT, reload);
    return () => {
      live = false;
      window.removeEventListener(BRAND_CHANGED_EVENT, reload);
    };
  }, [client]);
  useEffect(() => {
    applyBrandColors(brand.colors);
    if (brand !== NEUTRAL_BRAND) document.title = brand.name;
  }, [brand]);
  return <BrandContext.Provider value={brand}>{children}</BrandContext.Provider>;
}

/** Fired by the operator's settings page after a change, so the whole console shows it at once. */
export const BRAND_CHANGED_EVENT = 'onramp:brand-changed';

/**
 * Sets the brand's colours as CSS variables on the document. Through the CSSOM (setProperty), which
 * the console's CSP allows; a `style` attribute would need 'unsafe-inline'. Only `#rrggbb` values
 * are taken, so nothing else can reach the style sheet.
 */
export function applyBrandColors(
  colors: Branding['colors'],
  root: HTMLElement = document.documentElement,
): void {
  const primary = hexColor(colors.primary);
  const accent = hexColor(colors.accent);
  if (primary) {
    root.style.setProperty('--primary', primary);
    root.style.setProperty('--primary-dark', mix(primary, '#000000', 0.2));
    root.style.setProperty('--primary-soft', mix(primary, '#ffffff', 0.9));
  }
  if (accent) root.style.setProperty('--accent', accent);
}

function hexColor(value: string): string | undefined {
  return /^#[0-9a-f]{6}$/i.test(value) ? value.toLowerCase() : undefined;
}

/** `a` moved `share` of the way towards `b`, both #rrggbb. */
export function mix(a: string, b: string, share: number): string {
  const channel = (hex: string, i: number) => Number.parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16);
  const parts = [0, 1, 2].map((i) =>
    Math.round(channel(a, i) + (channel(b, i) - channel(a, i)) * share)
      .toString(16)
      .padStart(2, '0'),
  );
  return `#${parts.join('')}`;
}

/** A support link safe to put in an href: https or mailto only (the API allows nothing else). */
export function safeSupportHref(url: string | null): string | undefined {
  if (!url) return undefined;
  return /^(https:\/\/|mailto:)/i.test(url) ? url : undefined;
}

/** The brand's logo (or a plain mark) and name, as the header and the sign-in page show them. */
export function BrandMark() {
  const brand = useBranding();
  return (
    <>
      {brand.logoUrl ? (
        <img className="brand-logo" src={brand.logoUrl} alt="" />
      ) : (
        <span className="brand-mark" aria-hidden="true" />
      )}
      {brand === NEUTRAL_BRAND ? '' : brand.name}
    </>
  );
}

/** The support link, when the operator gave one. */
export function SupportLink() {
  const { supportUrl, name } = useBranding();
  const href = safeSupportHref(supportUrl);
  if (!href) return null;
  return (
    <a
      href={href}
      rel="noopener noreferrer"
      target={href.startsWith('mailto:') ? undefined : '_blank'}
    >
      Help from {name}
    </a>
  );
}
