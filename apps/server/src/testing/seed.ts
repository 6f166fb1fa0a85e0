// `@onramp/server/testing/seed`: the repositories tests, the bench and `npm run dev` seed rows with
// (they stand in for sign-up and connect flows a scene is not about), without the test harness and
// its test runner, so a bench process that only seeds stays as small as the server.

export { createAccountsRepository } from '../features/accounts/accounts-repository.ts';
export { createSessionsRepository } from '../features/auth/sessions-repository.ts';
export { createConnectionsRepository } from '../features/connections/connections-repository.ts';
export { createTenantsRepository } from '../features/tenants/tenants-repository.ts';
export { createTokensRepository } from '../features/tokens/tokens-repository.ts';
export { createUsersRepository } from '../features/users/users-repository.ts';
