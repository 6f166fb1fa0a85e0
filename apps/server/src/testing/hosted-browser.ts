import type { Harness, TestResponse } from './harness.ts';

/**
 * A browser of the hosted connect wizard, for route tests: its own cookie jar and client address,
 * and the CSRF token the session gave it (taken from every answer that carries one). It holds no
 * Onramp sign-in: what it sends is what a page of the wizard sends. Every answer's text is kept in
 * `seen`, so a test can look for a secret that must never leave.
 */
export function hostedBrowser(h: Pick<Harness, 'app'>, address: string) {
  const cookies = new Map<string, string>();
  const seen: string[] = [];
  let csrf = '';
  async function request(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<TestResponse> {
    const response = await h.app.inject({
      method: method as 'GET',
      url,
      remoteAddress: address,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(cookies.size > 0
          ? { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
          : {}),
        ...(csrf ? { 'x-csrf-token': csrf } : {}),
        ...headers,
      },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    seen.push(response.body);
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const [name, value] = (pair ?? '').split('=');
      if (name && value !== undefined) cookies.set(name, value);
    }
    const type = String(response.headers['content-type'] ?? '');
    const parsed =
      type.includes('json') && response.body ? JSON.parse(response.body) : response.body;
    if (parsed && typeof parsed === 'object' && typeof parsed.csrfToken === 'string')
      csrf = parsed.csrfToken;
    return {
      status: response.statusCode,
      headers: response.headers,
      text: response.body,
      body: parsed,
    };
  }
  return {
    request,
    cookies,
    seen,
    get csrf() {
      return csrf;
    },
    setCsrf(value: string) {
      csrf = value;
    },
    /** Opens a link as the wizard's page does: the id from the path, the secret from the fragment. */
    open(url: string) {
      const [path, secret] = url.split('#');
      const id = (path ?? '').split('/').at(-1) ?? '';
      return request('POST', `/v1/connect/sessions/${id}/open`, { token: secret });
    },
  };
}
