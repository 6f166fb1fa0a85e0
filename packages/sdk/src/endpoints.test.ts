import { api, type Endpoint } from '@onramp/contracts';
import { describe, expect, it } from 'vitest';
import { createClient, type OnrampClient } from './index.ts';

type Call = [name: string, endpoint: Endpoint, call: (client: OnrampClient) => Promise<unknown>];

// Ids with a slash and a space: the path must carry them encoded, as one segment.
const ID = 'x/1 2';
const AT = '/x%2F1%202';

/** Each client method, the endpoint it must call, and a call of it. */
const CALLS: Call[] = [
  ['session.get', api.session.get, (c) => c.session.get()],
  [
    'session.login',
    api.session.login,
    (c) => c.session.login({ email: 'a@b.example', password: 'p' }),
  ],
  [
    'session.setup',
    api.session.setup,
    (c) => c.session.setup({ setupToken: 's', email: 'a@b.example', name: 'A', password: 'p' }),
  ],
  [
    'session.changePassword',
    api.session.changePassword,
    (c) => c.session.changePassword({ currentPassword: 'a', newPassword: 'b' }),
  ],
  [
    'session.resetPassword',
    api.session.resetPassword,
    (c) => c.session.resetPassword({ token: 't', newPassword: 'b' }),
  ],
  ['session.logout', api.session.logout, (c) => c.session.logout()],
  ['catalog', api.catalog.get, (c) => c.catalog()],
  ['partitions', api.partitions.list, (c) => c.partitions()],
  ['previewPolicy', api.catalog.previewPolicy, (c) => c.previewPolicy({ partition: 'aws' })],
  ['userTemplate', api.catalog.userTemplate, (c) => c.userTemplate({ partition: 'aws' })],
  [
    'connections.create',
    api.connections.create,
    (c) => c.connections.create({ name: 'n', partition: 'aws' }),
  ],
  ['connections.get', api.connections.get, (c) => c.connections.get(ID)],
  ['connections.update', api.connections.update, (c) => c.connections.update(ID, { name: 'n' })],
  ['connections.list', api.connections.list, (c) => c.connections.list()],
  ['connections.steps', api.connections.steps, (c) => c.connections.steps(ID)],
  [
    'connections.regenerateExternalId',
    api.connections.regenerateExternalId,
    (c) => c.connections.regenerateExternalId(ID),
  ],
  ['connections.delete', api.connections.delete, (c) => c.connections.delete(ID)],
  [
    'connections.cloudFormation',
    api.connections.cloudFormation,
    (c) => c.connections.cloudFormation(ID, { format: 'json' }),
  ],
  ['connections.terraform', api.connections.terraform, (c) => c.connections.terraform(ID)],
  ['accounts.list', api.accounts.list, (c) => c.accounts.list()],
  ['accounts.summary', api.accounts.summary, (c) => c.accounts.summary()],
  ['accounts.recheck', api.accounts.recheck, (c) => c.accounts.recheck({ outdated: true })],
  ['accounts.get', api.accounts.get, (c) => c.accounts.get(ID)],
  [
    'accounts.validate',
    api.accounts.validate,
    (c) => c.accounts.validate({ method: 'role', connectionId: 'c' } as never),
  ],
  [
    'accounts.create',
    api.accounts.create,
    (c) => c.accounts.create({ method: 'role', connectionId: 'c' } as never),
  ],
  [
    'accounts.regenerateExternalId',
    api.accounts.regenerateExternalId,
    (c) => c.accounts.regenerateExternalId(ID),
  ],
  ['accounts.update', api.accounts.update, (c) => c.accounts.update(ID, { name: 'n' })],
  [
    'accounts.replaceCredentials',
    api.accounts.replaceCredentials,
    (c) => c.accounts.replaceCredentials(ID, {} as never),
  ],
  ['accounts.delete', api.accounts.delete, (c) => c.accounts.delete(ID)],
  [
    'accounts.vendCredentials',
    api.accounts.vendCredentials,
    (c) => c.accounts.vendCredentials(ID, { durationSeconds: 900 }),
  ],
  ['accounts.consoleLink', api.accounts.consoleLink, (c) => c.accounts.consoleLink(ID)],
  ['accounts.iamPolicies', api.accounts.iamPolicies, (c) => c.accounts.iamPolicies(ID)],
  [
    'accounts.attachIamPolicies',
    api.accounts.attachIamPolicies,
    (c) => c.accounts.attachIamPolicies(ID, {} as never),
  ],
  ['accounts.check', api.accounts.check, (c) => c.accounts.check(ID)],
  ['accounts.checks', api.accounts.checks, (c) => c.accounts.checks(ID)],
  [
    'accounts.permissionsUpdate',
    api.accounts.permissionsUpdate,
    (c) => c.accounts.permissionsUpdate(ID),
  ],
  [
    'accounts.permissionsVerify',
    api.accounts.permissionsVerify,
    (c) => c.accounts.permissionsVerify(ID),
  ],
  ['webhooks.list', api.webhooks.list, (c) => c.webhooks.list()],
  ['webhooks.get', api.webhooks.get, (c) => c.webhooks.get(ID)],
  ['webhooks.create', api.webhooks.create, (c) => c.webhooks.create({} as never)],
  ['webhooks.update', api.webhooks.update, (c) => c.webhooks.update(ID, {})],
  ['webhooks.delete', api.webhooks.delete, (c) => c.webhooks.delete(ID)],
  ['webhooks.test', api.webhooks.test, (c) => c.webhooks.test(ID)],
  ['webhooks.deliveries', api.webhooks.deliveries, (c) => c.webhooks.deliveries(ID)],
  ['webhooks.rotateSecret', api.webhooks.rotateSecret, (c) => c.webhooks.rotateSecret(ID)],
  ['users.list', api.users.list, (c) => c.users.list()],
  ['users.create', api.users.create, (c) => c.users.create({} as never)],
  ['users.update', api.users.update, (c) => c.users.update(ID, {})],
  ['users.delete', api.users.delete, (c) => c.users.delete(ID)],
  ['users.createResetLink', api.users.createResetLink, (c) => c.users.createResetLink(ID)],
  ['tokens.list', api.tokens.list, (c) => c.tokens.list()],
  ['tokens.create', api.tokens.create, (c) => c.tokens.create({} as never)],
  ['tokens.revoke', api.tokens.revoke, (c) => c.tokens.revoke(ID)],
  ['audit', api.audit.list, (c) => c.audit()],
  ['tenants.list', api.tenants.list, (c) => c.tenants.list()],
  ['tenants.create', api.tenants.create, (c) => c.tenants.create({} as never)],
  ['tenants.update', api.tenants.update, (c) => c.tenants.update(ID, {})],
  ['tenants.delete', api.tenants.delete, (c) => c.tenants.delete(ID)],
  ['organizations.list', api.organizations.list, (c) => c.organizations.list()],
  [
    'organizations.create',
    api.organizations.create,
    (c) => c.organizations.create({ name: 'n', partition: 'aws' }),
  ],
  ['organizations.get', api.organizations.get, (c) => c.organizations.get(ID)],
  ['organizations.update', api.organizations.update, (c) => c.organizations.update(ID, {})],
  ['organizations.delete', api.organizations.delete, (c) => c.organizations.delete(ID)],
  ['organizations.setup', api.organizations.setup, (c) => c.organizations.setup(ID)],
  [
    'organizations.permissionsUpdate',
    api.organizations.permissionsUpdate,
    (c) => c.organizations.permissionsUpdate(ID),
  ],
  [
    'organizations.managementRole',
    api.organizations.managementRole,
    (c) => c.organizations.managementRole(ID, 'arn'),
  ],
  ['organizations.discover', api.organizations.discover, (c) => c.organizations.discover(ID)],
  [
    'organizations.rotateToken',
    api.organizations.rotateToken,
    (c) => c.organizations.rotateToken(ID),
  ],
  ['organizations.tree', api.organizations.tree, (c) => c.organizations.tree(ID)],
  ['organizations.members', api.organizations.members, (c) => c.organizations.members(ID)],
  [
    'organizations.retryMember',
    api.organizations.retryMember,
    (c) => c.organizations.retryMember(ID, ID),
  ],
  [
    'organizations.previewRules',
    api.organizations.previewRules,
    (c) => c.organizations.previewRules(ID, {}),
  ],
  [
    'connectSessions.create',
    api.connectSessions.create,
    (c) => c.connectSessions.create({ returnUrl: 'https://app.example/back' }),
  ],
  ['connectSessions.list', api.connectSessions.list, (c) => c.connectSessions.list()],
  ['connectSessions.get', api.connectSessions.get, (c) => c.connectSessions.get(ID)],
  ['connectSessions.cancel', api.connectSessions.cancel, (c) => c.connectSessions.cancel(ID)],
  ['connect.open', api.connect.open, (c) => c.connect.open(ID, 'secret')],
  ['connect.get', api.connect.get, (c) => c.connect.get(ID)],
  [
    'connect.createConnection',
    api.connect.createConnection,
    (c) => c.connect.createConnection(ID, { partition: 'aws' }),
  ],
  [
    'connect.updateConnection',
    api.connect.updateConnection,
    (c) => c.connect.updateConnection(ID, { bundles: [] }),
  ],
  ['connect.steps', api.connect.steps, (c) => c.connect.steps(ID)],
  [
    'connect.previewPolicy',
    api.connect.previewPolicy,
    (c) => c.connect.previewPolicy(ID, { partition: 'aws' }),
  ],
  [
    'connect.userTemplate',
    api.connect.userTemplate,
    (c) => c.connect.userTemplate(ID, { partition: 'aws' }),
  ],
  ['connect.validate', api.connect.validate, (c) => c.connect.validate(ID, {} as never)],
  [
    'connect.permissionsUpdate',
    api.connect.permissionsUpdate,
    (c) => c.connect.permissionsUpdate(ID),
  ],
  ['connect.complete', api.connect.complete, (c) => c.connect.complete(ID, { verify: true })],
  ['connect.cancel', api.connect.cancel, (c) => c.connect.cancel(ID)],
  ['oidc.status', api.oidc.status, (c) => c.oidc.status()],
  ['oidc.rotate', api.oidc.rotate, (c) => c.oidc.rotate({ immediate: true })],
  ['branding.get', api.branding.get, (c) => c.branding.get()],
  ['branding.settings', api.branding.settings, (c) => c.branding.settings()],
  [
    'branding.updateSettings',
    api.branding.updateSettings,
    (c) => c.branding.updateSettings({ brandName: 'Acme Cloud' }),
  ],
  [
    'branding.putLogo',
    api.branding.putLogo,
    (c) => c.branding.putLogo(new Uint8Array([0x89, 0x50]), 'image/png'),
  ],
  ['branding.deleteLogo', api.branding.deleteLogo, (c) => c.branding.deleteLogo()],
];

/** The client's methods by dotted name (what derives another client, `withTenant`, left out). */
function methodsOf(value: object, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, member]) => {
    if (key === 'withTenant' || key === 'csrfToken') return [];
    if (typeof member === 'function') return [`${prefix}${key}`];
    return member && typeof member === 'object' ? methodsOf(member, `${prefix}${key}.`) : [];
  });
}

describe('the client calls the endpoints the contracts declare', () => {
  it('has a case below for every method', () => {
    const methods = methodsOf(createClient()).sort();
    expect(CALLS.map(([name]) => name).sort()).toEqual(methods);
  });

  it.each(CALLS)('%s', async (_name, endpoint, call) => {
    const requests: { method: string | undefined; path: string }[] = [];
    const fetch = (async (url: string | URL | Request, init?: RequestInit) => {
      requests.push({ method: init?.method, path: new URL(String(url)).pathname });
      return new Response(null, { status: 204 });
    }) as typeof globalThis.fetch;
    // The answer here is no body: a method expecting one fails to parse it, after the request we check.
    await call(createClient({ fetch, baseUrl: 'http://onramp.test' })).catch(() => undefined);
    expect(requests).toEqual([
      { method: endpoint.method, path: endpoint.path.replace(/\/:\w+/g, AT) },
    ]);
  });
});
