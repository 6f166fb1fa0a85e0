import { returnUrlProblem } from '../../domain/return-urls.ts';

/** The logo's size limit: a header image, not a photograph (and every replica holds it in memory). */
export const MAX_LOGO_BYTES = 256 * 1024;

export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/webp'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

/** Neutral colours for a platform that set none: no product's palette. */
export const DEFAULT_COLORS = { primary: '#2f4a6d', accent: '#3c7a5a' } as const;

/**
 * What the bytes are by their structure, whatever a client or a file name claims: PNG, JPEG or WebP,
 * else undefined. A signature alone is not enough (a PNG signature followed by an HTML page is not an
 * image): a PNG must open with its IHDR chunk and end with IEND, a JPEG must end with its EOI marker,
 * a WebP's RIFF size must be the file's. SVG is never accepted: it is a document that can carry script.
 */
export function sniffLogoType(bytes: Uint8Array): LogoType | undefined {
  const starts = (...signature: number[]) => signature.every((byte, i) => bytes[i] === byte);
  const ends = (...trailer: number[]) =>
    bytes.length >= trailer.length &&
    trailer.every((byte, i) => bytes[bytes.length - trailer.length + i] === byte);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) {
    const header = ascii(bytes, 12, 16) === 'IHDR';
    // The IEND chunk: length 0, type, and its fixed CRC.
    const end = ends(0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82);
    return header && end ? 'image/png' : undefined;
  }
  if (starts(0xff, 0xd8, 0xff)) return ends(0xff, 0xd9) ? 'image/jpeg' : undefined;
  if (starts(0x52, 0x49, 0x46, 0x46) && ascii(bytes, 8, 12) === 'WEBP' && bytes.length >= 12) {
    const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
    return size === bytes.length - 8 ? 'image/webp' : undefined;
  }
  return undefined;
}

function ascii(bytes: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...bytes.subarray(from, to));
}

/**
 * Why a logo cannot be used, or undefined: its size, then its signature against the type it was
 * sent as (`declared`, when there is one). A PNG whose header is followed by HTML is still refused
 * by the browser as HTML, because the logo is served with its sniffed type and `nosniff`.
 */
export function logoProblem(bytes: Uint8Array, declared?: string): string | undefined {
  if (bytes.length === 0) return 'is empty: send the image itself as the body';
  if (bytes.length > MAX_LOGO_BYTES)
    return `is ${Math.ceil(bytes.length / 1024)} KiB; the limit is ${MAX_LOGO_BYTES / 1024} KiB`;
  const sniffed = sniffLogoType(bytes);
  if (!sniffed)
    return 'is not a whole PNG, JPEG or WebP image (SVG is refused: it can carry script)';
  if (declared !== undefined && declared !== sniffed)
    return `was sent as ${declared} but is a ${sniffed.slice('image/'.length).toUpperCase()} image`;
  return undefined;
}

/** Why a support link cannot be offered to customers, or undefined: https or mailto: only. */
export function supportUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not an absolute URL (https://… or mailto:…)';
  }
  if (url.protocol === 'mailto:') {
    return /^[^@\s]+@[^@\s]+$/.test(decodeURIComponent(url.pathname))
      ? undefined
      : 'must be mailto: followed by an email address';
  }
  if (url.protocol !== 'https:') return 'must be an https URL or mailto: (no other scheme)';
  if (url.username || url.password) return 'must not carry a user name or password';
  return undefined;
}

/** The problems of the allow-list entries, each named by its position (`returnUrls[2]`). */
export function returnUrlListProblems(
  urls: readonly string[],
  field: string,
): { field: string; message: string }[] {
  return urls.flatMap((url, i) => {
    const problem = returnUrlProblem(url);
    return problem ? [{ field: `${field}[${i}]`, message: `${url.slice(0, 100)} ${problem}` }] : [];
  });
}
