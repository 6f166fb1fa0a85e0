import type { PartitionId } from '@onramp/core';
import type { TemplateStore } from '../ports/template-store.ts';

/**
 * A fake of Onramp's TemplateStore port: keeps what was published, answers with a URL that looks
 * pre-signed, and can be told to fail. (The SDK adapter is tested against the loopback AWS.)
 */
export function createFakeTemplateStore() {
  const published: { partition: PartitionId; key: string; body: string }[] = [];
  let failure: Error | undefined;
  const store: TemplateStore = {
    async publish(partition, key, body) {
      if (failure) throw failure;
      published.push({ partition, key, body });
      return {
        url: `https://onramp-templates-${partition}.s3.example/${key}?X-Amz-Expires=3600&X-Amz-Signature=fake`,
      };
    },
  };
  return {
    store,
    published,
    /** Makes every publish fail (S3 down, a bucket policy refusing) until called with undefined. */
    failWith(error: Error | undefined) {
      failure = error;
    },
  };
}

export type FakeTemplateStore = ReturnType<typeof createFakeTemplateStore>;
