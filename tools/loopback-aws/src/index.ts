/**
 * @onramp/loopback-aws — TEST TOOLING, NOT FOR PRODUCTION.
 *
 * A loopback AWS: a small HTTP server on 127.0.0.1 that speaks the real wire protocols of the STS,
 * IAM and S3 calls Onramp makes (AWS Query and REST-XML, SigV4-signed), so tests run Onramp's real
 * AWS SDK v3 adapter against it. It verifies signatures, keeps separate state per partition (aws,
 * aws-us-gov, aws-cn), evaluates trust, identity and service control policies with an IAM simulator,
 * and injects faults (throttling, 5xx with XML or HTML bodies, hung requests, a missing IAM simulator,
 * IAM propagation delays).
 *
 * It depends on @cloud-copilot/iam-simulate and @cloud-copilot/iam-policy, which are AGPL-licensed:
 * they are devDependencies, and nothing that ships may import this package.
 */

export {
  type DeployedCustomResource,
  type DeployedFunction,
  type DeployedResource,
  type DeployedStack,
  type DeployedStackSet,
  type DeployStackInput,
  deployStack,
  StackError,
  type StackSetInstance,
} from './cloudformation.ts';
export {
  type AccessKeyInfo,
  type CallRecord,
  type CreateBucketOptions,
  type CreatePolicyOptions,
  type CreateRoleOptions,
  type CreateUserOptions,
  type FaultFilter,
  type FaultKind,
  type FaultSpec,
  type IssuerFetch,
  type Keys,
  LoopbackAws,
  type LoopbackOptions,
  type OidcProviderInfo,
  type OrganizationAccountOptions,
  type OrganizationInfo,
  type PolicyInfo,
  type RateLimit,
  type RoleInfo,
  type Service,
  startLoopbackAws,
  type UserInfo,
} from './loopback.ts';
export {
  ORGANIZATIONS_ENDPOINT,
  ORGANIZATIONS_SIGNING_REGION,
  type Organization,
  type OrganizationAccount,
  type OrganizationAccountStatus,
  type OrganizationUnit,
} from './organizations.ts';
export type { PartitionId } from './partitions.ts';
export { IAM_SIGNING_REGION, partitionOfRegion } from './partitions.ts';
export { persistLoopback, restoreLoopback, snapshotLoopback } from './snapshot.ts';
export {
  type DeletedStackInstance,
  deployStackSetInstances,
  removeStackSetInstances,
  STACK_SET_TEMPLATE_BODY_MAX_BYTES,
  syncStackSetInstances,
} from './stack-sets.ts';
export type { PolicyDocument } from './state.ts';
export { TOKEN_CLOCK_SKEW_SECONDS } from './web-identity.ts';
