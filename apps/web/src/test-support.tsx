import type { Catalog, OnrampClient, PartitionOffer, PolicyPreview, Session } from '@onramp/sdk';
import { cleanup, render } from '@testing-library/react';
import type { ReactElement } from 'react';
import { afterEach } from 'vitest';
import { ClientContext, Console, type ConsoleContext } from './lib/session.tsx';

afterEach(() => {
  cleanup();
  // The console keeps its place in the URL (the wizard's step, list filters): each test starts afresh.
  window.history.replaceState(null, '', '/');
});

export const SESSION: Session = {
  user: {
    id: 'user_1',
    email: 'ada@acme.example',
    name: 'Ada',
    role: 'tenant_admin',
    tenantId: 'tenant_1',
  },
  csrfToken: 'csrf',
};

export const CATALOG: Catalog = {
  platform: 'Acme Cloud',
  products: [
    {
      id: 'nodes',
      name: 'Compute nodes',
      description: 'EC2 nodes.',
      bundles: [
        {
          id: 'nodes-ec2',
          name: 'Manage EC2 nodes',
          description: 'Run instances.',
          isDefault: true,
          partitions: ['aws', 'aws-us-gov', 'aws-cn'],
          actions: ['ec2:RunInstances', 'ec2:Describe*'],
          actionsFor: {
            role: ['ec2:RunInstances', 'ec2:Describe*'],
            user: ['ec2:RunInstances', 'ec2:Describe*'],
          },
        },
        {
          id: 'nodes-autoscaling',
          name: 'Auto Scaling groups',
          description: 'Groups of nodes.',
          isDefault: false,
          partitions: ['aws'],
          actions: ['autoscaling:CreateAutoScalingGroup'],
          actionsFor: {
            role: ['autoscaling:CreateAutoScalingGroup'],
            user: ['autoscaling:CreateAutoScalingGroup'],
          },
        },
      ],
    },
  ],
  partitions: [
    {
      partition: 'aws',
      displayName: 'AWS',
      customizable: true,
      defaultBundles: ['nodes-ec2'],
      availableBundles: ['nodes-ec2', 'nodes-autoscaling'],
    },
    {
      partition: 'aws-cn',
      displayName: 'AWS China',
      customizable: false,
      defaultBundles: ['nodes-ec2'],
      availableBundles: ['nodes-ec2'],
    },
  ],
};

export const OFFERS: PartitionOffer[] = [
  {
    partition: 'aws',
    displayName: 'AWS',
    methods: ['role', 'access_keys'],
    reason: null,
    trustedPrincipal: { arn: 'arn:aws:iam::111122223333:user/hub', accountId: '111122223333' },
    regions: [{ id: 'eu-west-1', description: 'Europe (Ireland)' }],
  },
  {
    partition: 'aws-cn',
    displayName: 'AWS China',
    methods: ['access_keys'],
    reason: 'Roles need the operator to configure a hub identity for AWS China (aws-cn).',
    trustedPrincipal: null,
    regions: [],
  },
];

/** A preview whose one statement lists the actions of the chosen bundles, as the API's would. */
export function previewOf(input: { partition: string; bundles?: unknown }): PolicyPreview {
  const ids =
    input.bundles === 'default' || input.bundles === undefined
      ? ['nodes-ec2']
      : (input.bundles as string[]);
  const actions = CATALOG.products
    .flatMap((p) => p.bundles)
    .filter((b) => ids.includes(b.id))
    .flatMap((b) => b.actions);
  return {
    partition: input.partition as 'aws',
    bundles: ids,
    regions: [],
    policies: [
      {
        name: 'OnrampRole-permissions-1',
        size: 100,
        document: {
          Version: '2012-10-17',
          Statement: [{ Sid: 'All', Effect: 'Allow', Action: actions, Resource: '*' }],
        },
      },
    ],
  };
}

/** A client of which a test supplies the calls it expects; any other call fails the test. */
export function fakeClient(calls: Record<string, unknown>): OnrampClient {
  const handler: ProxyHandler<object> = {
    get(_target, key: string) {
      if (key in calls) return calls[key];
      return new Proxy(() => {}, {
        get: (_t, sub: string) => {
          const path = `${key}.${sub}`;
          if (path in calls) return calls[path];
          return () => Promise.reject(new Error(`unexpected call ${path}`));
        },
        apply: () => Promise.reject(new Error(`unexpected call ${key}`)),
      });
    },
  };
  return new Proxy({}, handler) as OnrampClient;
}

export function renderInConsole(
  ui: ReactElement,
  client: OnrampClient,
  overrides: Partial<ConsoleContext> = {},
) {
  const value: ConsoleContext = {
    client,
    session: SESSION,
    tenantId: 'tenant_1',
    canWrite: true,
    isOperator: false,
    setTenant: () => {},
    signOut: async () => {},
    ...overrides,
  };
  return render(
    <ClientContext.Provider value={client}>
      <Console.Provider value={value}>{ui}</Console.Provider>
    </ClientContext.Provider>,
  );
}
