import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../cli-io.ts';
import { describeRun, runCli } from '../testing.ts';
import { saveConfig } from './config-file.ts';
import { normaliseUrl, resolveTarget } from './target.ts';

async function ioWithProfiles(env: Record<string, string> = {}): Promise<CliIo> {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-target-test-'));
  await saveConfig(join(dir, 'config.json'), {
    current: 'main',
    profiles: {
      main: { url: 'https://main.example.com', token: 'onr_main_token_0000' },
      ops: {
        url: 'https://ops.example.com/onramp/',
        token: 'onr_ops_token_00000',
        tenant: 'ten_1',
      },
    },
  });
  return {
    stdout: { write: () => undefined },
    stderr: { write: () => undefined },
    stdin: Readable.from([]),
    readFile: async () => '',
    writeFile: async () => undefined,
    randomBytes: (n) => new Uint8Array(n),
    env: { ONRAMP_CONFIG_DIR: dir, ...env },
    homeDir: '/nonexistent',
    now: () => new Date(),
  };
}

describe('which Onramp, as whom', () => {
  it('takes the current profile, or the one --profile or ONRAMP_PROFILE names', async () => {
    expect(await resolveTarget({}, await ioWithProfiles())).toEqual({
      url: 'https://main.example.com',
      token: 'onr_main_token_0000',
      tenant: undefined,
      profileName: 'main',
    });
    expect(await resolveTarget({ profile: 'ops' }, await ioWithProfiles())).toMatchObject({
      url: 'https://ops.example.com/onramp',
      tenant: 'ten_1',
    });
    expect(await resolveTarget({}, await ioWithProfiles({ ONRAMP_PROFILE: 'ops' }))).toMatchObject({
      profileName: 'ops',
    });
    // The flag wins over the environment.
    expect(
      await resolveTarget({ profile: 'main' }, await ioWithProfiles({ ONRAMP_PROFILE: 'ops' })),
    ).toMatchObject({ profileName: 'main' });
  });

  it('lets ONRAMP_URL and ONRAMP_TOKEN override the profile, and --tenant the tenant', async () => {
    const io = await ioWithProfiles({
      ONRAMP_URL: 'https://other.example.com',
      ONRAMP_TOKEN: 'onr_env_token_00000',
    });
    expect(await resolveTarget({ tenant: 'ten_9' }, io)).toMatchObject({
      url: 'https://other.example.com',
      token: 'onr_env_token_00000',
      tenant: 'ten_9',
    });
  });

  it('never sends a profile’s token to another server', async () => {
    await expect(
      resolveTarget({ url: 'https://evil.example.com' }, await ioWithProfiles()),
    ).rejects.toThrow(/--url: https:\/\/evil\.example\.com is not the server of profile "main"/);
    // The same server written differently is the same server.
    expect(
      await resolveTarget({ url: 'https://main.example.com/' }, await ioWithProfiles()),
    ).toMatchObject({ token: 'onr_main_token_0000' });
  });

  it('names what is missing', async () => {
    const io = await ioWithProfiles();
    const empty = { ...io, env: { ONRAMP_CONFIG_DIR: '/nonexistent/dir' } };
    await expect(resolveTarget({}, empty)).rejects.toThrow(
      'not logged in: run `onramp login` or set ONRAMP_URL and ONRAMP_TOKEN',
    );
    await expect(resolveTarget({ profile: 'nope' }, io)).rejects.toThrow(
      /--profile: there is no profile "nope"/,
    );
    await expect(resolveTarget({ profile: '../x' }, io)).rejects.toThrow(/not a profile name/);
  });
});

describe('an Onramp URL', () => {
  it('is http or https, without credentials, query or trailing slash', () => {
    expect(normaliseUrl('https://onramp.example.com/', '--url')).toBe('https://onramp.example.com');
    expect(() => normaliseUrl('ftp://x', '--url')).toThrow(/--url: .*https/);
    expect(() => normaliseUrl('https://u:p@x.example.com', '--url')).toThrow(/without a user/);
    expect(() => normaliseUrl('not a url', 'ONRAMP_URL')).toThrow(/^ONRAMP_URL: /);
  });
});

describe('a token with characters no token has', () => {
  it('is refused by name, never shown, before anything is sent', async () => {
    const typed = 'onr_\u001b[Aabcdefghijkl';
    const login = await runCli(['login', '--url', 'http://127.0.0.1:9', '--token-stdin'], {
      stdin: `${typed}\n`,
      io: { env: { ONRAMP_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'onramp-token-test-')) } },
    });
    expect(login.code, describeRun(login)).toBe(2);
    expect(login.stderr).toMatch(
      /^error: --token-stdin: the token holds characters an Onramp token never has/,
    );
    expect(login.stderr).not.toContain('abcdefghijkl');

    await expect(
      resolveTarget(
        {},
        await ioWithProfiles({ ONRAMP_URL: 'https://main.example.com', ONRAMP_TOKEN: 'onr_a b' }),
      ),
    ).rejects.toThrow(/^ONRAMP_TOKEN: the token holds characters/);
  });
});
