import { ERROR_CODES, PARTITION_IDS } from '@onramp/core';
import { z } from 'zod';

export const partitionIdSchema = z.enum(PARTITION_IDS).meta({
  description: 'AWS partition: aws (commercial), aws-us-gov (GovCloud US) or aws-cn (China).',
});

export const bundleIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a bundle id such as nodes-ec2');

export const regionIdSchema = z
  .string()
  .regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'a region such as eu-west-1');

/** One problem with a request, tied to the field it belongs to (RFC 9457 extension member `errors`). */
export const fieldErrorSchema = z.object({
  field: z.string(),
  code: z.union([z.enum(ERROR_CODES), z.string()]),
  message: z.string(),
  hint: z.string().optional(),
  /** A value that fixes it, when Onramp knows one (the partition the keys belong to). */
  suggestion: z.string().optional(),
});

/** RFC 9457 problem details, as every Onramp error response is shaped. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z.array(fieldErrorSchema).default([]),
});

export type FieldError = z.infer<typeof fieldErrorSchema>;
export type Problem = z.infer<typeof problemSchema>;

/** Which permissions a tenant wants: bundle ids, or the partition's defaults, or all it offers. */
export const bundleSelectionSchema = z.union([
  z.literal('default'),
  z.literal('all'),
  z.array(bundleIdSchema).max(100),
]);

/**
 * The query of every list: at most `limit` items (default 50, at most 200) after `cursor`, the `next`
 * of the previous page passed back unchanged.
 */
export const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(100).optional(),
});

/** Where the following page starts (pass it as `cursor`); null on the last page. */
export const nextCursorSchema = z.string().nullable();

/**
 * Characters no name or description may hold: C0 and C1 controls and DEL (NUL, terminal escapes,
 * carriage returns that rewrite a log line), lone surrogates, line and paragraph separators, the
 * bidirectional controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) that make text read
 * differently from how it is stored, and invisible format characters (zero-width space, word joiner,
 * invisible operators, deprecated format controls, byte-order mark, interlinear annotations) that make
 * two different names look the same. The zero-width joiner and non-joiner stay allowed: emoji and
 * several scripts need them.
 */
const UNSAFE_TEXT =
  /[\p{Cc}\p{Cs}\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/u;

function describeCharacter(char: string): string {
  const code = `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  if (/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u.test(char))
    return `${code}, a bidirectional control`;
  if (/\p{Cc}/u.test(char)) return `${code}, a control character`;
  return `${code}, an invisible formatting character`;
}

/**
 * The one schema of every name and description a person types: trimmed, bounded, and free of the
 * characters above. A description may span lines: line feeds, tabs, and CR only as part of CRLF.
 */
export function safeTextSchema(options: { max: number; min?: number; multiline?: boolean }) {
  const bounded = z.string().trim().max(options.max);
  return (options.min ? bounded.min(options.min) : bounded).superRefine((text, ctx) => {
    const chars = [...text];
    for (const [index, char] of chars.entries()) {
      const isLineBreak =
        char === '\n' || char === '\t' || (char === '\r' && chars[index + 1] === '\n');
      if (options.multiline && isLineBreak) continue;
      if (UNSAFE_TEXT.test(char)) {
        ctx.addIssue({
          code: 'custom',
          message: `must not contain ${describeCharacter(char)} (character ${index + 1})`,
        });
        return;
      }
    }
  });
}

/** A name: one line, 1 to 100 characters. */
export const nameSchema = safeTextSchema({ min: 1, max: 100 });

/** The `:id` of a path: any record's id (its shape is checked where it is looked up). */
export const idParamsSchema = z.object({ id: z.string().min(1).max(100) });
