/**
 * IAM OpenID Connect identity providers: creation rules shared by the IAM API (CreateOpenIDConnectProvider)
 * and the test-support method, so both refuse what IAM refuses.
 */
import { AwsError, entityAlreadyExists, invalidInput, validationError } from './errors.ts';
import type { PartitionId } from './partitions.ts';
import type { LoopbackState, OidcProvider, Tag } from './state.ts';

export interface OidcProviderInput {
  /** `https://host[/path]`: IAM refuses any other scheme, a query and a fragment. */
  url: string;
  clientIds: string[];
  /** Optional since IAM secures the JWKS fetch with its own trusted CAs; up to five, 40 hex digits each. */
  thumbprints?: string[] | undefined;
  tags?: Tag[] | undefined;
}

const MAX_CLIENT_IDS = 100;
const MAX_THUMBPRINTS = 5;

const limitExceeded = (message: string) => new AwsError('LimitExceeded', message, 409);

/** The issuer URL as IAM keys it and as condition keys use it: the `https://` URL without its scheme. */
export function providerKey(url: string): string {
  return url.replace(/^https:\/\//i, '');
}

export function providerArn(partition: PartitionId, accountId: string, url: string): string {
  return `arn:${partition}:iam::${accountId}:oidc-provider/${providerKey(url)}`;
}

export function checkProviderUrl(url: string): void {
  if (url.length < 1 || url.length > 255) {
    throw validationError(
      `1 validation error detected: Value '${url}' at 'url' failed to satisfy constraint: Member must have length less than or equal to 255`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidInput(`Invalid Url: ${url} is not a URL.`);
  }
  if (parsed.protocol !== 'https:')
    throw invalidInput(`Invalid Url: ${url} must begin with https://.`);
  if (parsed.search !== '' || url.includes('?')) {
    throw invalidInput(`Invalid Url: ${url} must not contain a query.`);
  }
  if (parsed.hash !== '' || url.includes('#')) {
    throw invalidInput(`Invalid Url: ${url} must not contain a fragment.`);
  }
}

export function addOidcProvider(
  state: LoopbackState,
  partition: PartitionId,
  accountId: string,
  input: OidcProviderInput,
): OidcProvider {
  checkProviderUrl(input.url);
  if (input.clientIds.length > MAX_CLIENT_IDS) {
    throw limitExceeded(
      `Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: ${MAX_CLIENT_IDS}`,
    );
  }
  for (const id of input.clientIds) {
    if (id.length < 1 || id.length > 255) {
      throw validationError(
        `1 validation error detected: Value '${id}' at 'clientIDList' failed to satisfy constraint: Member must have length between 1 and 255`,
      );
    }
  }
  const thumbprints = input.thumbprints ?? [];
  if (thumbprints.length > MAX_THUMBPRINTS) {
    throw limitExceeded(
      `Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: ${MAX_THUMBPRINTS}`,
    );
  }
  for (const thumbprint of thumbprints) {
    if (!/^[0-9a-fA-F]{40}$/.test(thumbprint)) {
      throw validationError(
        `1 validation error detected: Value '${thumbprint}' at 'thumbprintList' failed to satisfy constraint: Member must have length 40 (a hex-encoded SHA-1 digest)`,
      );
    }
  }
  const account = state.account(partition, accountId);
  const key = providerKey(input.url);
  if (account.oidcProviders.has(key)) {
    throw entityAlreadyExists(`Provider with url ${input.url} already exists.`);
  }
  const provider: OidcProvider = {
    partition,
    accountId,
    url: key,
    arn: providerArn(partition, accountId, input.url),
    clientIds: [...new Set(input.clientIds)],
    thumbprints: [...thumbprints],
    createdAt: new Date(),
    tags: input.tags ?? [],
  };
  account.oidcProviders.set(key, provider);
  return provider;
}

/** The provider an ARN names in the partition, if it exists. */
export function findOidcProvider(
  state: LoopbackState,
  partition: PartitionId,
  arn: string,
): OidcProvider | undefined {
  const match = /^arn:([^:]+):iam::(\d{12}):oidc-provider\/(.+)$/.exec(arn);
  if (!match || match[1] !== partition) return undefined;
  const provider = state
    .existingAccount(partition, match[2] ?? '')
    ?.oidcProviders.get(match[3] ?? '');
  return provider?.arn === arn ? provider : undefined;
}
