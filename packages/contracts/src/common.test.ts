import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import * as contracts from './index.ts';

/**
 * Every name and description field of every request contract, found by walking the schemas, so a
 * field added later is covered without touching this test.
 */
function textFields(schema: z.ZodType, path: string[] = []): [string, z.ZodType][] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
        ['name', 'description'].includes(key) && leafType(child) === 'string'
          ? [[[...path, key].join('.'), child] as [string, z.ZodType]]
          : textFields(child, [...path, key]),
      );
    case 'union':
      return (def.options as z.ZodType[]).flatMap((option) => textFields(option, path));
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
      return textFields(def.innerType as z.ZodType, path);
    case 'pipe':
      return textFields(def.in as z.ZodType, path);
    default:
      return [];
  }
}

function leafType(schema: z.ZodType): unknown {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  if (['optional', 'nullable', 'default', 'prefault'].includes(def.type as string))
    return leafType(def.innerType as z.ZodType);
  return def.type;
}

const requestSchemas = Object.entries(contracts).filter(([key]) => key.endsWith('RequestSchema'));
const fields = requestSchemas.flatMap(([key, schema]) =>
  textFields(schema as z.ZodType).map(([path, leaf]) => [`${key} ${path}`, leaf] as const),
);

const HOSTILE: [string, string][] = [
  ['NUL', 'a\u0000b'],
  ['a terminal escape', 'red\u001b[31m text'],
  ['a carriage return', 'line\roverwritten'],
  ['DEL', 'a\u007fb'],
  ['a C1 control (CSI)', 'a\u009bb'],
  ['right-to-left override', 'invoice\u202Egpj.exe'],
  ['left-to-right embedding', 'a\u202Ab'],
  ['first-strong isolate', 'a\u2068b'],
  ['pop directional isolate', 'a\u2069b'],
  ['right-to-left mark', 'a\u200Fb'],
  ['Arabic letter mark', 'a\u061Cb'],
  ['zero-width space', 'ad\u200Bmin'],
  ['byte-order mark inside', 'a\uFEFFb'],
  ['word joiner', 'a\u2060b'],
  ['line separator', 'a\u2028b'],
  ['a lone surrogate', 'a\uD800b'],
];

describe('names and descriptions in every request contract', () => {
  it('are found by the walk (every contract that has them)', () => {
    const names = fields.map(([label]) => label);
    expect(names).toEqual(
      expect.arrayContaining([
        'createConnectionRequestSchema name',
        'createConnectionRequestSchema description',
        'createAccountRequestSchema name',
        'createAccountRequestSchema description',
        'updateAccountRequestSchema name',
        'updateAccountRequestSchema description',
        'createWebhookRequestSchema description',
        'updateWebhookRequestSchema description',
        'setupRequestSchema name',
        'createTenantRequestSchema name',
        'createTenantRequestSchema admin.name',
        'updateTenantRequestSchema name',
        'createUserRequestSchema name',
        'updateUserRequestSchema name',
        'createTokenRequestSchema name',
      ]),
    );
  });

  describe.each(fields)('%s', (_label, leaf) => {
    it.each(HOSTILE)('refuses %s, naming the character', (_what, text) => {
      const result = leaf.safeParse(text);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/must not contain U\+[0-9A-F]{4}/);
    });

    it('accepts ordinary text in any script, emoji with joiners, and trims', () => {
      for (const text of [
        'Acme prod',
        'Ünïcødé – “quotes”',
        '東京 本番',
        'שלום',
        '👩‍💻 team',
        'می‌خواهم',
      ]) {
        expect(leaf.safeParse(text)).toMatchObject({ success: true, data: text });
      }
      expect(leaf.safeParse('  padded  ')).toMatchObject({ success: true, data: 'padded' });
    });
  });

  it('lets descriptions of accounts span lines, and nothing else', () => {
    expect(
      contracts.updateAccountRequestSchema.safeParse({ description: 'line one\nline two\r\n\tend' })
        .success,
    ).toBe(true);
    expect(contracts.updateAccountRequestSchema.safeParse({ name: 'one\ntwo' }).success).toBe(
      false,
    );
    expect(contracts.updateWebhookRequestSchema.safeParse({ description: 'a\nb' }).success).toBe(
      false,
    );
  });
});
