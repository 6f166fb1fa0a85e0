import type { AuditPage } from '@onramp/sdk';
import type { Command } from 'commander';
import type { CliIo } from '../cli-io.ts';
import { parseWholeNumber } from './flags.ts';
import type { Output } from './output.ts';
import { addRemoteOptions, openRemote, type RemoteOptions } from './remote.ts';

type Entry = AuditPage['entries'][number];

interface AuditFlags extends RemoteOptions {
  target?: string;
  limit?: string;
  cursor?: string;
  follow?: boolean;
  interval?: string;
}

const AUDIT_FLAGS: Readonly<Record<string, string>> = {
  targetId: '--target',
  limit: '--limit',
  cursor: '--cursor',
  before: '--cursor',
};

/** `onramp audit`: the audit log, newest first, or followed as it grows. */
export function addAuditCommand(program: Command, io: CliIo): Command {
  return addRemoteOptions(
    program
      .command('audit')
      .summary('the audit log, newest first (--follow prints new entries as they come)')
      .option('--target <id>', 'only the entries about this record (acct_…, con_…, tok_…)')
      .option('--limit <n>', 'entries per page (1 to 200; default 50)')
      .option('--cursor <cursor>', 'the page after this one (the previous page’s next)')
      .option('--follow', 'keep printing new entries, oldest first, until interrupted')
      .option('--interval <seconds>', 'with --follow: seconds between polls (default 2)')
      .addHelpText(
        'after',
        '\nWith --follow and --json, each entry is one JSON document per line (JSON Lines).',
      ),
  ).action(async (flags: AuditFlags) => runAudit(io, flags));
}

async function runAudit(io: CliIo, flags: AuditFlags): Promise<void> {
  const query = {
    ...(flags.target ? { targetId: flags.target } : {}),
    ...(flags.limit ? { limit: parseWholeNumber(flags.limit, '--limit', 1, 200) } : {}),
    ...(flags.cursor ? { cursor: flags.cursor } : {}),
  };
  const intervalMs = parseWholeNumber(flags.interval ?? '2', '--interval', 1, 3600) * 1000;
  const remote = await openRemote(flags, io);
  const page = await remote.call((client) => client.audit(query), AUDIT_FLAGS);
  if (!flags.follow) {
    if (remote.json) return remote.output.document(page);
    printEntries(remote.output, page.entries);
    if (page.next) remote.output.note(`Older entries follow: --cursor ${page.next}.`);
    return;
  }
  // Following: what is there now, oldest first, then each poll's new entries (ids seen are skipped;
  // the newest page is enough while fewer than `limit` entries arrive between two polls).
  const seen = new Set<string>();
  const show = (entries: readonly Entry[]) => {
    const fresh = entries.filter((entry) => !seen.has(entry.id)).reverse();
    for (const entry of fresh) seen.add(entry.id);
    for (const entry of fresh) {
      if (remote.json) io.stdout.write(`${JSON.stringify(entry)}\n`);
      else printEntryLine(remote.output, entry);
    }
  };
  show(page.entries);
  const { cursor: _cursor, ...latest } = query;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    show(
      (await remote.call((client) => client.audit({ ...latest, limit: 200 }), AUDIT_FLAGS)).entries,
    );
  }
}

const actorOf = (entry: Entry) =>
  entry.actorId ? `${entry.actorType} ${entry.actorId}` : entry.actorType;

function printEntries(output: Output, entries: readonly Entry[]): void {
  output.table(
    [
      { header: 'AT', value: (e: Entry) => e.at, fixed: true },
      { header: 'ACTOR', value: actorOf },
      { header: 'ACTION', value: (e: Entry) => e.action },
      { header: 'TARGET', value: (e: Entry) => `${e.targetType} ${e.targetId}`, flexible: true },
      { header: 'SOURCE', value: (e: Entry) => e.sourceIp },
    ],
    entries,
  );
}

/** A followed log: one line per entry as it comes (a table's columns could not stay aligned). */
function printEntryLine(output: Output, entry: Entry): void {
  output.line(
    [
      entry.at,
      actorOf(entry),
      entry.action,
      `${entry.targetType} ${entry.targetId}`,
      entry.sourceIp,
    ].join('  '),
  );
}
