import { describe, expect, it } from 'vitest';
import { fromOnramp } from './index.ts';

/**
 * A red team's configurations of fromOnramp: a URL holding a password, a server answering garbage.
 * What the error says is logged by the platform's services; it must hold no password and no token.
 */
const TOKEN = 'onr_attack_token_value';

describe('fromOnramp, attacked', () => {
  it('names no password of the URL and no token when Onramp cannot be reached', async () => {
    const provider = fromOnramp({
      account: 'acct_1',
      url: 'http://user:hunter2@127.0.0.1:9',
      token: TOKEN,
    });
    const error = await provider().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/must not hold a user name or password/);
    const said = `${error?.message} ${String((error?.cause as Error | undefined)?.message)}`;
    expect(said).not.toContain('hunter2');
    expect(said).not.toContain(TOKEN);
  });

  it.each([
    [
      'HTML',
      () => new Response('<html>Sign in</html>', { headers: { 'content-type': 'text/html' } }),
    ],
    ['an empty object', () => Response.json({})],
    [
      'a date that is no date',
      () =>
        Response.json({
          accessKeyId: 'A',
          secretAccessKey: 'S',
          sessionToken: 'T',
          expiration: 'soon',
        }),
    ],
  ])(
    'refuses a 200 with %s instead of handing the AWS SDK broken credentials',
    async (_what, answer) => {
      const provider = fromOnramp({
        account: 'acct_1',
        url: 'https://onramp.test',
        token: TOKEN,
        fetch: (async () => answer()) as typeof fetch,
      });
      await expect(provider()).rejects.toThrow();
    },
  );
});
