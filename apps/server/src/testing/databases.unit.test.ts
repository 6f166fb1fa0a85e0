import { describe, expect, it } from 'vitest';
import { testDialectsFrom } from './databases.ts';

describe('ONRAMP_TEST_DIALECTS', () => {
  it('runs both engines when unset or empty', () => {
    expect(testDialectsFrom(undefined)).toEqual(['sqlite', 'postgres']);
    expect(testDialectsFrom(' ')).toEqual(['sqlite', 'postgres']);
  });

  it('narrows to the engines named, in the usual order', () => {
    expect(testDialectsFrom('sqlite')).toEqual(['sqlite']);
    expect(testDialectsFrom('postgres, sqlite,')).toEqual(['sqlite', 'postgres']);
  });

  it('refuses an unknown name and says what it takes', () => {
    expect(() => testDialectsFrom('sqlite,postgresql')).toThrow(
      "ONRAMP_TEST_DIALECTS names 'postgresql': use sqlite or postgres",
    );
  });
});
