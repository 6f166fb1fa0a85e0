import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ProblemFieldError } from '../../http/problems.ts';

/**
 * Server-side request forgery guard for webhook URLs. A tenant chooses where Onramp sends requests, so
 * without this a tenant could make Onramp call the cloud metadata service, the database or anything
 * else on its private network. Every address a host resolves to must be public; the same check runs
 * again when each delivery connects (the DNS answer may have changed since registration: rebinding).
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (injected in tests). */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

type Range = readonly [prefix: readonly number[], bits: number, why: string];

/** IPv4 ranges that are not the public internet (RFC 6890 and friends). */
const V4_FORBIDDEN: readonly Range[] = [
  [[0, 0, 0, 0], 8, 'a "this network" address'],
  [[10, 0, 0, 0], 8, 'a private address'],
  [[100, 64, 0, 0], 10, 'a carrier-grade NAT address'],
  [[127, 0, 0, 0], 8, 'a loopback address'],
  [[169, 254, 0, 0], 16, 'a link-local address (cloud metadata services live here)'],
  [[172, 16, 0, 0], 12, 'a private address'],
  [[192, 0, 0, 0], 24, 'an IETF protocol address'],
  [[192, 0, 2, 0], 24, 'a documentation address'],
  [[192, 88, 99, 0], 24, 'a deprecated 6to4 relay address'],
  [[192, 168, 0, 0], 16, 'a private address'],
  [[198, 18, 0, 0], 15, 'a benchmarking address'],
  [[198, 51, 100, 0], 24, 'a documentation address'],
  [[203, 0, 113, 0], 24, 'a documentation address'],
  [[224, 0, 0, 0], 4, 'a multicast address'],
  [[240, 0, 0, 0], 4, 'a reserved address'],
];

/** IPv6 ranges that are not the public internet; those that embed an IPv4 address are checked apart. */
const V6_FORBIDDEN: readonly Range[] = [
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 128, 'the unspecified address'],
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 128, 'a loopback address'],
  // Local-use NAT64 (RFC 8215): the operator's own translator, whose prefix length (and so where the
  // IPv4 address sits) Onramp cannot know; refused whatever it carries.
  [[0x00, 0x64, 0xff, 0x9b, 0, 1], 48, 'a local NAT64 address'],
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'a discard address'],
  // Teredo tunnels to a host behind a NAT through a relay; no webhook receiver needs it, and the
  // client address it carries is obfuscated: refused whatever it carries.
  [[0x20, 0x01, 0x00, 0x00], 32, 'a Teredo address'],
  [[0x20, 0x01, 0x00, 0x02, 0, 0], 48, 'a benchmarking address'],
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'a documentation address'],
  [[0x3f, 0xff], 20, 'a documentation address'],
  [[0xfc], 7, 'a unique-local address (cloud metadata services live here too)'],
  [[0xfe, 0x80], 10, 'a link-local address'],
  [[0xfe, 0xc0], 10, 'a site-local address'],
  [[0xff], 8, 'a multicast address'],
];

function inRange(bytes: readonly number[], [prefix, bits]: Range): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if (((bytes[i / 8] ?? 0) & mask) !== ((prefix[i / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** 16 bytes, or undefined when the text is not an IPv6 address (a zone id `%eth0` is dropped). */
function parseIPv6(text: string): number[] | undefined {
  let rest = text.split('%')[0] ?? '';
  let tail: number[] = [];
  const lastColon = rest.lastIndexOf(':');
  if (rest.slice(lastColon + 1).includes('.')) {
    const v4 = parseIPv4(rest.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    rest = `${rest.slice(0, lastColon + 1)}0:0`;
  }
  const halves = rest.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groups(halves[0]);
  const back = groups(halves[1]);
  const missing = 8 - head.length - back.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...back];
  if (!all.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const bytes = all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * IPv6 forms that carry an IPv4 address, and the byte it starts at: each is judged as the IPv4
 * address it carries, since a stack or translator on the way may deliver it there.
 */
const V4_CARRIERS: readonly [prefix: readonly number[], bits: number, offset: number][] = [
  // IPv4-mapped ::ffff:a.b.c.d
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96, 12],
  // IPv4-translated ::ffff:0:a.b.c.d (SIIT, RFC 6145)
  [[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0], 96, 12],
  // IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks)
  [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 96, 12],
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)
  [[0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96, 12],
  // 6to4 2002:a.b.c.d::/48
  [[0x20, 0x02], 16, 2],
];

/**
 * Why an address may not receive webhooks, or undefined when it is a public address. IPv4 addresses
 * inside IPv6 (V4_CARRIERS) are judged as the IPv4 address they carry; any other IPv6 address must be
 * global unicast (2000::/3) and in none of the special ranges.
 */
export function forbiddenReason(address: string): string | undefined {
  const kind = isIP(address.split('%')[0] ?? '');
  if (kind === 4) {
    const bytes = parseIPv4(address);
    if (!bytes) return 'not an IP address';
    return V4_FORBIDDEN.find((r) => inRange(bytes, r))?.[2];
  }
  if (kind !== 6) return 'not an IP address';
  const bytes = parseIPv6(address);
  if (!bytes) return 'not an IP address';
  // :: and ::1 before the IPv4-compatible form, which would read them as 0.0.0.0 and 0.0.0.1.
  const special = V6_FORBIDDEN.find((r) => inRange(bytes, r))?.[2];
  if (special) return special;
  for (const [prefix, bits, offset] of V4_CARRIERS) {
    if (inRange(bytes, [prefix, bits, ''])) {
      const why = forbiddenReason(bytes.slice(offset, offset + 4).join('.'));
      return why ? `${why} inside IPv6` : undefined;
    }
  }
  if (!inRange(bytes, [[0x20], 3, ''])) return 'a reserved address (not global unicast)';
  return undefined;
}

export interface GuardOptions {
  /** The operator allows private addresses (ONRAMP_WEBHOOKS_ALLOW_PRIVATE): for tests and labs. */
  allowPrivate: boolean;
  lookup: HostLookup;
}

export class AddressRefusedError extends Error {
  constructor(
    message: string,
    readonly code: 'private_address' | 'unresolvable' | 'invalid_url',
  ) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

/** The host of a URL as a resolver wants it: IPv6 literals without their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Resolves a host to all its addresses and refuses it when any of them is not public (a host with one
 * public and one private address could be answered either way at connection time).
 */
export async function resolvePublicAddresses(
  host: string,
  options: GuardOptions,
): Promise<ResolvedAddress[]> {
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await options.lookup(host);
    } catch {
      throw new AddressRefusedError(`The host ${host} does not resolve.`, 'unresolvable');
    }
    if (addresses.length === 0)
      throw new AddressRefusedError(`The host ${host} has no address.`, 'unresolvable');
  }
  if (!options.allowPrivate) {
    for (const { address } of addresses) {
      const why = forbiddenReason(address);
      if (why) {
        throw new AddressRefusedError(
          literal
            ? `${address} is ${why}; webhooks are sent to public addresses only.`
            : `${host} resolves to ${address}, ${why}; webhooks are sent to public addresses only.`,
          'private_address',
        );
      }
    }
  }
  return addresses;
}

/**
 * Checks an endpoint URL when it is registered or changed: http or https, no credentials in it, and a
 * host whose every address is public. Returns the field error to report, or undefined.
 */
export async function checkEndpointUrl(
  text: string,
  options: GuardOptions,
): Promise<ProblemFieldError | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return {
      field: 'url',
      code: 'invalid_url',
      message: 'This is not a URL.',
      hint: 'Give an absolute URL such as https://hooks.example.com/onramp.',
    };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return {
      field: 'url',
      code: 'invalid_url',
      message: `Webhooks are sent over http or https, not ${url.protocol.replace(':', '')}.`,
      hint: 'Use an https:// URL.',
    };
  }
  if (url.username || url.password) {
    return {
      field: 'url',
      code: 'invalid_url',
      message: 'The URL carries a user name or password; Onramp signs its requests instead.',
      hint: 'Remove the credentials from the URL and verify the Onramp-Webhook-Signature header.',
    };
  }
  try {
    await resolvePublicAddresses(hostOf(url), options);
  } catch (error) {
    if (!(error instanceof AddressRefusedError)) throw error;
    return {
      field: 'url',
      code: error.code,
      message: error.message,
      hint:
        error.code === 'private_address'
          ? 'Use an endpoint reachable on the public internet. (The operator can allow private addresses with ONRAMP_WEBHOOKS_ALLOW_PRIVATE=true.)'
          : 'Check the host name.',
    };
  }
  return undefined;
}
