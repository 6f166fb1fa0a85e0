import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.ts';
import { findConfigPath, loadConfig, saveConfig, updateConfig } from './config-file.ts';

const temporary = () => mkdtempSync(join(tmpdir(), 'onramp-config-test-'));
const PROFILE = { url: 'https://onramp.example.com', token: 'onr_secretsecretsecret' };

describe('where the config file is', () => {
  it('is ONRAMP_CONFIG_DIR, else an absolute XDG_CONFIG_HOME, else ~/.config', () => {
    expect(findConfigPath({ ONRAMP_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/x' }, '/home/a')).toBe(
      '/c/config.json',
    );
    expect(findConfigPath({ XDG_CONFIG_HOME: '/x' }, '/home/a')).toBe('/x/onramp/config.json');
    // The XDG specification: a relative path is to be ignored.
    expect(findConfigPath({ XDG_CONFIG_HOME: 'rel' }, '/home/a')).toBe(
      '/home/a/.config/onramp/config.json',
    );
    expect(findConfigPath({}, '/home/a')).toBe('/home/a/.config/onramp/config.json');
  });
});

describe('the config file', () => {
  it('is written 0600 in a new 0700 directory, leaving no temporary file behind', async () => {
    const directory = join(temporary(), 'onramp');
    const path = join(directory, 'config.json');
    await saveConfig(path, { current: 'default', profiles: { default: PROFILE } });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(directory).mode & 0o777).toBe(0o700);
    expect(readdirSync(directory)).toEqual(['config.json']);
    expect((await loadConfig(path)).config.profiles.default).toEqual(PROFILE);
  });

  it('becomes 0600 again when rewritten, even if it was looser', async () => {
    const path = join(temporary(), 'config.json');
    writeFileSync(path, JSON.stringify({ current: 'default', profiles: {} }), { mode: 0o600 });
    await updateConfig(path, (config) => ({ ...config, profiles: { default: PROFILE } }));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('says others can read it, and how to fix it; refuses to write a token into it', async () => {
    const path = join(temporary(), 'config.json');
    await saveConfig(path, { current: 'default', profiles: { default: PROFILE } });
    chmodSync(path, 0o644);
    expect((await loadConfig(path)).exposure).toContain(`chmod 600 ${path}`);
    await expect(updateConfig(path, (config) => config)).rejects.toThrow(/chmod 600/);
    chmodSync(path, 0o600);
    expect((await loadConfig(path)).exposure).toBeUndefined();
  });

  it('is an empty config when missing, and an error naming it when it is not JSON', async () => {
    const directory = temporary();
    expect((await loadConfig(join(directory, 'none.json'))).config).toEqual({
      current: 'default',
      profiles: {},
    });
    const broken = join(directory, 'config.json');
    writeFileSync(broken, '{"profiles": {"a": {"url": 1}}}', { mode: 0o600 });
    const error = await loadConfig(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).message).toContain(broken);
    expect((error as UserError).message).toContain('needs a url and a token');
  });

  it('is not written through a symbolic link', async () => {
    const directory = temporary();
    const target = join(directory, 'elsewhere.json');
    writeFileSync(target, '{}');
    const path = join(directory, 'config.json');
    symlinkSync(target, path);
    await expect(saveConfig(path, { current: 'default', profiles: {} })).rejects.toThrow(
      /symbolic link/,
    );
    expect(readFileSync(target, 'utf8')).toBe('{}');
  });

  it('keeps every profile when many commands change it at once', async () => {
    const path = join(temporary(), 'config.json');
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        updateConfig(path, (config) => ({
          ...config,
          profiles: { ...config.profiles, [`p${i}`]: PROFILE },
        })),
      ),
    );
    const { config } = await loadConfig(path);
    expect(Object.keys(config.profiles).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `p${i}`).sort(),
    );
    expect(readdirSync(join(path, '..'))).toEqual(['config.json']);
  });

  it('refuses a profile name that would change the object, not add a profile', async () => {
    const path = join(temporary(), 'config.json');
    writeFileSync(path, '{"profiles": {"__proto__": {"url": "u", "token": "t"}}}', { mode: 0o600 });
    await expect(loadConfig(path)).rejects.toThrow(/"__proto__" is not a profile name/);
  });
});
