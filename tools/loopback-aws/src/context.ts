import type { PartitionId } from './partitions.ts';
import type { QueryParams } from './query.ts';
import type { Caller, LoopbackState } from './state.ts';

/** Test-controlled behaviour the handlers consult. */
export interface Controls {
  /** Role ARN → milliseconds after its creation during which AssumeRole is refused. */
  propagationDelays: Map<string, number>;
  /** Principal ARNs whose SimulatePrincipalPolicy calls are refused. */
  deniedSimulators: Set<string>;
}

export interface QueryContext {
  state: LoopbackState;
  controls: Controls;
  caller: Caller;
  partition: PartitionId;
  /** The SigV4 credential scope's region. */
  region: string;
  requestId: string;
  action: string;
  params: QueryParams;
}
