import { readFileSync } from 'node:fs';
import { DEFAULT_CATALOG_URL, describeCatalog, loadCatalog } from '@onramp/core';
import { createIamDataActionIndex } from '@onramp/core/iam-actions';
import { describe, expect, it } from 'vitest';
import { catalogResponseSchema } from './index.ts';

const defaultCatalog = () =>
  loadCatalog(readFileSync(DEFAULT_CATALOG_URL, 'utf8'), { actions: createIamDataActionIndex() });

// Here rather than in packages/core: the core imports no other workspace, the contracts may import it.
describe('the catalog contract', () => {
  it('describes itself in the shape of the API contract', async () => {
    const description = describeCatalog(await defaultCatalog());
    expect(catalogResponseSchema.parse(description)).toEqual(description);
    expect(description.partitions.find((p) => p.partition === 'aws-us-gov')).toMatchObject({
      displayName: 'AWS GovCloud (US)',
      customizable: false,
    });
  });
});
