import type { Bundle } from '@onramp/core';
import { describe, expect, it } from 'vitest';
import { EXTRA_ACTIONS_KEPT, EXTRA_POLICIES_KEPT, extraPermissions } from './extra-permissions.ts';

const bundle: Bundle = {
  id: 'nodes',
  productId: 'p',
  name: 'Nodes',
  description: 'Nodes.',
  isDefault: true,
  partitions: ['aws'],
  statements: [{ actions: ['ec2:Describe*', 'iam:PassRole'], resources: ['*'] }],
};

const policy = (name: string, statements: unknown) => ({
  name,
  document: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
});

describe('extra permissions', () => {
  it('lists per policy the allowed actions no chosen bundle or Onramp’s own checks need', () => {
    const extra = extraPermissions(
      [
        policy('onramp', [
          { Effect: 'Allow', Action: ['ec2:DescribeInstances', 'iam:PassRole'], Resource: '*' },
          { Effect: 'Allow', Action: 'iam:SimulatePrincipalPolicy', Resource: '*' },
        ]),
        policy('admin-added', [
          { Effect: 'Allow', Action: ['s3:*', 'ec2:*', 'EC2:describeregions'], Resource: '*' },
          { Effect: 'Deny', Action: ['kms:*'], Resource: '*' },
          { Effect: 'Allow', NotAction: ['iam:*'], Resource: '*' },
        ]),
        // One statement, not a list, as IAM allows.
        policy('arn:aws:iam::aws:policy/AmazonSQSFullAccess', {
          Effect: 'Allow',
          Action: 'sqs:*',
          Resource: '*',
        }),
        { name: 'broken', document: 'not json' },
      ],
      [bundle],
      'role',
    );
    // ec2:* overlaps what the bundle needs (removing it removes those), so it is not extra; case does
    // not matter to IAM.
    expect(extra).toEqual([
      { policy: 'admin-added', actions: ['s3:*'] },
      { policy: 'arn:aws:iam::aws:policy/AmazonSQSFullAccess', actions: ['sqs:*'] },
    ]);
  });

  it('stays bounded however many policies and actions the principal has', () => {
    const many = Array.from({ length: EXTRA_POLICIES_KEPT + 5 }, (_, i) =>
      policy(`p${i}`, [
        {
          Effect: 'Allow',
          Action: Array.from({ length: EXTRA_ACTIONS_KEPT + 50 }, (_, j) => `svc${i}:Action${j}`),
          Resource: '*',
        },
      ]),
    );
    const extra = extraPermissions(many, [bundle], 'user');
    expect(extra).toHaveLength(EXTRA_POLICIES_KEPT);
    expect(extra.every((e) => e.actions.length === EXTRA_ACTIONS_KEPT)).toBe(true);
    expect(extraPermissions([], [bundle], 'role')).toEqual([]);
  });
});
