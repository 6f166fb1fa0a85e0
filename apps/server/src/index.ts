// The package's entry point (`@onramp/server`): what running and administering Onramp needs, for
// the bench, the end-to-end tests and the scripts. Anything else under src/ is private to the server.

export {
  type AwsLog,
  createSdkAwsGateway,
  type SdkAwsGatewayOptions,
} from './adapters/aws/sdk-aws-gateway.ts';
export { createSdkTemplateStore } from './adapters/aws/sdk-template-store.ts';
export { createEnvelope, type Envelope } from './adapters/crypto/envelope.ts';
export {
  type Keyring,
  lockKeyringFile,
  type MasterKey,
  memoryKeyring,
  newMasterKey,
  openKeyringFile,
} from './adapters/crypto/keyring.ts';
export {
  type DatabaseHandle,
  type Dialect,
  migrateToLatest,
  openDatabase,
} from './adapters/db/database.ts';
export { type App, buildApp } from './app.ts';
export { KEYRING_ADVISORY_LOCK } from './commands/keys-rotate.ts';
export {
  type Config,
  ConfigError,
  databaseLocation,
  type HubConfig,
  keyringPath,
  loadConfig,
} from './config.ts';
export type { AppDeps } from './deps.ts';
export { CSRF_HEADER, SESSION_COOKIE } from './features/auth/auth-hook.ts';
export { createHealthScheduler, type HealthScheduler } from './jobs/health-scheduler.ts';
export { createWebhookDeliverer, type WebhookDeliverer } from './jobs/webhook-deliverer.ts';
export type { AwsGateway } from './ports/aws-gateway.ts';
export type { TemplateStore } from './ports/template-store.ts';
export { createServices, type Services } from './wiring.ts';
