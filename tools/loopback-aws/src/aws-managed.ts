/**
 * A few AWS-managed policies every partition starts with (`arn:<partition>:iam::aws:policy/…`). Their
 * documents are short stand-ins with the same intent, not AWS's full texts; add others with
 * `createAwsManagedPolicy`.
 */
export interface AwsManagedSeed {
  name: string;
  path: string;
  description: string;
  document: object;
}

const allow = (actions: string[]) => ({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }],
});

export const AWS_MANAGED_POLICIES: readonly AwsManagedSeed[] = [
  {
    name: 'AdministratorAccess',
    path: '/',
    description: 'Provides full access to AWS services and resources.',
    document: allow(['*']),
  },
  {
    name: 'ReadOnlyAccess',
    path: '/',
    description: 'Provides read-only access to AWS services and resources.',
    document: allow([
      'ec2:Describe*',
      'iam:Get*',
      'iam:List*',
      'iam:GenerateCredentialReport',
      's3:Get*',
      's3:List*',
      'cloudwatch:Describe*',
      'cloudwatch:Get*',
      'cloudwatch:List*',
      'sts:GetCallerIdentity',
    ]),
  },
  {
    name: 'AmazonEC2FullAccess',
    path: '/',
    description: 'Provides full access to Amazon EC2 via the AWS Management Console.',
    document: allow(['ec2:*', 'elasticloadbalancing:*', 'cloudwatch:*', 'autoscaling:*']),
  },
  {
    name: 'AmazonS3ReadOnlyAccess',
    path: '/',
    description: 'Provides read only access to all buckets via the AWS Management Console.',
    document: allow(['s3:Get*', 's3:List*', 's3:Describe*']),
  },
  {
    name: 'IAMReadOnlyAccess',
    path: '/',
    description: 'Provides read only access to IAM via the AWS Management Console.',
    document: allow(['iam:GenerateCredentialReport', 'iam:Get*', 'iam:List*', 'iam:Simulate*']),
  },
  {
    name: 'SecurityAudit',
    path: '/',
    description:
      'The security audit template grants access to read security configuration metadata.',
    document: allow([
      'iam:GetAccountAuthorizationDetails',
      'iam:GetPolicy',
      'iam:GetPolicyVersion',
      'iam:List*',
      'ec2:Describe*',
      's3:GetBucketPolicy',
      's3:ListAllMyBuckets',
    ]),
  },
  {
    name: 'ViewOnlyAccess',
    path: '/job-function/',
    description:
      'This policy grants permissions to view resources and basic metadata across all AWS services.',
    document: allow(['ec2:Describe*', 'iam:List*', 's3:ListAllMyBuckets', 'cloudwatch:List*']),
  },
  {
    name: 'AWSLambdaBasicExecutionRole',
    path: '/service-role/',
    description: 'Provides write permissions to CloudWatch Logs.',
    document: allow(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']),
  },
];
