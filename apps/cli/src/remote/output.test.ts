import { describe, expect, it } from 'vitest';
import type { CliIo } from '../cli-io.ts';
import { createOutput, describeAge, printable, renderTable } from './output.ts';

interface Row {
  id: string;
  name: string;
  status: string;
}

const COLUMNS = [
  { header: 'ID', value: (r: Row) => r.id, fixed: true },
  { header: 'NAME', value: (r: Row) => r.name, flexible: true },
  { header: 'STATUS', value: (r: Row) => r.status },
];
const ROWS: Row[] = [
  { id: 'acct_1', name: 'Production account of the platform', status: 'valid' },
  { id: 'acct_22', name: 'Dev', status: 'degraded' },
];

function ioFor(stdout: Partial<CliIo['stdout']>, env: Record<string, string> = {}) {
  let text = '';
  const io = {
    stdout: { write: (t: string) => (text += t), ...stdout },
    stderr: { write: () => undefined },
    env,
  } as unknown as CliIo;
  return { io, text: () => text };
}

describe('tables', () => {
  it('aligns columns to the widest cell, without trailing spaces', () => {
    expect(renderTable(COLUMNS, ROWS, undefined)).toEqual([
      'ID       NAME                                STATUS',
      'acct_1   Production account of the platform  valid',
      'acct_22  Dev                                 degraded',
    ]);
  });

  it('cuts the flexible column first to fit the terminal, and never a fixed one', () => {
    const lines = renderTable(COLUMNS, ROWS, 30);
    expect(lines[1]).toBe('acct_1   Production…  valid');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(30);
    // Too narrow for anything: the id stays whole and the line wraps on the terminal.
    expect(renderTable(COLUMNS, ROWS, 5)[2]?.startsWith('acct_22 ')).toBe(true);
  });

  it('shows a missing value as a dash, and control characters from the server as ?', () => {
    const lines = renderTable(COLUMNS, [{ id: 'a', name: 'x\u001b[2J\ry', status: '' }], undefined);
    expect(lines[1]).toBe('a   x?[2J?y  -');
  });

  it('uses colour only on a terminal, and never with NO_COLOR', () => {
    const pipe = ioFor({});
    createOutput(pipe.io, { json: false }).table(COLUMNS, ROWS);
    expect(pipe.text()).not.toContain('\u001b');
    const terminal = ioFor({ isTTY: true, columns: 120 });
    createOutput(terminal.io, { json: false }).table(COLUMNS, ROWS);
    expect(terminal.text()).toContain('\u001b[1m');
    const noColor = ioFor({ isTTY: true, columns: 120 }, { NO_COLOR: '1' });
    createOutput(noColor.io, { json: false }).table(COLUMNS, ROWS);
    expect(noColor.text()).not.toContain('\u001b');
  });
});

describe('printable', () => {
  it('replaces C0, C1, DEL and bidirectional controls, and keeps other text', () => {
    expect(printable('a\u0000b\u009bc\u007fd\u202ee\u2066f é ✓')).toBe('a?b?c?d?e?f é ✓');
  });
});

describe('describeAge', () => {
  const now = new Date('2026-12-03T12:00:00Z');
  it.each([
    ['2026-12-03T11:59:58Z', 'just now'],
    ['2026-12-03T11:59:00Z', '1 minute ago'],
    ['2026-12-03T09:00:00Z', '3 hours ago'],
    ['2026-11-30T12:00:00Z', '3 days ago'],
    ['2026-12-05T12:00:00Z', 'in 2 days'],
  ])('%s is %s', (at, expected) => {
    expect(describeAge(at, now)).toBe(expected);
  });
  it('shows no time as a dash', () => {
    expect(describeAge(null, now)).toBe('-');
  });
});
