import { fromIni, fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { HubConfig } from '../../config.ts';

/** The credentials of a partition's hub identity: static keys, a named profile, or the default chain. */
export function hubCredentialsProvider(hub: HubConfig): AwsCredentialIdentityProvider {
  const source = hub.credentials;
  if (source.source === 'keys') {
    const { accessKeyId, secretAccessKey } = source;
    return async () => ({ accessKeyId, secretAccessKey });
  }
  if (source.source === 'profile') return fromIni({ profile: source.profile });
  return fromNodeProviderChain();
}
