import type { AwsGateway } from '../../ports/aws-gateway.ts';
import type { SdkAwsGatewayOptions } from './sdk-aws-gateway.ts';

/** Every method of the gateway: the compiler refuses this list when the port gains one it lacks. */
const METHODS = [
  'identifyKeys',
  'assumeRole',
  'assumeRoleWithWebIdentity',
  'getSessionToken',
  'simulatePrincipalPolicy',
  'readPrincipalPolicies',
  'simulateCustomPolicy',
  'listPolicies',
  'listAttachedPolicyArns',
  'attachPolicy',
  'getSigninToken',
  'describeOrganization',
  'listRoots',
  'listOrganizationalUnitsForParent',
  'listAccountsForParent',
  'listAccounts',
  'listParents',
  'describeAccount',
  'describeOrganizationalUnit',
] as const satisfies readonly (keyof AwsGateway)[];
type Unlisted = Exclude<keyof AwsGateway, (typeof METHODS)[number]>;
const everyMethodListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyMethodListed;

/**
 * The SDK gateway, loaded on its first call. The AWS SDK's clients (STS, IAM, Organizations and the
 * credential providers) are most of what a start would otherwise compile, and a process that serves
 * only cached vends or the console never needs them. The first AWS call waits for the load once
 * (tens of milliseconds); every call after goes straight to the one gateway.
 */
export function createLazySdkAwsGateway(options: SdkAwsGatewayOptions): AwsGateway {
  let loading: Promise<AwsGateway> | undefined;
  const load = () => {
    loading ??= import('./sdk-aws-gateway.ts').then((sdk) => sdk.createSdkAwsGateway(options));
    // A failed load (a file missing from a broken install) is tried again on the next call.
    loading.catch(() => {
      loading = undefined;
    });
    return loading;
  };
  const forward =
    (name: (typeof METHODS)[number]) =>
    async (...args: unknown[]) => {
      const gateway = (await load()) as unknown as Record<string, (...a: unknown[]) => unknown>;
      return gateway[name]?.(...args);
    };
  return Object.fromEntries(METHODS.map((name) => [name, forward(name)])) as unknown as AwsGateway;
}
