/**
 * Whether a hosted session may send the browser back to `candidate`: an allow-list entry is an origin
 * (`https://app.acme.example`: any path there) or a URL prefix (`https://app.acme.example/aws`: that
 * path and below it, on a segment boundary). Compared parsed, never as text: the scheme, host and port
 * must be equal (so `https://app.acme.example.evil.test` and `https://evil.test/?https://app…` fail),
 * userinfo is refused outright, and only https is allowed, or http on a loopback host.
 */
export function isReturnUrlAllowed(candidate: string, allowList: readonly string[]): boolean {
  const url = parseReturnUrl(candidate);
  if (!url) return false;
  return allowList.some((entry) => {
    const allowed = parseReturnUrl(entry);
    if (!allowed || allowed.origin !== url.origin) return false;
    const prefix = allowed.pathname.replace(/\/+$/, '');
    return prefix === '' || url.pathname === prefix || url.pathname.startsWith(`${prefix}/`);
  });
}

/** Why a return URL cannot be used at all (whatever the allow-list says), or undefined. */
export function returnUrlProblem(candidate: string): string | undefined {
  // What the URL parser would silently repair (a backslash read as a slash, a tab or newline dropped,
  // `https:host` without slashes) is refused: the platform reads the return URL back as it was sent,
  // and a parser other than a browser's may take another host from it.
  if (!/^https?:\/\//i.test(candidate)) return 'must be an absolute https URL (https://host/…)';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses.
  if (/[\\\s\u0000-\u001f\u007f]/.test(candidate))
    return 'must not contain backslashes, spaces or control characters';
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return 'is not an absolute URL';
  }
  if (url.username || url.password) return 'must not carry a user name or password';
  // `//host` in a path, or an encoded slash, can become another host or path behind the platform's
  // own redirects (a path prefix on the allow-list would then mean nothing).
  if (url.pathname.includes('//') || /%(2f|5c)/i.test(url.pathname))
    return 'must not have an empty path segment (//) or an encoded slash or backslash';
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname))
    return 'must use https (http only on localhost)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an https URL';
  if (url.hash) return 'must not have a fragment (#…)';
  return undefined;
}

function parseReturnUrl(text: string): URL | undefined {
  if (returnUrlProblem(text)) return undefined;
  return new URL(text);
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** The return URL with the session and its outcome added to the query (existing parameters kept). */
export function returnUrlWith(
  returnUrl: string,
  sessionId: string,
  outcome: 'connected' | 'fixed' | 'cancelled' | 'expired',
): string {
  const url = new URL(returnUrl);
  url.searchParams.set('connect_session', sessionId);
  url.searchParams.set('outcome', outcome);
  return url.toString();
}
