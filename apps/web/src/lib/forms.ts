import { ApiProblem } from '@onramp/sdk';
import { type ChangeEvent, type FormEvent, useState } from 'react';
import type { z } from 'zod';

/** What a form shows next to a field: the message, and what to do about it when known. */
export interface FieldMessage {
  message: string;
  hint?: string | undefined;
  /** A value that fixes it, when the API knows one (the partition the keys belong to). */
  suggestion?: string | undefined;
}
export type FieldErrors = Record<string, FieldMessage>;

/**
 * Checks a form's values with the same zod schema the API validates the request with, so the browser
 * and the server never disagree on what is valid. The errors are keyed by the field's path (`name`,
 * `admin.email`), as the API's `errors[].field` are.
 */
export function validateWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
): { ok: true; data: z.output<S> } | { ok: false; errors: FieldErrors } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path.map(String).join('.') || 'form';
    errors[field] ??= { message: messageOf(issue) };
  }
  return { ok: false, errors };
}

function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'too_small' && issue.origin === 'string' && Number(issue.minimum) === 1) {
    return 'Enter a value.';
  }
  if (issue.code === 'invalid_value' || issue.code === 'invalid_union') return 'Choose one.';
  return sentence(issue.message);
}

function sentence(message: string): string {
  const text = message.replace(/^Invalid input: /, '');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The API's field errors, keyed by field; problems without a field go under `form`. */
export function problemErrors(error: unknown): FieldErrors {
  if (!(error instanceof ApiProblem)) {
    return { form: { message: error instanceof Error ? error.message : String(error) } };
  }
  const errors: FieldErrors = {};
  for (const e of error.errors)
    errors[e.field] ??= { message: e.message, hint: e.hint, suggestion: e.suggestion };
  if (error.errors.length === 0) errors.form = { message: error.detail ?? error.title };
  return errors;
}

/** The message to show for an error of any kind. */
export function describeError(error: unknown): string {
  if (error instanceof ApiProblem) return error.detail ?? error.title;
  return error instanceof Error ? error.message : String(error);
}

/** The keys of a form whose values a text input, textarea or select edits. */
type TextKeys<T> = { [K in keyof T]: T[K] extends string ? K : never }[keyof T];

/**
 * The state every console form keeps: its values, the errors shown beside its fields, and whether it
 * is being sent. `submit` runs the request with the button busy, clears the errors when it succeeds
 * and shows the API's field errors when it fails; checking with `validateWith` stays the caller's.
 */
export function useForm<T extends object>(initial: T) {
  const [form, setForm] = useState(initial);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [blank] = useState(initial);

  /** `value` and `onChange` for the input, textarea or select that edits `key`. */
  const field = (key: TextKeys<T>) => ({
    value: form[key] as string,
    onChange: (event: ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => {
      const { value } = event.target;
      setForm((current) => ({ ...current, [key]: value }));
    },
  });

  /** Back to the first values, without errors: after a create, ready for the next one. */
  const reset = () => {
    setForm(blank);
    setErrors({});
  };

  const submit = async (run: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await run();
      setErrors({});
    } catch (failure) {
      setErrors(problemErrors(failure));
    } finally {
      setBusy(false);
    }
  };

  /** A form's submit handler: the console checks and sends itself, without the browser's help. */
  const onSubmit = (action: () => unknown) => (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void action();
  };

  return { form, setForm, errors, setErrors, busy, field, reset, submit, onSubmit };
}
