// @vitest-environment happy-dom
import { ApiProblem } from '@onramp/sdk';
import { act, cleanup, renderHook } from '@testing-library/react';
import type { ChangeEvent, FormEvent } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useForm } from './forms.ts';

afterEach(() => cleanup());

const typed = (value: string) => ({ target: { value } }) as ChangeEvent<HTMLInputElement>;

describe('useForm', () => {
  it('binds an input to one key, leaving the others as they are', () => {
    const { result } = renderHook(() => useForm({ name: 'Ada', email: '' }));
    expect(result.current.field('name').value).toBe('Ada');
    act(() => result.current.field('email').onChange(typed('ada@acme.example')));
    expect(result.current.form).toEqual({ name: 'Ada', email: 'ada@acme.example' });
  });

  it('is busy while a submission runs, and clears the errors when it succeeds', async () => {
    const { result } = renderHook(() => useForm({ name: '' }));
    act(() => result.current.setErrors({ name: { message: 'Enter a value.' } }));
    let finish = () => {};
    let done: Promise<void> = Promise.resolve();
    act(() => {
      done = result.current.submit(() => new Promise<void>((resolve) => (finish = resolve)));
    });
    expect(result.current.busy).toBe(true);
    expect(result.current.errors.name).toBeDefined();
    await act(async () => {
      finish();
      await done;
    });
    expect(result.current.busy).toBe(false);
    expect(result.current.errors).toEqual({});
  });

  it('shows the API’s field errors when a submission fails', async () => {
    const { result } = renderHook(() => useForm({ email: '' }));
    await act(() =>
      result.current.submit(async () => {
        throw new ApiProblem({
          status: 409,
          title: 'Conflict',
          errors: [{ field: 'email', code: 'conflict', message: 'Taken.', hint: 'Use another.' }],
        });
      }),
    );
    expect(result.current.busy).toBe(false);
    expect(result.current.errors).toEqual({ email: { message: 'Taken.', hint: 'Use another.' } });
  });

  it('resets to the first values without errors', () => {
    const { result } = renderHook(() => useForm({ name: '', scopes: ['accounts:read'] }));
    act(() => {
      result.current.field('name').onChange(typed('CI'));
      result.current.setErrors({ form: { message: 'Try again.' } });
    });
    act(() => result.current.reset());
    expect(result.current.form).toEqual({ name: '', scopes: ['accounts:read'] });
    expect(result.current.errors).toEqual({});
  });

  it('submits without the browser reloading the page', () => {
    const { result } = renderHook(() => useForm({}));
    const action = vi.fn();
    const event = { preventDefault: vi.fn() } as unknown as FormEvent<HTMLFormElement>;
    result.current.onSubmit(action)(event);
    expect(event.preventDefault).toHaveBeenCalled();
    expect(action).toHaveBeenCalledOnce();
  });
});
