/** The AWS Query protocol (STS, IAM): form-encoded parameters in, XML out. */
import { AwsError, validationError } from './errors.ts';
import { escapeXml, type XmlValue, xmlDocument } from './xml.ts';

export const NAMESPACES = {
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
} as const;

export const VERSIONS = { sts: '2011-06-15', iam: '2010-05-08' } as const;

export type QueryService = keyof typeof NAMESPACES;

/** AWS's parameter name in validation messages: `RoleSessionName` → `roleSessionName`. */
const memberName = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

/**
 * The request's parameters, read the way the Query protocol flattens them: lists as
 * `Name.member.N`, structures as `Name.member.N.Field`.
 */
export class QueryParams {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    private readonly prefix = '',
  ) {}

  static parse(...sources: string[]): QueryParams {
    const values = new Map<string, string>();
    for (const source of sources) {
      for (const [key, value] of new URLSearchParams(source)) values.set(key, value);
    }
    return new QueryParams(values);
  }

  get(name: string): string | undefined {
    return this.values.get(this.prefix + name);
  }

  has(name: string): boolean {
    return this.values.has(this.prefix + name);
  }

  required(name: string): string {
    const value = this.get(name);
    if (value === undefined) {
      throw validationError(
        `1 validation error detected: Value null at '${memberName(name)}' failed to satisfy constraint: Member must not be null`,
      );
    }
    return value;
  }

  int(name: string, min?: number, max?: number): number | undefined {
    const text = this.get(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) {
      throw new AwsError(
        'MalformedInput',
        `Invalid value '${text}' for parameter ${name}: not an integer`,
        400,
      );
    }
    if (min !== undefined && value < min) {
      throw validationError(
        `1 validation error detected: Value '${value}' at '${memberName(name)}' failed to satisfy constraint: Member must have value greater than or equal to ${min}`,
      );
    }
    if (max !== undefined && value > max) {
      throw validationError(
        `1 validation error detected: Value '${value}' at '${memberName(name)}' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
      );
    }
    return value;
  }

  bool(name: string): boolean | undefined {
    const text = this.get(name);
    return text === undefined ? undefined : text.toLowerCase() === 'true';
  }

  /** `Name.member.1`, `Name.member.2`… */
  list(name: string): string[] {
    const out: string[] = [];
    for (let i = 1; ; i++) {
      const value = this.get(`${name}.member.${i}`);
      if (value === undefined) return out;
      out.push(value);
    }
  }

  /** `Name.member.1.Field`… as one view per member. */
  structs(name: string): QueryParams[] {
    const out: QueryParams[] = [];
    for (let i = 1; ; i++) {
      const prefix = `${this.prefix}${name}.member.${i}.`;
      const present = [...this.values.keys()].some((key) => key.startsWith(prefix));
      if (!present) return out;
      out.push(new QueryParams(this.values, prefix));
    }
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

export function queryReply(
  service: QueryService,
  action: string,
  result: XmlValue,
  requestId: string,
): Reply {
  const children: Record<string, XmlValue> = {};
  if (result !== undefined) children[`${action}Result`] = result;
  children.ResponseMetadata = { RequestId: requestId };
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: xmlDocument(`${action}Response`, children, NAMESPACES[service]),
  };
}

export function queryErrorReply(service: QueryService, error: AwsError, requestId: string): Reply {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${NAMESPACES[service]}"><Error><Type>${error.type}</Type><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return {
    status: error.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body,
  };
}

/** Marker/MaxItems pagination with an opaque marker, as IAM's List* calls do. */
export function paginate<T>(
  items: readonly T[],
  params: QueryParams,
): { page: T[]; isTruncated: boolean; marker: string | undefined } {
  const maxItems = params.int('MaxItems', 1, 1000) ?? 100;
  const markerText = params.get('Marker');
  let start = 0;
  if (markerText !== undefined) {
    const decoded = /^lb1\.(\d+)$/.exec(Buffer.from(markerText, 'base64url').toString('utf8'));
    if (!decoded) throw validationError('Invalid Marker.');
    start = Number(decoded[1]);
  }
  const page = items.slice(start, start + maxItems);
  const next = start + page.length;
  const isTruncated = next < items.length;
  return {
    page,
    isTruncated,
    marker: isTruncated ? Buffer.from(`lb1.${next}`).toString('base64url') : undefined,
  };
}
