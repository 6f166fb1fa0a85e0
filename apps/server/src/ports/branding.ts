/**
 * The operator's brand and return-URL allow-list, as the features that face customers read them
 * (hosted connect sessions, the renderers' texts). features/branding keeps them (configuration, then
 * the operator's settings page); a replica sees another's change within a few seconds.
 */
export interface Brand {
  /** The platform's product name ("Acme Cloud"). */
  name: string;
  /** `/v1/branding/logo` when there is a logo; null otherwise. */
  logoUrl: string | null;
  colors: { primary: string; accent: string };
  /** https URL or mailto:, or null. */
  supportUrl: string | null;
}

export interface BrandingSource {
  brand(): Promise<Brand>;
  /** Origins or URL prefixes a hosted session may send the browser back to. */
  returnUrls(): Promise<readonly string[]>;
}
