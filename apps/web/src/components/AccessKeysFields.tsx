import type { FieldErrors } from '../lib/forms.ts';
import { Field, TextInput } from './ui.tsx';

/** An IAM user's access key, as typed: both halves, empty until entered. */
export interface AccessKeys {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * The two fields of an access key (the console's wizard and a hosted session's, to connect or to fix
 * an account). The secret is a password field that a browser must not fill in.
 */
export function AccessKeysFields({
  keys,
  onChange,
  errors,
}: {
  keys: AccessKeys;
  onChange: (keys: AccessKeys) => void;
  errors: FieldErrors;
}) {
  return (
    <>
      <Field label="Access key ID" error={errors.accessKeyId}>
        <TextInput
          value={keys.accessKeyId}
          spellCheck={false}
          placeholder="AKIA…"
          onChange={(event) => onChange({ ...keys, accessKeyId: event.target.value })}
        />
      </Field>
      <Field
        label="Secret access key"
        error={errors.secretAccessKey}
        description="Stored encrypted and never shown again."
      >
        <TextInput
          type="password"
          autoComplete="new-password"
          value={keys.secretAccessKey}
          onChange={(event) => onChange({ ...keys, secretAccessKey: event.target.value })}
        />
      </Field>
    </>
  );
}
