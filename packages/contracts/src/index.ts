export * from './accounts.ts';
export * from './callbacks.ts';
export * from './catalog.ts';
export * from './common.ts';
export * from './credentials.ts';
export * from './fleet.ts';
export * from './identity.ts';
export * from './policies.ts';
