import type { PartitionId } from '@onramp/core';

/**
 * Where Onramp puts the CloudFormation templates of quick-create links: the AWS console fetches a
 * quick-create `templateURL` only from Amazon S3, and only in the link's own partition. A port of its
 * own (not part of AwsGateway): it acts in the operator's buckets, never in a customer's account.
 */
export interface TemplateStore {
  /**
   * Stores `body` under `key` in the partition's template bucket and returns a pre-signed GET URL
   * for it, which expires: the template carries a callback token, so the bucket stays private.
   */
  publish(partition: PartitionId, key: string, body: string): Promise<{ url: string }>;
}
