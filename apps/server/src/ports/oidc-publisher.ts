/**
 * Where the issuer's two public documents are copied for an Onramp that AWS cannot reach (a private
 * network): a directory a static web server serves, or an S3 bucket. AWS fetches them from the
 * issuer URL (ONRAMP_OIDC_ISSUER_URL), which must serve exactly what is written here.
 */
export interface OidcPublisher {
  /** What is written to, for the operator's status and logs: `dir:/srv/oidc` or `s3://bucket/prefix`. */
  readonly target: string;
  /**
   * Writes `.well-known/openid-configuration` and `jwks.json` (JSON texts) under the target. Each is
   * replaced whole, so a reader never sees half a document.
   */
  publish(documents: { discovery: string; jwks: string }): Promise<void>;
}
