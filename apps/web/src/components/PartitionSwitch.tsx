import type { PartitionOffer } from '@onramp/sdk';
import { PARTITION_LABELS } from '../lib/format.ts';
import type { FieldMessage } from '../lib/forms.ts';
import { Button } from './ui.tsx';

/**
 * Keys of another partition: AWS only says it does not know them, and Onramp found where they
 * belong. Offers to switch to that partition, where the tenant can act on it: beside the keys, and
 * beside the partition field.
 */
export function PartitionSwitch({
  error,
  offers,
  onSwitch,
  busy,
}: {
  error: FieldMessage | undefined;
  offers: readonly PartitionOffer[];
  onSwitch: (partition: PartitionOffer['partition']) => void;
  busy?: boolean;
}) {
  const target = offers.find(
    (o) => o.partition === error?.suggestion && o.methods.includes('access_keys'),
  );
  if (!target) return null;
  return (
    <Button variant="primary" busy={busy} onClick={() => onSwitch(target.partition)}>
      Switch to {PARTITION_LABELS[target.partition] ?? target.displayName}
    </Button>
  );
}

/** The partition, shown read-only where the keys are entered, with its error and the switch. */
export function PartitionMismatch({
  partition,
  error,
  offers,
  onSwitch,
  busy,
}: {
  partition: string;
  error: FieldMessage | undefined;
  offers: readonly PartitionOffer[];
  onSwitch: (partition: PartitionOffer['partition']) => void;
  busy?: boolean;
}) {
  if (!error) return null;
  return (
    <fieldset className="choice-group field-invalid partition-mismatch">
      <legend className="field-label">Partition</legend>
      <p>
        {PARTITION_LABELS[partition] ?? partition} <code>{partition}</code>
      </p>
      <p className="field-error" role="alert">
        {error.message}
        {error.hint ? <span className="field-hint"> {error.hint}</span> : null}
      </p>
      <PartitionSwitch error={error} offers={offers} onSwitch={onSwitch} busy={busy} />
    </fieldset>
  );
}
