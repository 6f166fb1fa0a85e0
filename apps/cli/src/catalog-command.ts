import { type CatalogDescription, describeCatalog } from '@onramp/core';
import type { Command } from 'commander';
import { readCatalog } from './catalog-source.ts';
import { type CliIo, writeNote, writeResult } from './cli-io.ts';
import { addCatalogOption, type CatalogFlags } from './options.ts';

export interface CatalogCommandFlags extends CatalogFlags {
  json?: boolean;
}

export function addCatalogCommand(program: Command, io: CliIo): void {
  const command = program
    .command('catalog')
    .summary('list the products and bundles a tenant can grant, per partition')
    .description(
      'List the permission catalog: each product, its bundles (the ids --bundles takes), whether a bundle ' +
        'is granted by default, the partitions it is available in and how many actions it grants; then, ' +
        'per partition, the default bundles and whether tenants there may choose others.',
    )
    .option('--json', 'print the catalog as JSON, with every action of every bundle');
  addCatalogOption(command)
    .addHelpText(
      'after',
      `
Examples:
  $ onramp catalog
  $ onramp catalog --json | jq '.products[].bundles[] | {id, actions}'
  $ onramp catalog --catalog ./my-catalog.yaml     check your own catalog and see what it offers`,
    )
    .action(async (_flags, cmd: Command) => runCatalogCommand(io, cmd.opts<CatalogCommandFlags>()));
}

export async function runCatalogCommand(io: CliIo, flags: CatalogCommandFlags): Promise<void> {
  const { catalog, label } = await readCatalog(io, flags);
  const description = describeCatalog(catalog);
  if (flags.json) {
    writeResult(io, JSON.stringify(description, null, 2));
    return;
  }
  writeResult(io, formatCatalog(description, label));
  writeNote(
    io,
    'pass bundle ids to --bundles (or "default", or "all"); "onramp catalog --json" lists their actions.',
  );
}

export function formatCatalog(description: CatalogDescription, label: string): string {
  const sections = [`${description.platform}: permission catalog (${label})`];
  for (const product of description.products) {
    const rows = product.bundles.map((b) => [
      b.id,
      b.name,
      b.isDefault ? 'yes' : 'no',
      b.partitions.join(', '),
      String(b.actions.length),
    ]);
    sections.push(
      [
        `${product.name} [${product.id}]`,
        `  ${product.description}`,
        '',
        ...formatTable(['BUNDLE', 'NAME', 'DEFAULT', 'PARTITIONS', 'ACTIONS'], rows).map(
          (l) => `  ${l}`,
        ),
      ].join('\n'),
    );
  }
  const partitionRows = description.partitions.map((p) => [
    p.partition,
    p.displayName,
    p.customizable ? 'tenants choose' : 'defaults only',
    p.defaultBundles.join(', ') || '(none)',
  ]);
  sections.push(
    [
      'Partitions',
      ...formatTable(['PARTITION', 'NAME', 'BUNDLES', 'DEFAULT BUNDLES'], partitionRows).map(
        (l) => `  ${l}`,
      ),
    ].join('\n'),
  );
  return sections.join('\n\n');
}

/** Left-aligned columns two spaces apart, without trailing spaces. */
function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
