import { wildcardToRegExp } from '../catalog/catalog.ts';

/**
 * Services whose requests AWS attributes to the partition's global region (us-east-1, us-gov-west-1 or
 * cn-north-1) whatever region the tenant works in. A region restriction on `aws:RequestedRegion` would
 * deny them unless that region happened to be allowed, so the policy builder leaves them outside the
 * condition. The list follows AWS's guidance for region-restricting SCPs (the services and actions
 * exempted there) and errs on the side of keeping a global service working.
 */
export const GLOBAL_SERVICES: ReadonlySet<string> = new Set([
  'account',
  'aws-marketplace',
  'aws-marketplace-management',
  'aws-portal',
  'billing',
  'budgets',
  'ce',
  'cloudfront',
  'consolidatedbilling',
  'cur',
  'directconnect',
  'freetier',
  'globalaccelerator',
  'health',
  'iam',
  'invoicing',
  'networkmanager',
  'organizations',
  'payments',
  'pricing',
  'route53',
  'route53domains',
  'savingsplans',
  'shield',
  'sts',
  'support',
  'supportplans',
  'tax',
  'trustedadvisor',
  'waf',
  'wellarchitected',
]);

const GLOBAL_ACTION_NAMES = [
  'ec2:DescribeRegions',
  's3:GetAccountPublicAccessBlock',
  's3:ListAllMyBuckets',
  's3:PutAccountPublicAccessBlock',
];

/** Single actions of regional services that are nevertheless served from the global region. */
export const GLOBAL_ACTIONS: ReadonlySet<string> = new Set(
  GLOBAL_ACTION_NAMES.map((a) => a.toLowerCase()),
);

/**
 * The global actions a regional wildcard covers (`ec2:*` → `ec2:DescribeRegions`). Under a region
 * condition they would be denied, so the policy builder also grants them outside it.
 */
export function globalActionsCoveredBy(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return [];
  const matcher = wildcardToRegExp(pattern);
  return GLOBAL_ACTION_NAMES.filter((a) => matcher.test(a));
}

/** True when an action (or wildcard) must stay outside a region condition. */
export function isGlobalAction(action: string): boolean {
  const service = action.slice(0, action.indexOf(':')).toLowerCase();
  return GLOBAL_SERVICES.has(service) || GLOBAL_ACTIONS.has(action.toLowerCase());
}
