import type { CliIo } from '../cli-io.ts';

/**
 * How a remote command prints: `--json` prints the API's answer as one JSON document (a list as the
 * array or the page the API gave); otherwise tables and lines for a person. Text that came from the
 * server is made printable first: a name holding an escape sequence must not retitle or clear the
 * terminal, and a carriage return must not forge a line.
 */
export interface Output {
  /** True with --json: print documents, not tables. */
  readonly json: boolean;
  /** True when stdout is a terminal and colour is allowed (no NO_COLOR, not --json). */
  readonly color: boolean;
  /** Prints one JSON document to stdout. */
  document(value: unknown): void;
  /** Prints rows as aligned columns (cut to the terminal's width on a terminal). */
  table<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): void;
  /** Prints `label  value` pairs, aligned, for one record. */
  fields(pairs: readonly (readonly [string, string | number | null | undefined])[]): void;
  /** Prints a line of the result to stdout (made printable). */
  line(text: string): void;
  /** A note for the person on stderr (made printable). */
  note(text: string): void;
  /** Text coloured for a terminal, or as it is otherwise. */
  paint(text: string, style: Style): string;
}

export type Style = 'bold' | 'dim' | 'green' | 'red' | 'yellow';

export interface Column<Row> {
  header: string;
  value(row: Row): string | number | null | undefined;
  /** Cut this column first when the table is wider than the terminal (long names, ARNs). */
  flexible?: boolean;
  /** Never cut this column: ids and account numbers are copied, and a cut one is useless. */
  fixed?: boolean;
}

const STYLE_CODES: Record<Style, [string, string]> = {
  bold: ['\u001b[1m', '\u001b[22m'],
  dim: ['\u001b[2m', '\u001b[22m'],
  green: ['\u001b[32m', '\u001b[39m'],
  red: ['\u001b[31m', '\u001b[39m'],
  yellow: ['\u001b[33m', '\u001b[39m'],
};

/** The narrowest a flexible column is cut to, so it still says something. */
const MIN_FLEXIBLE_WIDTH = 8;
const GAP = '  ';

/**
 * Text from the server or a file, safe to show on a terminal: C0 and C1 control characters (escape
 * sequences, carriage returns, backspaces), DEL and the bidirectional overrides become a visible `?`.
 * Tabs and newlines too: a table cell or a message line stays one line.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, '?');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it replaces.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** A multi-line message made printable line by line (its own newlines kept). */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}

/** The Output of a command run: JSON or tables, colour on a terminal unless NO_COLOR is set. */
export function createOutput(io: CliIo, options: { json: boolean }): Output {
  const isTerminal = io.stdout.isTTY === true;
  // https://no-color.org: any non-empty NO_COLOR turns colour off; TERM=dumb cannot show it.
  const color = isTerminal && !options.json && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  const width = isTerminal ? (io.stdout.columns ?? 80) : undefined;
  const paint = (text: string, style: Style) =>
    color ? `${STYLE_CODES[style][0]}${text}${STYLE_CODES[style][1]}` : text;
  return {
    json: options.json,
    color,
    document: (value) => io.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
    table: (columns, rows) => {
      for (const line of renderTable(columns, rows, width, paint)) io.stdout.write(`${line}\n`);
    },
    fields: (pairs) => {
      const labelWidth = Math.max(0, ...pairs.map(([label]) => label.length));
      for (const [label, value] of pairs) {
        const text = value === null || value === undefined ? '-' : printable(String(value));
        io.stdout.write(`${paint(label.padEnd(labelWidth), 'bold')}${GAP}${text}\n`);
      }
    },
    line: (text) => io.stdout.write(`${printableLines(text)}\n`),
    note: (text) => io.stderr.write(`${printableLines(text)}\n`),
    paint,
  };
}

/**
 * The lines of a table: a header, then one line per row, columns padded to their widest cell. With a
 * terminal width, flexible columns (then the others, from the right) are cut with `…` until it fits.
 */
export function renderTable<Row>(
  columns: readonly Column<Row>[],
  rows: readonly Row[],
  width: number | undefined,
  paint: (text: string, style: Style) => string = (text) => text,
): string[] {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = column.value(row);
      return value === null || value === undefined || value === '' ? '-' : printable(String(value));
    }),
  );
  const widths = columns.map((column, i) =>
    Math.max(displayWidth(column.header), ...cells.map((row) => displayWidth(row[i] ?? ''))),
  );
  if (width !== undefined) fitWidths(widths, columns, width);
  const format = (values: readonly string[]) =>
    values
      .map((value, i) => {
        const cut = truncate(value, widths[i] ?? 0);
        return i === values.length - 1 ? cut : padEnd(cut, widths[i] ?? 0);
      })
      .join(GAP)
      .trimEnd();
  const header = paint(format(columns.map((column) => column.header)), 'bold');
  return [header, ...cells.map(format)];
}

/** Narrows `widths` in place until the table fits in `total` characters. */
function fitWidths<Row>(widths: number[], columns: readonly Column<Row>[], total: number): void {
  const used = () => widths.reduce((sum, w) => sum + w, 0) + GAP.length * (widths.length - 1);
  // Flexible columns first, then the others from the right; fixed ones never (a line that is
  // still too wide wraps, which is better than an id that cannot be copied).
  const order = [
    ...columns.flatMap((column, i) => (column.flexible ? [i] : [])),
    ...columns.flatMap((column, i) => (column.flexible || column.fixed ? [] : [i])).reverse(),
  ];
  for (const i of order) {
    const excess = used() - total;
    if (excess <= 0) return;
    const current = widths[i] ?? 0;
    const floor = Math.min(
      current,
      Math.max(MIN_FLEXIBLE_WIDTH, displayWidth(columns[i]?.header ?? '')),
    );
    widths[i] = Math.max(floor, current - excess);
  }
}

/** The width a string takes on a terminal, counting each code point as one column. */
function displayWidth(text: string): number {
  return [...text].length;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/** `text` cut to `width` columns, ending with `…` when cut. */
export function truncate(text: string, width: number): string {
  const points = [...text];
  if (points.length <= width) return text;
  if (width <= 1) return points.slice(0, width).join('');
  return `${points.slice(0, width - 1).join('')}…`;
}

/**
 * A mark for a check's outcome: ✓ passed, ✗ failed, ! a warning or a step AWS did not answer (so
 * nothing was found either way), - skipped.
 */
export function statusMark(output: Output, status: string): string {
  if (status === 'passed') return output.paint('✓', 'green');
  if (status === 'failed') return output.paint('✗', 'red');
  if (status === 'warning' || status === 'error') return output.paint('!', 'yellow');
  return output.paint('-', 'dim');
}

/** "3 minutes ago", "in 2 days": how long from `now` a timestamp is, for tables. */
export function describeAge(at: string | null | undefined, now: Date): string {
  if (!at) return '-';
  const then = Date.parse(at);
  if (Number.isNaN(then)) return printable(at);
  const seconds = Math.round((now.getTime() - then) / 1000);
  const magnitude = Math.abs(seconds);
  const [amount, unit] =
    magnitude < 60
      ? [magnitude, 'second']
      : magnitude < 3600
        ? [Math.floor(magnitude / 60), 'minute']
        : magnitude < 86_400
          ? [Math.floor(magnitude / 3600), 'hour']
          : [Math.floor(magnitude / 86_400), 'day'];
  if (magnitude < 5) return 'just now';
  const phrase = `${amount} ${unit}${amount === 1 ? '' : 's'}`;
  return seconds >= 0 ? `${phrase} ago` : `in ${phrase}`;
}
