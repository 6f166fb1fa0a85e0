import { describe, expect, it } from 'vitest';
import { createEnvelope, SecretOpenError } from './envelope.ts';
import { memoryKeyring } from './keyring.ts';

const binding = { tenantId: 'ten_a', ownerId: 'acct_1', field: 'secretAccessKey' };
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('envelope encryption', () => {
  it('seals and opens, with a fresh data key and IV each time', () => {
    const envelope = createEnvelope(memoryKeyring());
    const a = envelope.seal(SECRET, binding);
    const b = envelope.seal(SECRET, binding);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(JSON.stringify(a)).not.toContain('wJalr');
    expect(envelope.open(a, binding)).toBe(SECRET);
  });

  it.each([
    ['another record', { ...binding, ownerId: 'acct_2' }],
    ['another tenant', { ...binding, tenantId: 'ten_b' }],
    ['another field', { ...binding, field: 'sessionToken' }],
  ])('refuses to open a ciphertext moved to %s', (_, other) => {
    const envelope = createEnvelope(memoryKeyring());
    const sealed = envelope.seal(SECRET, binding);
    expect(() => envelope.open(sealed, other)).toThrow(SecretOpenError);
  });

  it('refuses an altered ciphertext', () => {
    const envelope = createEnvelope(memoryKeyring());
    const sealed = envelope.seal(SECRET, binding);
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => envelope.open({ ...sealed, ciphertext: raw.toString('base64') }, binding)).toThrow(
      SecretOpenError,
    );
  });

  it('re-wraps under a new master key, and the old key still opens what it sealed', () => {
    const keyring = memoryKeyring();
    const envelope = createEnvelope(keyring);
    const old = envelope.seal(SECRET, binding);
    const newKey = keyring.add();
    const rewrapped = envelope.rewrap(old, binding);
    expect(rewrapped.keyId).toBe(newKey.id);
    expect(rewrapped.ciphertext).toBe(old.ciphertext);
    expect(envelope.open(rewrapped, binding)).toBe(SECRET);
    expect(envelope.open(old, binding)).toBe(SECRET);
    // A wrapped key cannot be relabelled with another master key's id.
    expect(() => envelope.open({ ...old, keyId: newKey.id }, binding)).toThrow(SecretOpenError);
  });
});
