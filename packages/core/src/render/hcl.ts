/**
 * A small writer for the subset of HCL that Onramp's Terraform needs: blocks, attributes and
 * `jsonencode({...})` values, laid out as `terraform fmt` lays them out (equals signs aligned within a
 * run of attributes). Strings are HCL templates: literal `${` and `%{` are escaped, and only the
 * interpolations a renderer inserts on purpose (via `hclRaw`) are live.
 */
export type HclValue =
  | string
  | number
  | boolean
  | HclRaw
  | HclValue[]
  | { [key: string]: HclValue };

export interface HclRaw {
  readonly raw: string;
}

export interface HclBlock {
  type: string;
  labels?: string[];
  body: HclItem[];
}

export type HclItem =
  | { kind: 'attribute'; name: string; value: HclValue }
  | { kind: 'block'; block: HclBlock }
  | { kind: 'blank' };

export function hclRaw(raw: string): HclRaw {
  return { raw };
}

export function attr(name: string, value: HclValue): HclItem {
  return { kind: 'attribute', name, value };
}

export function block(type: string, labels: string[], body: HclItem[]): HclItem {
  return { kind: 'block', block: { type, labels, body } };
}

export const blank: HclItem = { kind: 'blank' };

export function renderHclFile(items: HclItem[]): string {
  return `${renderBody(items, 0).join('\n')}\n`;
}

/** Escapes a literal string for an HCL quoted template. */
export function hclString(text: string): string {
  return `"${escapeTemplate(text)}"`;
}

export function escapeTemplate(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, () => '%%{');
}

function isRaw(value: HclValue): value is HclRaw {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'raw' in value;
}

function renderBody(items: HclItem[], depth: number): string[] {
  const pad = '  '.repeat(depth);
  const lines: string[] = [];
  let run: { name: string; value: string[] }[] = [];
  const flush = () => {
    const width = Math.max(0, ...run.map((r) => r.name.length));
    for (const r of run) {
      const [first = '', ...rest] = r.value;
      lines.push(`${pad}${r.name.padEnd(width)} = ${first}`, ...rest);
    }
    run = [];
  };
  for (const item of items) {
    if (item.kind === 'attribute') {
      const value = renderValue(item.value, depth);
      if (value.length > 1) {
        // As terraform fmt does: a value spanning several lines takes no part in alignment.
        flush();
        run.push({ name: item.name, value });
        flush();
      } else {
        run.push({ name: item.name, value });
      }
      continue;
    }
    flush();
    if (item.kind === 'blank') {
      lines.push('');
      continue;
    }
    const { type, labels = [], body } = item.block;
    const head = [type, ...labels.map((l) => `"${l}"`)].join(' ');
    if (body.length === 0) {
      lines.push(`${pad}${head} {}`);
    } else {
      lines.push(`${pad}${head} {`, ...renderBody(body, depth + 1), `${pad}}`);
    }
  }
  flush();
  return lines;
}

/** Renders a value; the first line continues the attribute's line, the others are fully indented. */
function renderValue(value: HclValue, depth: number): string[] {
  const pad = '  '.repeat(depth);
  if (typeof value === 'string') return [hclString(value)];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (isRaw(value)) return value.raw.split('\n').map((l, i) => (i === 0 ? l : `${pad}${l}`));
  if (Array.isArray(value)) {
    if (value.length === 0) return ['[]'];
    const inner = value.flatMap((v) => {
      const rendered = renderValue(v, depth + 1);
      rendered[0] = `${pad}  ${rendered[0]}`;
      rendered[rendered.length - 1] = `${rendered[rendered.length - 1]},`;
      return rendered;
    });
    return ['[', ...inner, `${pad}]`];
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return ['{}'];
  const items: HclItem[] = entries.map(([k, v]) =>
    attr(/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : hclString(k), v),
  );
  return ['{', ...renderBody(items, depth + 1), `${pad}}`];
}
