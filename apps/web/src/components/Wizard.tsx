import type { Catalog, PartitionOffer } from '@onramp/sdk';
import { useEffect, useState } from 'react';
import { describeError, type FieldErrors, type FieldMessage } from '../lib/forms.ts';
import { useConsole } from '../lib/session.tsx';
import { Alert, Field, TextInput } from './ui.tsx';

/** The numbered steps above a wizard: the ones behind ticked, the current one named for screen readers. */
export function Stepper<Id extends string>({
  steps,
  current,
}: {
  steps: readonly { id: Id; title: string }[];
  current: Id;
}) {
  const currentIndex = steps.findIndex((s) => s.id === current);
  return (
    <ol className="stepper" aria-label="Steps">
      {steps.map((s, i) => (
        <li
          key={s.id}
          className={`stepper-step${i === currentIndex ? ' current' : ''}${i < currentIndex ? ' complete' : ''}`}
          aria-current={i === currentIndex ? 'step' : undefined}
        >
          <span className="stepper-number" aria-hidden="true">
            {i < currentIndex ? '✓' : i + 1}
          </span>
          <span>{s.title}</span>
        </li>
      ))}
    </ol>
  );
}

/**
 * The API's refusals of fields the current step does not show (another step's, or the body's): said
 * at the top so none is lost.
 */
export function ProblemsElsewhere({ errors }: { errors: [string, FieldMessage][] }) {
  if (errors.length === 0) return null;
  return (
    <Alert tone="danger" title="Something needs your attention">
      <ul>
        {errors.map(([field, e]) => (
          <li key={field}>
            {e.message}
            {e.hint ? ` ${e.hint}` : ''}
          </li>
        ))}
      </ul>
    </Alert>
  );
}

/** What a connect wizard starts from: the partitions on offer and the permission catalog. */
export function useOffersAndCatalog(): {
  offers: PartitionOffer[] | undefined;
  catalog: Catalog | undefined;
  error: string | undefined;
} {
  const { client } = useConsole();
  const [offers, setOffers] = useState<PartitionOffer[] | undefined>();
  const [catalog, setCatalog] = useState<Catalog | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    Promise.all([client.partitions(), client.catalog()]).then(
      ([p, c]) => {
        setOffers(p);
        setCatalog(c);
      },
      (failure: unknown) => setError(describeError(failure)),
    );
  }, [client]);
  return { offers, catalog, error };
}

/** The name and description every connect wizard starts with, and the API's errors on them. */
export function NameAndDescriptionFields<T extends { name: string; description: string }>({
  value,
  onChange,
  errors,
  placeholder,
}: {
  value: T;
  onChange: (value: T) => void;
  errors: FieldErrors;
  placeholder: string;
}) {
  return (
    <>
      <Field label="Name" error={errors.name}>
        <TextInput
          value={value.name}
          autoComplete="off"
          placeholder={placeholder}
          onChange={(event) => onChange({ ...value, name: event.target.value })}
        />
      </Field>
      <Field label="Description" optional error={errors.description}>
        <textarea
          className="input"
          rows={2}
          value={value.description}
          onChange={(event) => onChange({ ...value, description: event.target.value })}
        />
      </Field>
    </>
  );
}
