/** What an evaluation takes and answers: shared by the simulator-backed and the compiled evaluator. */
import type { NamedPolicy, PolicyJson } from './state.ts';

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

export type Context = Record<string, string | string[]>;

export interface EvaluationInput {
  principal: string;
  action: string;
  resource: string;
  resourceAccountId: string;
  identityPolicies: NamedPolicy[];
  sessionPolicy?: PolicyJson | undefined;
  /** The account's SCPs; undefined when the account is not under an organization's SCPs. */
  scps?: { documents: PolicyJson[]; replaceFullAccess: boolean } | undefined;
  resourcePolicy?: PolicyJson | undefined;
  context: Context;
}

export interface MatchedStatement {
  sourcePolicyId: string;
  sourcePolicyType: string;
}

export interface Evaluation {
  decision: Decision;
  /** False when the organization's SCPs do not allow the request. */
  allowedByOrganizations: boolean;
  /** Which layer refused, and whether by an explicit deny. */
  refusedBy: 'scp' | 'identity' | 'session' | 'resource' | undefined;
  explicit: boolean;
  matched: MatchedStatement[];
}
