/**
 * The rows of `onramp accounts import FILE`: a CSV file (a header line, one account a line) or a YAML
 * list, read into the API's create-account requests. Every row is checked here against the same
 * contract the server uses, so a bad value fails naming its row and column before any request.
 * Secret values never reach a message: issues name the column and the reason, not the value.
 */
import { createAccountRequestSchema } from '@onramp/contracts';
import type { CreateAccountInput } from '@onramp/sdk';
import { parse as parseCsv } from 'csv-parse/sync';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { printable } from './output.ts';

export type ImportFormat = 'csv' | 'yaml';

/** A row ready to send: where it came from and the request it becomes. */
export interface ImportRow {
  /** 1-based position among the data rows (the header is not a row). */
  row: number;
  /** The file's line the row starts on, for a person looking at the file. */
  line: number;
  /** The account's name, or what identifies the row when it has none (never a secret). */
  label: string;
  input: CreateAccountInput;
}

export interface RowIssue {
  /** The column (CSV) or key (YAML) the problem is about, as the file spells it when it has it. */
  column: string;
  message: string;
}

/** A row that fails before any request, with every problem found in it. */
export interface RowProblem {
  row: number;
  line: number;
  label: string;
  issues: RowIssue[];
}

export interface ParsedImport {
  rows: ImportRow[];
  problems: RowProblem[];
  /** Columns or keys that are not fields of an account: ignored, and worth a note (a typo?). */
  ignoredColumns: string[];
}

/** A file that cannot be read as rows at all (bad quoting, not a list): no row is imported. */
export class ImportFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportFileError';
  }
}

/** The request fields a row may set, by their name without case, dashes, underscores or spaces. */
const FIELD_OF_COLUMN: Readonly<Record<string, string>> = {
  name: 'name',
  description: 'description',
  partition: 'partition',
  method: 'method',
  accesskeyid: 'accessKeyId',
  secretaccesskey: 'secretAccessKey',
  bundles: 'bundles',
  regions: 'regions',
  rolearn: 'roleArn',
  connectionid: 'connectionId',
  connection: 'connectionId',
  acceptmissingpermissions: 'acceptMissingPermissions',
};

const LIST_FIELDS = new Set(['bundles', 'regions']);
const SECRET_FIELDS = new Set(['secretAccessKey']);

/** The format a file is in: `--format` when given, else its extension. */
export function detectImportFormat(path: string, flag: string | undefined): ImportFormat {
  const chosen = (flag ?? '').trim().toLowerCase();
  if (chosen === 'csv') return 'csv';
  if (chosen === 'yaml' || chosen === 'yml') return 'yaml';
  if (chosen) throw new ImportFileError(`--format: "${chosen}" is not csv or yaml.`);
  if (/\.csv$/i.test(path)) return 'csv';
  if (/\.ya?ml$/i.test(path)) return 'yaml';
  throw new ImportFileError(
    `${path}: cannot tell the format from the file's extension; name it .csv, .yaml or .yml, or pass --format csv|yaml.`,
  );
}

/** Reads the rows of a file's text. */
export function parseImportFile(text: string, format: ImportFormat): ParsedImport {
  const records = format === 'csv' ? readCsvRecords(text) : readYamlRecords(text);
  return checkRecords(records);
}

/** One row as the file has it: its cells by the file's column names. */
interface RawRecord {
  row: number;
  line: number;
  cells: Map<string, unknown>;
}

function readCsvRecords(text: string): RawRecord[] {
  let parsed: { record: string[]; info: { lines: number } }[];
  try {
    // One kind of line end, so csv-parse counts lines as an editor does (it counts a quoted CRLF
    // twice); a multi-line description keeps its lines either way.
    parsed = parseCsv(text.replace(/\r\n?/g, '\n'), {
      bom: true,
      info: true,
      skip_empty_lines: true,
      // A line of only commas (a spreadsheet's empty row) is blank too.
      skip_records_with_empty_values: true,
    }) as unknown as { record: string[]; info: { lines: number } }[];
  } catch (error) {
    throw new ImportFileError(`not valid CSV: ${describeCsvError(error)}`);
  }
  const [header, ...data] = parsed;
  if (!header) throw new ImportFileError('the file is empty: expected a header line of columns.');
  const columns = header.record.map((c) => c.trim());
  return data.map(({ record, info }, index) => {
    const cells = new Map<string, unknown>();
    for (const [i, column] of columns.entries()) {
      if (column !== '') cells.set(column, record[i] ?? '');
    }
    // csv-parse gives the line a record ends on; a quoted line break makes it start earlier.
    const breaks = record.reduce((sum, cell) => sum + (cell.match(/\n/g)?.length ?? 0), 0);
    return { row: index + 1, line: info.lines - breaks, cells };
  });
}

/** csv-parse's message names the line; its own code adds nothing for a person. */
function describeCsvError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Invalid Record Length: /, '').replace(/^Invalid [A-Za-z ]+: /, '');
}

function readYamlRecords(text: string): RawRecord[] {
  const lineCounter = new LineCounter();
  const document = parseDocument(text.replace(/^\uFEFF/, ''), { lineCounter });
  const error = document.errors[0];
  if (error) {
    const at = error.linePos?.[0];
    throw new ImportFileError(
      `not valid YAML${at ? ` (line ${at.line})` : ''}: ${error.message.split('\n')[0]}`,
    );
  }
  let list: unknown = document.contents;
  // `accounts: [...]` reads as well as a bare list.
  if (isMap(list) && list.has('accounts')) list = list.get('accounts', true);
  if (!isSeq(list)) {
    throw new ImportFileError('expected a YAML list of accounts (or `accounts:` with a list).');
  }
  return list.items.map((item, index) => {
    const range = (item as { range?: readonly number[] } | null)?.range;
    const line = range?.[0] !== undefined ? lineCounter.linePos(range[0]).line : 0;
    const cells = new Map<string, unknown>();
    if (isMap(item)) {
      for (const pair of item.items) {
        const key = (pair.key as { value?: unknown } | null)?.value;
        const value = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
        if (key !== undefined && key !== null) cells.set(String(key), value);
      }
    } else {
      cells.set('', item);
    }
    return { row: index + 1, line, cells };
  });
}

function checkRecords(records: readonly RawRecord[]): ParsedImport {
  const ignored = new Set<string>();
  const rows: ImportRow[] = [];
  const problems: RowProblem[] = [];
  // A principal twice in one file is a mistake, not two accounts: the second is refused here.
  const firstRowOfPrincipal = new Map<string, number>();
  for (const record of records) {
    const { candidate, columnOf, issues } = toCandidate(record, ignored);
    const label = labelOf(candidate, record.row);
    const parsed = createAccountRequestSchema.safeParse(candidate);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field = String(issue.path[0] ?? 'method');
        issues.push({
          column: columnOf.get(field) ?? field,
          message: messageOf(field, issue.message),
        });
      }
    }
    const principal = principalOf(candidate);
    if (principal && issues.length === 0) {
      const earlier = firstRowOfPrincipal.get(principal.key);
      if (earlier !== undefined) {
        issues.push({
          column: columnOf.get(principal.field) ?? principal.field,
          message: `the same ${principal.field} as row ${earlier}; each principal is one account.`,
        });
      } else {
        firstRowOfPrincipal.set(principal.key, record.row);
      }
    }
    if (issues.length > 0 || !parsed.success) {
      problems.push({ row: record.row, line: record.line, label, issues });
    } else {
      rows.push({ row: record.row, line: record.line, label, input: parsed.data });
    }
  }
  return { rows, problems, ignoredColumns: [...ignored] };
}

/** The request a record asks for, before the contract checks it, and the file's name of each field. */
function toCandidate(record: RawRecord, ignored: Set<string>) {
  const candidate: Record<string, unknown> = {};
  const columnOf = new Map<string, string>();
  const issues: RowIssue[] = [];
  if (record.cells.has('')) {
    issues.push({ column: '(row)', message: 'expected a mapping of fields, such as name: …' });
  }
  for (const [column, value] of record.cells) {
    if (column === '') continue;
    const field = FIELD_OF_COLUMN[column.toLowerCase().replace(/[\s_-]/g, '')];
    if (!field) {
      ignored.add(column);
      continue;
    }
    columnOf.set(field, column);
    const cell = normaliseCell(field, value);
    if (cell.issue) issues.push({ column, message: cell.issue });
    else if (cell.value !== undefined) candidate[field] = cell.value;
  }
  if (candidate.method === undefined) {
    // Without a method column, the credentials say which kind of account a row is.
    if (candidate.roleArn !== undefined) candidate.method = 'role';
    else if (candidate.accessKeyId !== undefined) candidate.method = 'access_keys';
  }
  if (candidate.method === undefined) {
    issues.push({
      column: columnOf.get('accessKeyId') ?? 'accessKeyId',
      message:
        'each row needs accessKeyId and secretAccessKey (access keys), or roleArn and connectionId (a role).',
    });
  }
  return { candidate, columnOf, issues };
}

/** A cell as the request wants it: empty is absent, lists split, booleans read. */
function normaliseCell(field: string, value: unknown): { value?: unknown; issue?: string } {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string' && value.trim() === '') return {};
  if (LIST_FIELDS.has(field)) return { value: toList(value) };
  if (field === 'acceptMissingPermissions') return toBoolean(value);
  if (typeof value === 'number' || typeof value === 'boolean') return { value: String(value) };
  if (typeof value !== 'string') {
    return {
      issue: SECRET_FIELDS.has(field) ? 'must be text.' : 'must be text, not a list or a mapping.',
    };
  }
  // The secret is kept exactly as written: a key with a trailing space is another key.
  return { value: SECRET_FIELDS.has(field) ? value : value.trim() };
}

/** `default`, `all`, or ids separated by `;`, `,` or spaces (a YAML list as it is). */
function toList(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v.trim() : v));
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === 'default' || text === 'all') return text;
  return text.split(/[;,\s]+/).filter((part) => part !== '');
}

function toBoolean(value: unknown): { value?: boolean; issue?: string } {
  if (typeof value === 'boolean') return { value };
  const text = String(value).trim().toLowerCase();
  if (['true', 'yes', 'y', '1'].includes(text)) return { value: true };
  if (['false', 'no', 'n', '0'].includes(text)) return { value: false };
  return { issue: 'must be true or false.' };
}

/** The contract's message, with a person's words where the contract speaks to a program. */
function messageOf(field: string, message: string): string {
  if (/^Invalid input: expected (string|array|boolean), received undefined$/.test(message)) {
    return field === 'method' ? 'is missing.' : 'is missing; every row needs it.';
  }
  if (field === 'method' && /Invalid (discriminator value|input)/.test(message)) {
    return 'must be access_keys, role or oidc_role.';
  }
  if (SECRET_FIELDS.has(field)) return 'is missing or not a valid secret access key.';
  return message.endsWith('.') ? message : `${message}.`;
}

/** What identifies the row in messages: its name, else its access key ID or role ARN (never the secret). */
function labelOf(candidate: Record<string, unknown>, row: number): string {
  for (const field of ['name', 'roleArn', 'accessKeyId']) {
    const value = candidate[field];
    if (typeof value === 'string' && value !== '') return printable(value);
  }
  return `row ${row}`;
}

function principalOf(
  candidate: Record<string, unknown>,
): { key: string; field: string } | undefined {
  if (candidate.method === 'access_keys' && typeof candidate.accessKeyId === 'string') {
    return { key: `key:${candidate.accessKeyId}`, field: 'accessKeyId' };
  }
  if (typeof candidate.roleArn === 'string') {
    return { key: `role:${candidate.roleArn}`, field: 'roleArn' };
  }
  return undefined;
}
