/**
 * CloudFormation StackSets, enough to play a deployment: `deployStack` records an
 * `AWS::CloudFormation::StackSet` (stack-set-resource.ts), and these functions play it as StackSets
 * would — one stack per target account and region, named `StackSet-<name>-<uuid>`, from the
 * StackSet's template and parameters. For a service-managed StackSet the targets are every ACTIVE
 * account in the target OUs' subtrees except the management account (StackSets never deploys
 * there). Custom resources are returned, not run: the test sends their call-backs. TEST TOOLING.
 */
import { randomUUID } from 'node:crypto';
import { deployStack } from './cloudformation.ts';
import type { LoopbackAws } from './loopback.ts';
import { type Organization, organizationOfAccount } from './organizations.ts';
import {
  type DeployedCustomResource,
  type DeployedStack,
  type DeployedStackSet,
  StackError,
} from './template.ts';

export { STACK_SET_TEMPLATE_BODY_MAX_BYTES } from './stack-set-resource.ts';

/** A stack instance deleted, and what its custom resources' providers receive (RequestType Delete). */
export interface DeletedStackInstance {
  accountId: string;
  region: string;
  stackId: string;
  stackName: string;
  /** In reverse dependency order, as CloudFormation deletes them. */
  customResources: (DeployedCustomResource & { requestType: 'Delete' })[];
}

function stackSetOf(stack: DeployedStack, logicalId: string | undefined): DeployedStackSet {
  const sets = stack.stackSets.filter((s) => logicalId === undefined || s.logicalId === logicalId);
  const [only, ...more] = sets;
  if (!only)
    throw new StackError(
      `the stack ${stack.stackName} has no StackSet${logicalId ? ` ${logicalId}` : ''}`,
    );
  if (more.length > 0) throw new StackError('the stack has several StackSets: name one (stackSet)');
  return only;
}

/** Accounts under a root or OU, its whole subtree. */
function accountsUnder(org: Organization, parentId: string): string[] {
  const parents = new Set([parentId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const unit of org.units.values()) {
      if (parents.has(unit.parentId) && !parents.has(unit.id)) {
        parents.add(unit.id);
        grew = true;
      }
    }
  }
  return [...org.accounts.values()]
    .sort((a, b) => a.seq - b.seq)
    .filter((a) => parents.has(a.parentId))
    .map((a) => a.id);
}

/** Where the StackSet deploys now: `<account>/<region>` keys, in the organization's order. */
function targetsOf(
  aws: LoopbackAws,
  set: DeployedStackSet,
): { accountId: string; region: string }[] {
  const out: { accountId: string; region: string }[] = [];
  const seen = new Set<string>();
  const add = (accountId: string, region: string) => {
    const key = `${accountId}/${region}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ accountId, region });
  };
  if (set.permissionModel === 'SELF_MANAGED') {
    for (const group of set.groups) {
      for (const accountId of group.deploymentTargets.accounts) {
        for (const region of group.regions) add(accountId, region);
      }
    }
    return out;
  }
  const org = organizationOfAccount(aws.state, set.partition, set.administratorAccountId);
  if (!org || (set.callAs === 'SELF' && org.managementAccountId !== set.administratorAccountId)) {
    throw new StackError(
      `StackSet ${set.stackSetName}: service-managed StackSets are created in the organization's management account (${set.administratorAccountId} is not one)`,
    );
  }
  for (const group of set.groups) {
    const { organizationalUnitIds, accounts, accountFilterType } = group.deploymentTargets;
    const inUnits = new Set<string>();
    for (const unit of organizationalUnitIds) {
      if (unit !== org.rootId && !org.units.has(unit)) {
        throw new StackError(`StackSet ${set.stackSetName}: no root or OU ${unit} in ${org.id}`);
      }
      for (const id of accountsUnder(org, unit)) inUnits.add(id);
    }
    let chosen: string[];
    if (accountFilterType === 'INTERSECTION')
      chosen = [...inUnits].filter((a) => accounts.includes(a));
    else if (accountFilterType === 'DIFFERENCE')
      chosen = [...inUnits].filter((a) => !accounts.includes(a));
    else if (accountFilterType === 'UNION')
      chosen = [...inUnits, ...accounts.filter((a) => !inUnits.has(a))];
    else chosen = [...inUnits];
    for (const accountId of chosen) {
      const account = org.accounts.get(accountId);
      // Never the management account; only accounts that can run a stack (ACTIVE).
      if (account?.status !== 'ACTIVE' || accountId === org.managementAccountId) continue;
      for (const region of group.regions) add(accountId, region);
    }
  }
  return out;
}

/**
 * Plays the StackSet's stack instances as StackSets would: a stack `StackSet-<name>-<uuid>` in each
 * target account and region that has none yet (or only `accounts`), from the StackSet's template and
 * parameters. Returns the stacks deployed (their custom resources carry the resolved call-back
 * properties; send the call-backs yourself). A stack that fails in one account (a role that already
 * exists…) leaves that instance FAILED with the reason and does not stop the others, as StackSets'
 * failure tolerance does; `instances` on the StackSet says which.
 */
export function deployStackSetInstances(
  aws: LoopbackAws,
  stack: DeployedStack,
  options: { accounts?: readonly string[]; stackSet?: string } = {},
): DeployedStack[] {
  const set = stackSetOf(stack, options.stackSet);
  const deployed: DeployedStack[] = [];
  for (const { accountId, region } of targetsOf(aws, set)) {
    if (options.accounts && !options.accounts.includes(accountId)) continue;
    const key = `${accountId}/${region}`;
    if (set.instances.get(key)?.status === 'CURRENT') continue;
    try {
      const member = deployStack(aws, {
        partition: set.partition,
        accountId,
        region,
        template: set.templateBody,
        parameters: set.parameters,
        stackName: `StackSet-${set.stackSetName}-${randomUUID()}`,
      });
      set.instances.set(key, {
        accountId,
        region,
        status: 'CURRENT',
        reason: undefined,
        stack: member,
      });
      deployed.push(member);
    } catch (error) {
      if (!(error instanceof StackError)) throw error;
      set.instances.set(key, {
        accountId,
        region,
        status: 'FAILED',
        reason: error.message,
        stack: undefined,
      });
    }
  }
  return deployed;
}

/**
 * Deletes the stack instances of these accounts (DeleteStackInstances, or an account leaving a
 * target OU with RetainStacksOnAccountRemoval false): the member stacks' IAM resources go, and the
 * custom resources' Delete call-back properties come back for the test to send.
 */
export function removeStackSetInstances(
  aws: LoopbackAws,
  stack: DeployedStack,
  options: { accounts: readonly string[]; stackSet?: string; retain?: boolean },
): DeletedStackInstance[] {
  const set = stackSetOf(stack, options.stackSet);
  const deleted: DeletedStackInstance[] = [];
  for (const [key, instance] of set.instances) {
    if (!options.accounts.includes(instance.accountId)) continue;
    set.instances.delete(key);
    const member = instance.stack;
    if (!member) continue;
    if (!options.retain) deleteStackResources(aws, member);
    deleted.push({
      accountId: instance.accountId,
      region: instance.region,
      stackId: member.stackId,
      stackName: member.stackName,
      customResources: options.retain
        ? []
        : [...member.customResources]
            .reverse()
            .map((c) => ({ ...c, requestType: 'Delete' as const })),
    });
  }
  return deleted;
}

/**
 * What automatic deployment does after the organization changed: deploys to accounts that now fall
 * under the targets, and deletes (or, with RetainStacksOnAccountRemoval, keeps but forgets) the
 * instances of accounts that left them (removed, moved out, closed).
 */
export function syncStackSetInstances(
  aws: LoopbackAws,
  stack: DeployedStack,
  options: { stackSet?: string } = {},
): { deployed: DeployedStack[]; deleted: DeletedStackInstance[] } {
  const set = stackSetOf(stack, options.stackSet);
  if (set.permissionModel !== 'SERVICE_MANAGED' || !set.autoDeployment?.enabled) {
    throw new StackError(`StackSet ${set.stackSetName} has no automatic deployment`);
  }
  const wanted = new Set(targetsOf(aws, set).map((t) => t.accountId));
  const gone = [...set.instances.values()]
    .map((i) => i.accountId)
    .filter((accountId) => !wanted.has(accountId));
  const deleted = removeStackSetInstances(aws, stack, {
    accounts: gone,
    stackSet: set.logicalId,
    retain: set.autoDeployment.retainStacksOnAccountRemoval,
  });
  return { deployed: deployStackSetInstances(aws, stack, { stackSet: set.logicalId }), deleted };
}

/** Takes a deployed stack's IAM resources away again (DeleteStack). */
export function deleteStackResources(aws: LoopbackAws, stack: DeployedStack): void {
  const account = aws.state.existingAccount(stack.partition, stack.accountId);
  if (!account) return;
  const entries = Object.values(stack.resources).reverse();
  for (const resource of entries) {
    switch (resource.type) {
      case 'AWS::IAM::Role':
        account.roles.delete(resource.physicalId);
        break;
      case 'AWS::IAM::User':
        account.users.delete(resource.physicalId);
        break;
      case 'AWS::IAM::ManagedPolicy':
        for (const entity of [...account.roles.values(), ...account.users.values()]) {
          entity.attached = entity.attached.filter((arn) => arn !== resource.physicalId);
        }
        account.policies.delete(resource.physicalId);
        break;
      case 'AWS::IAM::OIDCProvider':
        for (const [url, provider] of account.oidcProviders) {
          if (provider.arn === resource.physicalId) account.oidcProviders.delete(url);
        }
        break;
      default:
        break;
    }
  }
}
