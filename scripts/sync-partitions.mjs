#!/usr/bin/env node
// Derives Onramp's partition table from the AWS SDK's own data: the region list from the SDK's
// partitions.json and every STS and IAM endpoint from the clients' endpoint rule sets. The result is
// committed as packages/core/src/partitions/partitions.generated.json so that the core stays pure (no
// SDK at run time, usable in a browser); a test fails when the committed file and the installed SDK
// disagree, so an SDK upgrade that adds a region is noticed. Run: npm run sync:partitions
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';

const SUPPORTED = ['aws', 'aws-us-gov', 'aws-cn'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'packages/core/src/partitions/partitions.generated.json');

export async function readSdkPartitions() {
  // partitions.json is not exported by @aws-sdk/core; read the module file beside its package.json.
  const require = createRequire(join(root, 'packages/core/package.json'));
  const corePkg = require.resolve('@aws-sdk/core/package.json');
  const file = join(
    dirname(corePkg),
    'dist-es/submodules/client/util-endpoints/lib/aws/partitions.js',
  );
  const { partitionsInfo } = await import(pathToFileURL(file).href);
  const result = [];
  for (const id of SUPPORTED) {
    const p = partitionsInfo.partitions.find((x) => x.id === id);
    if (!p) throw new Error(`The AWS SDK no longer knows partition ${id}`);
    const regionRegex = new RegExp(p.regionRegex);
    const regionIds = Object.keys(p.regions)
      .filter((r) => regionRegex.test(r))
      .sort();
    const implicit = p.outputs.implicitGlobalRegion;
    const iam = new IAMClient({ region: implicit });
    const iamEndpoint = iam.config.endpointProvider({
      Region: implicit,
      UseFIPS: false,
      UseDualStack: false,
    });
    const regions = regionIds.map((region) => {
      const sts = new STSClient({ region });
      const e = sts.config.endpointProvider({
        Region: region,
        UseFIPS: false,
        UseDualStack: false,
        UseGlobalEndpoint: false,
      });
      return { id: region, description: p.regions[region].description, stsEndpoint: e.url.origin };
    });
    result.push({
      id,
      dnsSuffix: p.outputs.dnsSuffix,
      implicitGlobalRegion: implicit,
      regionPattern: p.regionRegex,
      iam: {
        endpoint: iamEndpoint.url.origin,
        signingRegion: iamEndpoint.properties.authSchemes[0].signingRegion,
      },
      regions,
    });
  }
  return result;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const data = await readSdkPartitions();
  writeFileSync(out, `${JSON.stringify(data, null, 2)}\n`);
  console.log(
    `wrote ${out}: ${data.map((p) => `${p.id} (${p.regions.length} regions)`).join(', ')}`,
  );
}
