import { describe, expect, it } from 'vitest';
import { isId, newId } from './ids.ts';

describe('ids', () => {
  it('are typed, well formed, ordered by time and never repeat (across refills of the random pool)', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newId('audit', 1_700_000_000_000 + i));
    for (const id of ids.slice(0, 50)) expect(isId('audit', id)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    // The random part differs even within one millisecond.
    const same = Array.from({ length: 1000 }, () => newId('request', 1_700_000_000_000));
    expect(new Set(same).size).toBe(same.length);
    expect(isId('account', newId('audit'))).toBe(false);
  });

  it('made one after another sort in the order they were made, even within one millisecond', () => {
    // Thousands of ids in a tight loop: most share their millisecond with others.
    const made = Array.from({ length: 5000 }, () => newId('connection'));
    expect([...made].sort()).toEqual(made);
    expect(new Set(made).size).toBe(made.length);
    expect(made.every((id) => isId('connection', id))).toBe(true);
  });
});
