import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

/**
 * Envelope encryption with AES-256-GCM. Each secret gets a fresh 256-bit data key; the data key is
 * wrapped by the keyring's newest master key. Both layers are bound (as additional authenticated data)
 * to the tenant, the record and the field, so a ciphertext copied into another row, or another
 * tenant's row, fails to open instead of yielding someone else's secret.
 */
export interface SecretBinding {
  tenantId: string;
  ownerId: string;
  field: string;
}

export interface SealedSecret {
  keyId: string;
  /** base64(iv ‖ tag ‖ wrapped data key) */
  wrappedKey: string;
  /** base64(iv ‖ tag ‖ ciphertext) */
  ciphertext: string;
}

export class SecretOpenError extends Error {
  constructor(reason: string) {
    super(`a sealed secret could not be opened: ${reason}`);
    this.name = 'SecretOpenError';
  }
}

const IV = 12;
const TAG = 16;

function aad(binding: SecretBinding, layer: 'data' | 'key', keyId?: string): Buffer {
  // Unambiguous: JSON of the parts, never a concatenation two different bindings could share.
  return Buffer.from(
    JSON.stringify([
      'onramp/v1',
      layer,
      binding.tenantId,
      binding.ownerId,
      binding.field,
      keyId ?? null,
    ]),
  );
}

function encrypt(key: Buffer, plaintext: Buffer, additional: Buffer): string {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(additional);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function decrypt(key: Buffer, sealed: string, additional: Buffer): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < IV + TAG) throw new SecretOpenError('truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
  decipher.setAAD(additional);
  decipher.setAuthTag(raw.subarray(IV, IV + TAG));
  try {
    return Buffer.concat([decipher.update(raw.subarray(IV + TAG)), decipher.final()]);
  } catch {
    throw new SecretOpenError('it does not belong to this record, or it was altered');
  }
}

export function createEnvelope(keyring: Keyring) {
  const masterKey = (id: string) => {
    let key = keyring.find(id);
    if (!key) {
      // Another process (onramp keys rotate) may have added it since we read the file.
      keyring.reload();
      key = keyring.find(id);
    }
    if (!key) throw new SecretOpenError(`master key ${id} is not in the keyring`);
    return key;
  };

  function wrap(dataKey: Buffer, binding: SecretBinding): { keyId: string; wrappedKey: string } {
    const master = keyring.current();
    return {
      keyId: master.id,
      wrappedKey: encrypt(master.key, dataKey, aad(binding, 'key', master.id)),
    };
  }

  function unwrap(
    sealed: Pick<SealedSecret, 'keyId' | 'wrappedKey'>,
    binding: SecretBinding,
  ): Buffer {
    return decrypt(
      masterKey(sealed.keyId).key,
      sealed.wrappedKey,
      aad(binding, 'key', sealed.keyId),
    );
  }

  return {
    seal(plaintext: string, binding: SecretBinding): SealedSecret {
      const dataKey = randomBytes(32);
      try {
        const ciphertext = encrypt(dataKey, Buffer.from(plaintext, 'utf8'), aad(binding, 'data'));
        return { ...wrap(dataKey, binding), ciphertext };
      } finally {
        dataKey.fill(0);
      }
    },
    open(sealed: SealedSecret, binding: SecretBinding): string {
      const dataKey = unwrap(sealed, binding);
      try {
        return decrypt(dataKey, sealed.ciphertext, aad(binding, 'data')).toString('utf8');
      } finally {
        dataKey.fill(0);
      }
    },
    /** Re-wraps the data key under the newest master key; the ciphertext itself is untouched. */
    rewrap(sealed: SealedSecret, binding: SecretBinding): SealedSecret {
      const dataKey = unwrap(sealed, binding);
      try {
        return { ...wrap(dataKey, binding), ciphertext: sealed.ciphertext };
      } finally {
        dataKey.fill(0);
      }
    },
    currentKeyId: () => keyring.current().id,
  };
}

export type Envelope = ReturnType<typeof createEnvelope>;
