import type { Envelope, SealedSecret } from '../../adapters/crypto/envelope.ts';
import type { Account } from '../../domain/account.ts';
import type { AccessKeys } from '../../ports/aws-gateway.ts';
import type { CredentialsInput } from '../validation/accounts-validation.ts';
import { type AccountsRepository, SECRET_ACCESS_KEY_FIELD } from './accounts-repository.ts';

export interface AccountCredentialsDeps {
  envelope: Envelope;
  accounts: Pick<AccountsRepository, 'find' | 'findSecret'>;
}

/**
 * What Onramp holds to sign in as an account. A secret key is sealed and opened here only, so both
 * bind it to the same tenant, account and field.
 */
export function createAccountCredentials(deps: AccountCredentialsDeps) {
  /**
   * The stored keys of an access-key account, opened. For Onramp's own use (vending credentials);
   * no route returns them.
   */
  async function readAccessKeys(tenantId: string, id: string): Promise<AccessKeys | undefined> {
    const account = await deps.accounts.find(tenantId, id);
    if (account?.method !== 'access_keys' || !account.accessKeyId) return undefined;
    const sealed = await deps.accounts.findSecret(tenantId, id, SECRET_ACCESS_KEY_FIELD);
    if (!sealed) return undefined;
    const secretAccessKey = deps.envelope.open(sealed, {
      tenantId,
      ownerId: id,
      field: SECRET_ACCESS_KEY_FIELD,
    });
    return { accessKeyId: account.accessKeyId, secretAccessKey };
  }

  return {
    sealSecret(tenantId: string, accountId: string, secretAccessKey: string): SealedSecret {
      return deps.envelope.seal(secretAccessKey, {
        tenantId,
        ownerId: accountId,
        field: SECRET_ACCESS_KEY_FIELD,
      });
    },

    readAccessKeys,

    /**
     * The credentials an existing account is checked with: its role ARN and the external ID in use,
     * or its keys. undefined when they are gone.
     */
    async storedCredentialsOf(account: Account): Promise<CredentialsInput | undefined> {
      if (account.method === 'role') {
        if (!account.roleArn || !account.externalId) return undefined;
        const { partition, roleArn, externalId } = account;
        return { method: 'role', partition, roleArn, externalId };
      }
      if (account.method === 'oidc_role') {
        if (!account.roleArn || !account.connectionId) return undefined;
        const { partition, roleArn, tenantId, connectionId } = account;
        return { method: 'oidc_role', partition, roleArn, tenantId, connectionId };
      }
      const keys = await readAccessKeys(account.tenantId, account.id);
      if (!keys) return undefined;
      return { method: 'access_keys', partition: account.partition, ...keys };
    },
  };
}
