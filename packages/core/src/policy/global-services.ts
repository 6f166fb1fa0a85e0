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

/** Single actions of regional services that are nevertheless served from the global region. */
export const GLOBAL_ACTIONS: ReadonlySet<string> = new Set(
  [
    'ec2:DescribeRegions',
    's3:GetAccountPublicAccessBlock',
    's3:ListAllMyBuckets',
    's3:PutAccountPublicAccessBlock',
  ].map((a) => a.toLowerCase()),
);

/** True when an action (or wildcard) must stay outside a region condition. */
export function isGlobalAction(action: string): boolean {
  const service = action.slice(0, action.indexOf(':')).toLowerCase();
  return GLOBAL_SERVICES.has(service) || GLOBAL_ACTIONS.has(action.toLowerCase());
}
