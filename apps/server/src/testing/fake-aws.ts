import { randomBytes } from 'node:crypto';
import { type PartitionId, wildcardToRegExp } from '@onramp/core';
import {
  type AccessKeys,
  type AccountCredentials,
  type AwsGateway,
  AwsProblem,
  type CallerIdentity,
  type IamPolicySummary,
  type SimulationResult,
} from '../ports/aws-gateway.ts';

/** An organization in the fake: its root, units and member accounts (see addOrganization). */
export interface FakeOrganization {
  id: string;
  rootId: string;
  managementAccountId: string;
  units: Map<string, { name: string; parentId: string }>;
  accounts: Map<string, { name: string; email: string; status: string; parentId: string }>;
}

interface PrincipalModel {
  /** Actions (wildcards allowed) its policies allow. */
  allows: string[];
  /** Actions an organization SCP denies in its account. */
  scpDenies: string[];
  canSimulate: boolean;
  canReadPolicies: boolean;
  attached: string[];
}

/**
 * A fake of Onramp's own AwsGateway port, for tests of the services and routes above it. It models just
 * enough of AWS: IAM users with keys, roles with or without an external-ID condition, and what each
 * principal's policies allow. (The SDK adapter itself is tested against the loopback AWS speaking AWS's
 * wire protocol, never against this.)
 */
export function createFakeAws() {
  const users = new Map<
    string,
    { secret: string; partition: PartitionId; identity: CallerIdentity }
  >();
  const roles = new Map<
    string,
    { partition: PartitionId; externalId: string | null; refusalsLeft: number }
  >();
  /**
   * Keyless roles: the provider URL (without https://) they trust, and the audience and subject their
   * trust policy requires (null: no such condition; a `*` in the subject: StringLike).
   */
  const webRoles = new Map<
    string,
    {
      partition: PartitionId;
      provider: string;
      audience: string | null;
      subject: string | null;
      maxSessionDuration: number;
    }
  >();
  /** IAM OIDC providers per account (`<partition>:<account>`): URL without https:// → client IDs. */
  const oidcProviders = new Map<string, Map<string, string[]>>();
  /** AWS failing to fetch the issuer's documents (IDPCommunicationError), or expiring every token. */
  const webFaults = { issuerUnreachable: false, expiredTokens: 0 };
  const principals = new Map<string, PrincipalModel>();
  const sessions = new Map<string, string>(); // session access key → principal ARN
  const roleSessions = new Set<string>(); // session access keys made by AssumeRole
  const signinTokens = new Map<string, string>(); // sign-in token → role ARN
  /** What each AssumeRole asked for (session name, duration, session policy, tags), oldest first. */
  const assumeRoleInputs: Parameters<AwsGateway['assumeRole']>[1][] = [];
  /** What each AssumeRoleWithWebIdentity asked for (its token included), oldest first. */
  const webIdentityInputs: Parameters<AwsGateway['assumeRoleWithWebIdentity']>[1][] = [];
  const calls: { op: string; partition: PartitionId; target: string }[] = [];
  const key = (prefix: string) => `${prefix}${randomBytes(8).toString('hex').toUpperCase()}`;
  const model = (arn: string): PrincipalModel => {
    let m = principals.get(arn);
    if (!m) {
      m = { allows: ['*'], scpDenies: [], canSimulate: true, canReadPolicies: true, attached: [] };
      principals.set(arn, m);
    }
    return m;
  };
  const matches = (patterns: string[], action: string) =>
    patterns.some((p) => p === '*' || wildcardToRegExp(p).test(action));
  const callerOf = (credentials: AccountCredentials): string => {
    const viaSession = sessions.get(credentials.accessKeyId);
    if (viaSession) return viaSession;
    const user = users.get(credentials.accessKeyId);
    if (!user || user.secret !== credentials.secretAccessKey) {
      throw new AwsProblem(
        'rejected',
        'accessKeyId',
        'InvalidClientTokenId',
        'The credentials are not valid.',
        undefined,
        'InvalidClientTokenId',
      );
    }
    return user.identity.arn;
  };
  const simulate = (arn: string, actions: string[]): SimulationResult[] => {
    const m = model(arn);
    return actions.map((action) => {
      const scpDenied = matches(m.scpDenies, action);
      const allowed = matches(m.allows, action);
      return {
        action,
        resource: '*',
        decision: allowed && !scpDenied ? 'allowed' : scpDenied ? 'explicitDeny' : 'implicitDeny',
        allowedByOrganizations: !scpDenied,
      };
    });
  };

  /**
   * Organizations by management account: the root, units (id → name, parent) and member accounts.
   * Only a session of a role in the management account may read one, as AWS allows; pages hold
   * `pageSize` items so callers' paging is exercised.
   */
  const organizations = new Map<string, FakeOrganization>();
  /**
   * Organizations misbehaving: `throttled` calls refused with TooManyRequestsException, pages of
   * `pageSize`, and `listAccountsCut`: ListAccounts ends (no NextToken) after that many accounts, as a
   * read cut short mid-pagination would.
   */
  const orgFaults: { throttled: number; pageSize: number; listAccountsCut: number | null } = {
    throttled: 0,
    pageSize: 20,
    listAccountsCut: null,
  };
  const organizationOf = (credentials: AccountCredentials): FakeOrganization => {
    const arn = callerOf(credentials);
    const account = arn.split(':')[4] ?? '';
    const org = organizations.get(account);
    if (!org) {
      const member = [...organizations.values()].some((o) => o.accounts.has(account));
      throw new AwsProblem(
        'rejected',
        'managementRoleArn',
        member ? 'organizations_access_denied' : 'not_in_organization',
        member
          ? 'AWS Organizations refused: only the management account may read the organization.'
          : 'The account of this role is not in an AWS organization.',
        undefined,
        member ? 'AccessDeniedException' : 'AWSOrganizationsNotInUseException',
      );
    }
    if (orgFaults.throttled > 0) {
      orgFaults.throttled--;
      throw new AwsProblem(
        'upstream',
        'managementRoleArn',
        'upstream_unavailable',
        'AWS Organizations throttled the request (TooManyRequestsException).',
        undefined,
        'TooManyRequestsException',
      );
    }
    return org;
  };
  const paged = <T>(items: T[], token: string | null) => {
    const start = token ? Number(token) : 0;
    const end = start + orgFaults.pageSize;
    return { items: items.slice(start, end), nextToken: end < items.length ? String(end) : null };
  };
  const accountInfo = (org: FakeOrganization, id: string) => {
    const a = org.accounts.get(id);
    if (!a) {
      throw new AwsProblem(
        'rejected',
        'awsAccountId',
        'account_not_in_organization',
        'AWS Organizations says this account is not in the organization.',
        undefined,
        'AccountNotFoundException',
      );
    }
    return {
      id,
      arn: `arn:aws:organizations::${org.managementAccountId}:account/${org.id}/${id}`,
      name: a.name,
      email: a.email,
      status: a.status,
      joinedAt: null,
    };
  };

  const gateway: AwsGateway = {
    async describeOrganization(partition, credentials) {
      calls.push({ op: 'describeOrganization', partition, target: credentials.accessKeyId });
      const org = organizationOf(credentials);
      return {
        id: org.id,
        arn: `arn:${partition}:organizations::${org.managementAccountId}:organization/${org.id}`,
        managementAccountId: org.managementAccountId,
        featureSet: 'ALL',
      };
    },
    async listRoots(partition, credentials, nextToken) {
      calls.push({ op: 'listRoots', partition, target: credentials.accessKeyId });
      const org = organizationOf(credentials);
      return paged([{ id: org.rootId, name: 'Root' }], nextToken);
    },
    async listOrganizationalUnitsForParent(partition, credentials, parentId, nextToken) {
      calls.push({ op: 'listOrganizationalUnitsForParent', partition, target: parentId });
      const org = organizationOf(credentials);
      const children = [...org.units].filter(([, u]) => u.parentId === parentId);
      return paged(
        children.map(([id, u]) => ({ id, name: u.name })),
        nextToken,
      );
    },
    async listAccountsForParent(partition, credentials, parentId, nextToken) {
      calls.push({ op: 'listAccountsForParent', partition, target: parentId });
      const org = organizationOf(credentials);
      const ids = [...org.accounts].filter(([, a]) => a.parentId === parentId).map(([id]) => id);
      return paged(
        ids.map((id) => accountInfo(org, id)),
        nextToken,
      );
    },
    async listAccounts(partition, credentials, nextToken) {
      calls.push({ op: 'listAccounts', partition, target: credentials.accessKeyId });
      const org = organizationOf(credentials);
      const page = paged(
        [...org.accounts.keys()].map((id) => accountInfo(org, id)),
        nextToken,
      );
      const cut = orgFaults.listAccountsCut;
      const start = nextToken ? Number(nextToken) : 0;
      if (cut !== null && start + page.items.length >= cut)
        return { items: page.items.slice(0, Math.max(0, cut - start)), nextToken: null };
      return page;
    },
    async listParents(partition, credentials, childId) {
      calls.push({ op: 'listParents', partition, target: childId });
      const org = organizationOf(credentials);
      const parentId = org.accounts.get(childId)?.parentId ?? org.units.get(childId)?.parentId;
      if (!parentId) {
        throw new AwsProblem(
          'rejected',
          'organizationalUnits',
          'ChildNotFoundException',
          `AWS Organizations has no such account or unit: ${childId}`,
          undefined,
          'ChildNotFoundException',
        );
      }
      return { id: parentId, type: parentId === org.rootId ? 'ROOT' : 'ORGANIZATIONAL_UNIT' };
    },
    async describeAccount(partition, credentials, accountId) {
      calls.push({ op: 'describeAccount', partition, target: accountId });
      return accountInfo(organizationOf(credentials), accountId);
    },
    async describeOrganizationalUnit(partition, credentials, unitId) {
      calls.push({ op: 'describeOrganizationalUnit', partition, target: unitId });
      const unit = organizationOf(credentials).units.get(unitId);
      if (!unit) {
        throw new AwsProblem(
          'rejected',
          'organizationalUnits',
          'OrganizationalUnitNotFoundException',
          `AWS Organizations has no such unit: ${unitId}`,
          undefined,
          'OrganizationalUnitNotFoundException',
        );
      }
      return { id: unitId, name: unit.name };
    },
    async identifyKeys(partition: PartitionId, keys: AccessKeys) {
      calls.push({ op: 'identifyKeys', partition, target: keys.accessKeyId });
      const user = users.get(keys.accessKeyId);
      if (!user || user.partition !== partition) {
        throw new AwsProblem(
          'rejected',
          'accessKeyId',
          'InvalidClientTokenId',
          'AWS does not know this access key ID in this partition.',
          'Check the key ID, and that the key is active.',
          'InvalidClientTokenId',
        );
      }
      if (user.secret !== keys.secretAccessKey) {
        throw new AwsProblem(
          'rejected',
          'secretAccessKey',
          'SignatureDoesNotMatch',
          'The secret access key does not match the access key ID.',
          'Copy the secret again; it is shown only when the key is created.',
          'SignatureDoesNotMatch',
        );
      }
      return user.identity;
    },
    async assumeRole(partition, input) {
      assumeRoleInputs.push(input);
      calls.push({
        op: input.externalId ? 'assumeRole' : 'assumeRoleWithoutExternalId',
        partition,
        target: input.roleArn,
      });
      const role = roles.get(input.roleArn);
      const allowed =
        role &&
        role.partition === partition &&
        (role.externalId === null || role.externalId === input.externalId);
      // A role IAM has not propagated yet is refused like any other, for its first few attempts.
      const propagating = allowed && role.refusalsLeft > 0;
      if (propagating) role.refusalsLeft -= 1;
      if (!allowed || propagating) {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'AccessDenied',
          'AWS refused to let the platform assume this role.',
          'Check the trusted principal, the external ID and the role name.',
          'AccessDenied',
        );
      }
      const [, , , , accountId = '', resource = ''] = input.roleArn.split(':');
      const roleName = resource.split('/').at(-1);
      const accessKeyId = key('ASIA');
      sessions.set(accessKeyId, input.roleArn);
      roleSessions.add(accessKeyId);
      return {
        credentials: {
          accessKeyId,
          secretAccessKey: randomBytes(30).toString('base64'),
          sessionToken: randomBytes(60).toString('base64'),
          expiration: new Date(Date.now() + (input.durationSeconds ?? 3600) * 1000),
        },
        identity: {
          accountId,
          arn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${input.sessionName}`,
          userId: `AROA${randomBytes(8).toString('hex').toUpperCase()}:${input.sessionName}`,
        },
      };
    },
    async assumeRoleWithWebIdentity(partition, input) {
      calls.push({ op: 'assumeRoleWithWebIdentity', partition, target: input.roleArn });
      webIdentityInputs.push(input);
      const claims = JSON.parse(
        Buffer.from(input.webIdentityToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as { iss: string; aud: string; sub: string; exp: number };
      const [, , , , accountId = '', resource = ''] = input.roleArn.split(':');
      const provider = claims.iss.replace(/^https:\/\//, '');
      const clientIds = oidcProviders.get(`${partition}:${accountId}`)?.get(provider);
      if (!clientIds) {
        throw new AwsProblem(
          'rejected',
          'oidcProvider',
          'oidc_provider_missing',
          `AWS found no IAM OpenID Connect provider for the platform's issuer in the account: No OpenIDConnect provider found in your account for ${claims.iss}`,
          undefined,
          'InvalidIdentityTokenException',
        );
      }
      if (webFaults.issuerUnreachable) {
        throw new AwsProblem(
          'upstream',
          'oidcProvider',
          'issuer_unreachable',
          "AWS could not fetch the discovery document or the keys of the platform's OpenID Connect issuer (IDPCommunicationError). This is not the account's fault: the issuer's /.well-known/openid-configuration and jwks.json must be reachable from AWS over https; try again shortly.",
          undefined,
          'IDPCommunicationErrorException',
        );
      }
      if (!clientIds.includes(claims.aud)) {
        throw new AwsProblem(
          'rejected',
          'oidcProvider',
          'oidc_audience_not_allowed',
          'The account’s IAM OpenID Connect provider does not list the token’s audience: Incorrect token audience',
          undefined,
          'InvalidIdentityTokenException',
        );
      }
      if (webFaults.expiredTokens > 0 || claims.exp * 1000 < Date.now()) {
        if (webFaults.expiredTokens > 0) webFaults.expiredTokens -= 1;
        throw new AwsProblem(
          'upstream',
          'roleArn',
          'identity_token_expired',
          'AWS says the token of the platform’s OpenID Connect issuer has expired although it was just minted: the server’s clock is probably wrong (clock skew); the platform’s operator should synchronise it (NTP).',
          undefined,
          'ExpiredTokenException',
        );
      }
      const role = webRoles.get(input.roleArn);
      const trusted =
        role &&
        role.partition === partition &&
        role.provider === provider &&
        (role.audience === null || role.audience === claims.aud) &&
        (role.subject === null || wildcardToRegExp(role.subject).test(claims.sub));
      if (!trusted) {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'AccessDenied',
          'AWS refused to let the platform assume this keyless role with its token.',
          undefined,
          'AccessDenied',
        );
      }
      const duration = input.durationSeconds ?? 3600;
      if (duration > role.maxSessionDuration) {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'ValidationError',
          `AWS refused the request as invalid: The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`,
          undefined,
          'ValidationError',
        );
      }
      const roleName = resource.split('/').at(-1);
      const accessKeyId = key('ASIA');
      sessions.set(accessKeyId, input.roleArn);
      roleSessions.add(accessKeyId);
      return {
        credentials: {
          accessKeyId,
          secretAccessKey: randomBytes(30).toString('base64'),
          sessionToken: randomBytes(60).toString('base64'),
          expiration: new Date(Date.now() + duration * 1000),
        },
        identity: {
          accountId,
          arn: `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${input.sessionName}`,
          userId: `AROA${randomBytes(8).toString('hex').toUpperCase()}:${input.sessionName}`,
        },
      };
    },
    async getSessionToken(partition, keys, durationSeconds) {
      const identity = await gateway.identifyKeys(partition, keys);
      calls.push({ op: 'getSessionToken', partition, target: keys.accessKeyId });
      const accessKeyId = key('ASIA');
      sessions.set(accessKeyId, identity.arn);
      return {
        accessKeyId,
        secretAccessKey: randomBytes(30).toString('base64'),
        sessionToken: randomBytes(60).toString('base64'),
        expiration: new Date(Date.now() + (durationSeconds ?? 3600) * 1000),
      };
    },
    async simulatePrincipalPolicy(partition, credentials, principalArn, query) {
      calls.push({ op: 'simulatePrincipalPolicy', partition, target: principalArn });
      callerOf(credentials);
      if (!model(principalArn).canSimulate) {
        throw new AwsProblem(
          'rejected',
          'permissions',
          'AccessDenied',
          'Not authorized to perform iam:SimulatePrincipalPolicy.',
          undefined,
          'AccessDenied',
        );
      }
      return simulate(principalArn, query.actions);
    },
    async readPrincipalPolicies(partition, credentials, principalArn) {
      calls.push({ op: 'readPrincipalPolicies', partition, target: principalArn });
      callerOf(credentials);
      const m = model(principalArn);
      if (!m.canReadPolicies) {
        throw new AwsProblem(
          'rejected',
          'permissions',
          'AccessDenied',
          'Not authorized to read the policies.',
          undefined,
          'AccessDenied',
        );
      }
      return [
        {
          name: 'onramp',
          document: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: m.allows, Resource: '*' }],
            principal: principalArn,
          }),
        },
      ];
    },
    async simulateCustomPolicy(partition, documents, query) {
      calls.push({ op: 'simulateCustomPolicy', partition, target: String(documents.length) });
      const arn = (JSON.parse(documents[0] ?? '{}') as { principal?: string }).principal ?? '';
      return simulate(arn, query.actions).map((r) => ({
        ...r,
        allowedByOrganizations: true,
        decision: r.decision === 'explicitDeny' ? 'allowed' : r.decision,
      }));
    },
    async listPolicies(partition, credentials, query) {
      calls.push({ op: 'listPolicies', partition, target: query.scope });
      callerOf(credentials);
      const all: IamPolicySummary[] =
        query.scope === 'aws'
          ? ['ReadOnlyAccess', 'AmazonEC2FullAccess', 'AmazonS3ReadOnlyAccess'].map((name) => ({
              arn: `arn:${partition}:iam::aws:policy/${name}`,
              name,
              path: '/',
              description: `AWS managed ${name}`,
              awsManaged: true,
              attachmentCount: 0,
            }))
          : [
              {
                arn: `arn:${partition}:iam::123456789012:policy/team-boundary`,
                name: 'team-boundary',
                path: '/',
                description: '',
                awsManaged: false,
                attachmentCount: 1,
              },
            ];
      const start = Number(query.marker ?? 0);
      const page = all.slice(start, start + query.maxItems);
      return {
        policies: page,
        marker: start + query.maxItems < all.length ? String(start + query.maxItems) : null,
      };
    },
    async listAttachedPolicyArns(partition, credentials, principalArn) {
      calls.push({ op: 'listAttachedPolicyArns', partition, target: principalArn });
      callerOf(credentials);
      return [...model(principalArn).attached];
    },
    async attachPolicy(partition, credentials, principalArn, policyArn) {
      calls.push({ op: 'attachPolicy', partition, target: `${principalArn} ${policyArn}` });
      callerOf(credentials);
      const m = model(principalArn);
      if (!m.attached.includes(policyArn)) m.attached.push(policyArn);
    },
    async getSigninToken(partition, credentials) {
      calls.push({ op: 'getSigninToken', partition, target: credentials.accessKeyId });
      const roleArn = sessions.get(credentials.accessKeyId);
      // The federation endpoint takes role sessions only (AssumeRole, or GetFederationToken).
      if (!roleArn || !roleSessions.has(credentials.accessKeyId)) {
        throw new AwsProblem(
          'rejected',
          'roleArn',
          'federation_refused',
          'AWS’s sign-in federation endpoint refused the session.',
        );
      }
      const token = randomBytes(24).toString('base64url');
      signinTokens.set(token, roleArn);
      return token;
    },
  };

  return {
    gateway,
    calls,
    /** Sign-in tokens the federation endpoint issued, and the role each signs in to. */
    signinTokens,
    assumeRoleInputs,
    webIdentityInputs,
    webFaults,
    /** Organizations answering TooManyRequestsException `throttled` more times; items per page. */
    orgFaults,
    /**
     * An organization whose management account is `managementAccountId`, with a root. Add units and
     * accounts to the returned object's maps (the management account is a member, under the root).
     */
    addOrganization(
      managementAccountId: string,
      ids: { id?: string; rootId?: string } = {},
    ): FakeOrganization {
      const org: FakeOrganization = {
        id: ids.id ?? `o-${randomBytes(5).toString('hex')}`,
        rootId: ids.rootId ?? `r-${randomBytes(2).toString('hex')}`,
        managementAccountId,
        units: new Map(),
        accounts: new Map(),
      };
      org.accounts.set(managementAccountId, {
        name: 'Management',
        email: `management@${managementAccountId}.example`,
        status: 'ACTIVE',
        parentId: org.rootId,
      });
      organizations.set(managementAccountId, org);
      return org;
    },
    /** An IAM OpenID Connect provider in an account, for an issuer URL, with its client IDs. */
    addOidcProvider(partition: PartitionId, accountId: string, url: string, clientIds: string[]) {
      const key = `${partition}:${accountId}`;
      const providers = oidcProviders.get(key) ?? new Map<string, string[]>();
      providers.set(url.replace(/^https:\/\//, ''), clientIds);
      oidcProviders.set(key, providers);
    },
    /**
     * A keyless role trusting the provider of `issuer`; audience and subject null mean the trust
     * policy lacks that condition, and a `*` in the subject makes it a StringLike pattern.
     */
    addWebIdentityRole(
      roleArn: string,
      trust: {
        issuer: string;
        audience: string | null;
        subject: string | null;
        maxSessionDuration?: number;
      },
    ) {
      webRoles.set(roleArn, {
        partition: roleArn.split(':')[1] as PartitionId,
        provider: trust.issuer.replace(/^https:\/\//, ''),
        audience: trust.audience,
        subject: trust.subject,
        maxSessionDuration: trust.maxSessionDuration ?? 3600,
      });
    },
    /** An IAM user with a long-term key; returns the key pair. */
    addUser(partition: PartitionId, accountId: string, userName = 'onramp'): AccessKeys {
      const accessKeyId = key('AKIA');
      const secretAccessKey = randomBytes(30).toString('base64').slice(0, 40);
      users.set(accessKeyId, {
        secret: secretAccessKey,
        partition,
        identity: {
          accountId,
          arn: `arn:${partition}:iam::${accountId}:user/${userName}`,
          userId: `AIDA${randomBytes(8).toString('hex').toUpperCase()}`,
        },
      });
      return { accessKeyId, secretAccessKey };
    },
    /** Root-user keys: AWS accepts them, Onramp must not. */
    addRootKeys(partition: PartitionId, accountId: string): AccessKeys {
      const accessKeyId = key('AKIA');
      const secretAccessKey = randomBytes(30).toString('base64').slice(0, 40);
      users.set(accessKeyId, {
        secret: secretAccessKey,
        partition,
        identity: { accountId, arn: `arn:${partition}:iam::${accountId}:root`, userId: accountId },
      });
      return { accessKeyId, secretAccessKey };
    },
    revokeKey(accessKeyId: string) {
      users.delete(accessKeyId);
    },
    /** A role that trusts the hub; externalId null means the trust policy has no external-ID condition. */
    addRole(
      roleArn: string,
      externalId: string | null,
      options: { propagatingAttempts?: number } = {},
    ) {
      const partition = roleArn.split(':')[1] as PartitionId;
      roles.set(roleArn, { partition, externalId, refusalsLeft: options.propagatingAttempts ?? 0 });
    },
    deleteRole(roleArn: string) {
      roles.delete(roleArn);
      webRoles.delete(roleArn);
    },
    /** What a principal's policies allow (default: everything), what an SCP denies, what it may do to itself. */
    setPermissions(principalArn: string, permissions: Partial<PrincipalModel>) {
      Object.assign(model(principalArn), permissions);
    },
  };
}

export type FakeAws = ReturnType<typeof createFakeAws>;
