import { parseOidcIssuer } from '@onramp/core';

/**
 * The issuer URL a customer's IAM OpenID Connect provider is created with. AWS's rules
 * (CreateOpenIDConnectProvider): it begins with https://, carries no port, and no query; a path is
 * allowed. The `iss` of every token must equal it byte for byte, so a fragment or a trailing slash,
 * which would make two spellings of one issuer, is refused too. 255 characters at most.
 */
const MAX_ISSUER_LENGTH = 255;

/** What is wrong with `url` as an issuer AWS accepts (a clause to follow the URL), or null. */
export function issuerUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'it is not a URL';
  }
  const rule = 'AWS accepts only https issuers without a port, query or fragment';
  if (parsed.protocol !== 'https:') return `it is ${parsed.protocol.replace(':', '')}; ${rule}`;
  // new URL drops a port that is the scheme's default (":443"), so the text is checked as well.
  if (parsed.port !== '' || /^https:\/\/[^/?#]*:\d*(?:[/?#]|$)/i.test(url))
    return `it has a port; ${rule}`;
  if (parsed.username || parsed.password) return 'it carries a user name or password';
  if (parsed.search || url.includes('?')) return `it has a query; ${rule}`;
  if (parsed.hash || url.includes('#')) return `it has a fragment; ${rule}`;
  if (url.endsWith('/'))
    return 'it ends with a slash: tokens must name the issuer exactly as AWS has it, so leave the slash out';
  if (url.length > MAX_ISSUER_LENGTH) return `it is longer than ${MAX_ISSUER_LENGTH} characters`;
  // The templates and trust policies take the issuer through core's parser, which refuses more
  // (an upper-case host, a host without a dot, a percent-escape): an issuer accepted here but not
  // there would offer keyless roles and then refuse every keyless template with a 422 on a field
  // (webIdentity.issuer) the tenant never sent and cannot change.
  const core = parseOidcIssuer(url, 'issuer');
  if (!core.ok) return core.issue.message.replace(/^The /, 'the ').replace(/\.$/, '');
  return null;
}

/**
 * Onramp's issuer: ONRAMP_OIDC_ISSUER_URL when set (validated at start-up by config.ts), else the
 * public URL with `/oidc`, where Onramp serves the documents itself. Without a valid one keyless
 * roles are not offered, and `unavailableReason` says what to change.
 */
export function resolveIssuer(input: {
  issuerUrl?: string | undefined;
  publicUrl?: string | undefined;
}): { issuer: string; unavailableReason: null } | { issuer: null; unavailableReason: string } {
  const fix =
    'set ONRAMP_PUBLIC_URL to the https address customers reach the platform at, or publish the issuer elsewhere (ONRAMP_OIDC_ISSUER_URL with ONRAMP_OIDC_PUBLISH_DIR or ONRAMP_OIDC_PUBLISH_S3)';
  if (input.issuerUrl) {
    const problem = issuerUrlProblem(input.issuerUrl);
    return problem
      ? {
          issuer: null,
          unavailableReason: `ONRAMP_OIDC_ISSUER_URL is ${input.issuerUrl}: ${problem}`,
        }
      : { issuer: input.issuerUrl, unavailableReason: null };
  }
  if (!input.publicUrl) {
    return {
      issuer: null,
      unavailableReason: `ONRAMP_PUBLIC_URL is not set, so the platform has no issuer URL AWS can fetch keys from. To offer keyless roles, ${fix}`,
    };
  }
  const issuer = `${input.publicUrl.replace(/\/+$/, '')}/oidc`;
  const problem = issuerUrlProblem(issuer);
  return problem
    ? {
        issuer: null,
        unavailableReason: `ONRAMP_PUBLIC_URL is ${input.publicUrl}, so the issuer would be ${issuer}: ${problem}. To offer keyless roles, ${fix}`,
      }
    : { issuer, unavailableReason: null };
}

/** The bucket and key prefix (no slash at either end) of ONRAMP_OIDC_PUBLISH_S3, `s3://bucket/prefix`. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | null {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!match?.[1]) return null;
  const prefix = (match[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix.split('/').some((part) => part === '.' || part === '..')) return null;
  return { bucket: match[1], prefix };
}
