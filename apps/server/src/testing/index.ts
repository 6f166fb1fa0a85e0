// `@onramp/server/testing`: what tests, the bench and `npm run dev` use to set a scene: the route
// harness, the loopback AWS world, test databases, a webhook receiver, fakes of the ports, and the
// repositories they seed rows with (they stand in for sign-up and connect flows a test is not about).

export { validateCredentials } from '../features/validation/accounts-validation.ts';
export {
  createTestDatabase,
  POSTGRES_ADMIN_URL,
  TEST_DIALECTS,
  type TestDatabase,
} from './databases.ts';
export { createFakeAws, type FakeAws } from './fake-aws.ts';
export { createFakeTemplateStore, type FakeTemplateStore } from './fake-template-store.ts';
export {
  type Actor,
  createHarness,
  expectProblem,
  expectSecured,
  expectStatus,
  type Harness,
  HUBS,
  type TestResponse,
  type TestTenant,
  testCatalog,
} from './harness.ts';
export {
  bundlePolicy,
  createConnectedRole,
  createHub,
  createOrganizationTree,
  HUB_ACCOUNT,
  HUB_POLICY,
  hubEnvironment,
  type OrganizationTree,
  type OrganizationTreeUnit,
} from './loopback-world.ts';
export {
  MANAGEMENT_ROLE,
  MEMBER_ROLE,
  roleArnOf,
  seedOrganization,
} from './organization-seed.ts';
export * from './seed.ts';
export {
  type ReceivedWebhook,
  startWebhookReceiver,
  type WebhookReceiver,
} from './webhook-receiver.ts';
