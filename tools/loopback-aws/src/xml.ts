/** The little XML the loopback writes: AWS Query and S3 REST-XML responses. */

export type XmlValue =
  | string
  | number
  | boolean
  | Date
  | undefined
  | null
  | readonly XmlValue[]
  | { readonly [tag: string]: XmlValue };

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** AWS timestamps: ISO 8601 in UTC, whole seconds. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Children of an element. Objects become elements in key order; arrays become a list of `<member>`
 * elements (the Query protocol's list shape); `undefined` and `null` are left out.
 */
export function toXml(value: XmlValue): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return isoSeconds(value);
  if (Array.isArray(value)) return value.map((item) => `<member>${toXml(item)}</member>`).join('');
  let out = '';
  for (const [tag, child] of Object.entries(value as { readonly [tag: string]: XmlValue })) {
    if (child === undefined || child === null) continue;
    out += `<${tag}>${toXml(child)}</${tag}>`;
  }
  return out;
}

/** A document with one root element (and an optional namespace). */
export function xmlDocument(root: string, children: XmlValue, namespace?: string): string {
  const ns = namespace ? ` xmlns="${namespace}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${toXml(children)}</${root}>`;
}
