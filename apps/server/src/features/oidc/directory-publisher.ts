import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { OidcPublisher } from '../../ports/oidc-publisher.ts';

/**
 * Writes the issuer's documents into a directory a static web server serves at the issuer URL
 * (ONRAMP_OIDC_PUBLISH_DIR): `<dir>/.well-known/openid-configuration` and `<dir>/jwks.json`. Each is
 * written to a temporary file beside it and renamed over the old one, so the server never sends half
 * a document.
 */
export function createDirectoryOidcPublisher(directory: string): OidcPublisher {
  const root = resolve(directory);
  async function replace(path: string, body: string): Promise<void> {
    const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, body, { mode: 0o644 });
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
  return {
    target: `dir:${root}`,
    async publish(documents) {
      await mkdir(join(root, '.well-known'), { recursive: true });
      // The JWKS first: a discovery document never points at keys not yet written.
      await replace(join(root, 'jwks.json'), documents.jwks);
      await replace(join(root, '.well-known', 'openid-configuration'), documents.discovery);
    },
  };
}
