import { createHash } from 'node:crypto';
import type { permissionsUpdateSchema } from '@onramp/contracts';
import {
  type Catalog,
  CoreValidationError,
  cloudFormationChangeSetCommand,
  cloudFormationDeployCommand,
  concretePolicies,
  createUserBlueprint,
  defaultStackName,
  type PartitionId,
  type PolicySet,
  type RoleBlueprint,
  renderCloudFormationYaml,
  renderTerraform,
  shellQuote,
  updateStackLink,
} from '@onramp/core';
import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import type { Account } from '../../domain/account.ts';
import type { Caller } from '../../domain/caller.ts';
import type { Connection } from '../../domain/connection.ts';
import { AppError } from '../../http/problems.ts';
import type { BrandingSource } from '../../ports/branding.ts';
import type { TemplateStore } from '../../ports/template-store.ts';
import type { CallbacksService } from '../callbacks/callbacks-service.ts';
import type { ConnectionsService } from '../connections/connections-service.ts';
import type { AccountsService } from './accounts-service.ts';
import { diffGrants, grantsOf, principalOf, wantedBundles } from './permission-grants.ts';

export type PermissionsUpdate = z.output<typeof permissionsUpdateSchema>;

export interface PermissionsUpdateDeps {
  catalog: Catalog;
  clock: () => Date;
  accounts: Pick<AccountsService, 'getAccount'>;
  connections: Pick<ConnectionsService, 'find' | 'blueprintOf'>;
  /** The call-back a connection's templates carry, and the stack that used it. */
  callbacks: Pick<CallbacksService, 'callbackFor' | 'stackOf'>;
  templates?: TemplateStore | undefined;
  templateBuckets?: Partial<Record<PartitionId, string>> | undefined;
  /** The operator's brand: the update's templates and steps name the platform by it. */
  branding?: Pick<BrandingSource, 'brand'> | undefined;
}

/** The parameter of a keyless template naming an OpenID Connect provider the account already has. */
const EXISTING_PROVIDER_PARAMETER = 'ExistingOidcProviderArn';

/**
 * The command that updates a keyless role's stack. It leaves the provider parameter as the stack has
 * it: `aws cloudformation deploy` keeps the previous value of every parameter of an existing stack
 * that `--parameter-overrides` does not name (the CLI asks CloudFormation to use the previous value;
 * the change-set command of core says `UsePreviousValue=true` itself). Naming it would, for a stack
 * that uses the account's existing provider, set it back to empty and so create a second provider
 * (IAM refuses it and the update rolls back), and, for a stack that created the provider, stop
 * managing it. So no note about the parameter either, unlike the first deploy's command.
 */
function keylessUpdateDeployCommand(
  blueprint: RoleBlueprint,
  options: { stackName: string; templateFile: string; region: string },
): string {
  const { region } = options;
  const stack = shellQuote(options.stackName);
  return [
    'aws cloudformation deploy \\',
    `  --region ${region} \\`,
    `  --stack-name ${stack} \\`,
    `  --template-file ${shellQuote(options.templateFile)} \\`,
    '  --capabilities CAPABILITY_NAMED_IAM \\',
    `  --parameter-overrides ${shellQuote(`RoleName=${blueprint.roleName}`)}`,
    '',
    `aws cloudformation describe-stacks --region ${region} --stack-name ${stack} \\`,
    `  --query "Stacks[0].Outputs[?OutputKey=='RoleArn'].OutputValue" --output text`,
  ].join('\n');
}

/** `arn:aws:cloudformation:eu-west-1:123456789012:stack/onramp-X/uuid` → its region and name. */
function parseStackId(stackId: string): { region: string; name: string } | undefined {
  const match =
    /^arn:[\w-]+:cloudformation:([a-z0-9-]+):\d{12}:stack\/([A-Za-z][A-Za-z0-9-]*)\//.exec(stackId);
  return match?.[1] && match[2] ? { region: match[1], name: match[2] } : undefined;
}

/**
 * What a tenant applies to give an account the permissions its bundles need now, rendered for the
 * way its role was made, by the same core renderers as the connection's own templates (so the
 * stack, the Terraform resources and the policy names are the ones already deployed). The policies
 * are the whole set as it should be: an action no chosen bundle needs any more is simply not in them,
 * and `changes` names it under `remove`. Nothing is stored; `…/permissions/verify` records the result.
 */
export function createPermissionsUpdate(deps: PermissionsUpdateDeps) {
  function changesOf(account: Account, wanted: string[]) {
    const principal = principalOf(account.method);
    // An account connected before grants were kept: what it was connected with is its bundles.
    const granted =
      account.permissions.granted ?? grantsOf(deps.catalog, account.bundles, principal);
    return diffGrants(granted, grantsOf(deps.catalog, wanted, principal));
  }

  function policiesOf(policySet: PolicySet, name: string, accountId: string, path: string) {
    return concretePolicies(policySet, { accountId, roleName: name, rolePath: path }).map(
      (document, i) => ({ name: `${name}-${policySet.policies[i]?.suffix}`, document }),
    );
  }

  async function cloudFormationOf(
    caller: Caller,
    connection: Connection,
    blueprint: RoleBlueprint,
    log: FastifyBaseLogger | undefined,
  ): Promise<NonNullable<PermissionsUpdate['cloudFormation']>> {
    // The stack that reported the role names itself (and its region); otherwise the name every
    // Onramp deploy command and quick-create link gives it.
    const stackId = await deps.callbacks.stackOf(connection.tenantId, connection.id);
    const reported = stackId ? parseStackId(stackId) : undefined;
    const stackName = reported?.name ?? defaultStackName(blueprint);
    const region = reported?.region ?? blueprint.partition.defaultRegion;
    // The template keeps the stack's call-back (a template without it would delete the custom
    // resource, which Onramp reads as the stack going away), and its Update is the re-check.
    const callback = await deps.callbacks.callbackFor(caller, connection);
    const template = renderCloudFormationYaml(blueprint, callback ? { callback } : {});
    const hash = createHash('sha256').update(template).digest('hex').slice(0, 16);
    const templateFile = `onramp-${stackName}.yaml`;
    const changeSetName = `onramp-permissions-${hash.slice(0, 8)}`;
    let updateStackUrl: string | null = null;
    const bucket = deps.templateBuckets?.[connection.partition];
    if (bucket && deps.templates) {
      try {
        const { url } = await deps.templates.publish(
          connection.partition,
          `connections/${connection.id}/${hash}.yaml`,
          template,
        );
        updateStackUrl = updateStackLink({
          blueprint,
          templateUrl: url,
          stack: stackId ?? stackName,
          region,
        });
      } catch (error) {
        log?.error(
          { err: error, connectionId: connection.id, bucket },
          'update template not published',
        );
      }
    }
    const deployCommand =
      connection.method === 'oidc_role'
        ? keylessUpdateDeployCommand(blueprint, { templateFile, stackName, region })
        : cloudFormationDeployCommand(blueprint, { templateFile, stackName, region });
    return {
      stackName,
      template,
      deployCommand,
      changeSetCommand: cloudFormationChangeSetCommand(blueprint, {
        stackName,
        changeSetName,
        templateFile,
        region,
      }),
      updateStackUrl,
    };
  }

  function policySteps(
    kind: 'role' | 'user',
    principalName: string,
    policies: PermissionsUpdate['policies'],
  ): PermissionsUpdate['steps'] {
    const steps = policies.map((policy, i) => ({
      title: `Replace the policy ${policy.name}`,
      detail:
        `In IAM, open Policies and search for ${policy.name}. Choose Edit, switch to the JSON editor, replace its content with policy ${i + 1} below, and save the changes (IAM keeps five versions of a policy: delete the oldest if it asks). ` +
        `If the ${kind} has no policy of that name, choose Create policy instead, paste the same document, name it ${policy.name}, and attach it to the ${kind} ${principalName}.`,
    }));
    steps.push({
      title: 'Remove what is no longer needed',
      detail: `Detach and delete any other policy named ${principalName}-… that the platform gave the ${kind} and that is not listed here: no chosen bundle needs its actions any more.`,
    });
    return steps;
  }

  const verifyStep = {
    title: 'Verify',
    detail:
      'Ask Onramp to verify the account (“I’ve applied it — verify” in the account’s Update permissions panel, or POST /v1/accounts/:id/permissions/verify). It checks the permissions with AWS and, when they pass, records them and marks the account valid.',
  };

  /**
   * The account's own stored selection is not something the caller sent: a problem with it (a bundle
   * the catalog cannot give in its partition any more) names the account, with what to do.
   */
  function notRenderable(error: unknown): unknown {
    if (!(error instanceof CoreValidationError)) return error;
    const message = `The platform cannot render this account's permissions from the catalog: ${error.message}`;
    return new AppError(
      'conflict',
      message,
      error.issues.map((issue) => ({
        field: 'id',
        code: issue.code,
        message: issue.message,
        hint: 'Choose the account’s bundles again (PATCH /v1/accounts/:id with bundles), or ask the operator about the catalog change.',
      })),
    );
  }

  async function render(
    caller: Caller,
    accountId: string,
    log?: FastifyBaseLogger,
  ): Promise<PermissionsUpdate> {
    const account = await deps.accounts.getAccount(caller.tenantId, accountId);
    const wanted = wantedBundles(deps.catalog, account);
    const changes = changesOf(account, wanted);
    const selection = { partition: account.partition, bundles: wanted, regions: account.regions };
    const platform = deps.branding ? (await deps.branding.brand()).name : undefined;

    if (account.method === 'access_keys') {
      const userName = account.principalArn.split('/').at(-1) ?? '';
      const blueprint = createUserBlueprint({
        catalog: deps.catalog,
        platform,
        selection,
        userName,
      });
      const policies = policiesOf(
        blueprint.policySet,
        blueprint.userName,
        account.awsAccountId,
        '/',
      );
      return {
        madeWith: 'access_keys',
        changes,
        policies,
        cloudFormation: null,
        terraform: null,
        steps: [...policySteps('user', blueprint.userName, policies), verifyStep],
      };
    }

    const connection = account.connectionId
      ? await deps.connections.find(caller.tenantId, account.connectionId)
      : undefined;
    if (!connection) {
      const message =
        'This role account has no connection any more, so the platform does not know how its role was made.';
      throw new AppError('conflict', message, [
        {
          field: 'id',
          code: 'no_connection',
          message,
          hint: 'Replace the role (PUT /v1/accounts/:id/credentials) with one from a new connection.',
        },
      ]);
    }
    // The connection as it should be now: same role name, external ID(s) and partition.
    const wantedConnection: Connection = {
      ...connection,
      bundles: wanted,
      regions: account.regions,
    };
    const blueprint = deps.connections.blueprintOf(wantedConnection, platform);
    const policies = policiesOf(
      blueprint.policySet,
      blueprint.roleName,
      account.awsAccountId,
      blueprint.rolePath,
    );
    const method = connection.setupMethod;
    const keyless = connection.method === 'oidc_role';
    if (method === 'quick_create' || method === 'cloudformation') {
      const cloudFormation = await cloudFormationOf(caller, wantedConnection, blueprint, log);
      return {
        madeWith: method,
        changes,
        policies,
        cloudFormation,
        terraform: null,
        steps: [
          {
            title: 'Preview the change',
            detail: `Save the template as onramp-${cloudFormation.stackName}.yaml and run the change-set commands: they list what CloudFormation will change in the stack ${cloudFormation.stackName} without changing it.`,
          },
          {
            title: 'Update the stack',
            detail: keyless
              ? `Run the deploy command (or open the update-stack link, where there is one, and keep every parameter's current value). The role keeps its name and trust; only its policies change. The command does not give ${EXISTING_PROVIDER_PARAMETER}, so the stack keeps the value it has: a stack that created the OpenID Connect provider keeps it, and one that uses a provider the account already had does not try to create a second.`
              : 'Run the deploy command (or open the update-stack link, where there is one). The role keeps its name and external ID; only its policies change.',
          },
          {
            ...verifyStep,
            detail: `${verifyStep.detail} A stack whose template reports back to the platform asks for this by itself when the update completes.`,
          },
        ],
      };
    }
    if (method === 'terraform') {
      return {
        madeWith: 'terraform',
        changes,
        policies,
        cloudFormation: null,
        terraform: { file: renderTerraform(blueprint) },
        steps: [
          {
            title: 'Replace the Terraform file',
            detail: keyless
              ? 'Replace the file you applied for this role with this one (same resource names and role name), then run terraform plan and terraform apply with the same existing_oidc_provider_arn as the first time: empty when this file created the OpenID Connect provider, the provider’s ARN when the account had one. With another value Terraform would plan to destroy the provider (other roles in the account may trust it) or to create a second one (IAM refuses it): the plan must list policy changes only.'
              : 'Replace the file you applied for this role with this one (same resource names, role name and external ID), then run terraform plan to see the policy changes and terraform apply to make them.',
          },
          verifyStep,
        ],
      };
    }
    return {
      madeWith: 'manual',
      changes,
      policies,
      cloudFormation: null,
      terraform: null,
      steps: [...policySteps('role', blueprint.roleName, policies), verifyStep],
    };
  }

  return {
    async render(
      caller: Caller,
      accountId: string,
      log?: FastifyBaseLogger,
    ): Promise<PermissionsUpdate> {
      try {
        return await render(caller, accountId, log);
      } catch (error) {
        throw notRenderable(error);
      }
    },
  };
}

export type PermissionsUpdateService = ReturnType<typeof createPermissionsUpdate>;
