import type { CliIo } from '../cli-io.ts';
import { EXIT_USAGE, UserError } from '../errors.ts';

/**
 * Reading what a person types or pipes in: a secret (hidden on a terminal), a line, or a yes/no
 * answer. Secrets are read here and never taken as flags: a command line is visible in `ps` to every
 * user of the machine and lands in shell history.
 */

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const BACKSPACES = new Set(['\u007f', '\b']);

/** All of standard input as text (a piped token, a secret key file), for a non-terminal stdin. */
export async function readAllStdin(io: CliIo): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of io.stdin)
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/**
 * A secret: on a terminal, asked with `prompt` on stderr and typed without echo; otherwise the
 * first line piped in. `what` names it (and the flag that asks for stdin) in the error when empty.
 */
export async function readSecret(io: CliIo, prompt: string, what: string): Promise<string> {
  const text =
    io.stdin.isTTY && io.stdin.setRawMode
      ? await readHidden(io, prompt)
      : (await readAllStdin(io)).split(/\r?\n/, 1)[0];
  const secret = (text ?? '').trim();
  if (!secret) throw new UserError([`${what}: nothing was read from standard input.`], EXIT_USAGE);
  return secret;
}

/** Reads one line in raw mode, echoing nothing; Ctrl-C aborts. */
async function readHidden(io: CliIo, prompt: string): Promise<string> {
  io.stderr.write(prompt);
  const stdin = io.stdin;
  stdin.setRawMode?.(true);
  stdin.setEncoding?.('utf8');
  stdin.resume?.();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: string | Uint8Array) => {
        const text = typeof chunk === 'string' ? chunk : new TextDecoder().decode(chunk);
        for (const character of text) {
          if (character === '\r' || character === '\n' || character === CTRL_D) {
            stdin.off?.('data', onData);
            resolve(typed);
            return;
          }
          if (character === CTRL_C) {
            stdin.off?.('data', onData);
            reject(new UserError(['cancelled.'], EXIT_USAGE));
            return;
          }
          if (BACKSPACES.has(character)) typed = [...typed].slice(0, -1).join('');
          else typed += character;
        }
      };
      stdin.on?.('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause?.();
    io.stderr.write('\n');
  }
}

/** Asks a yes/no question on a terminal (stderr); true only for an answer starting with y. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  io.stderr.write(`${question} [y/N] `);
  const line = await readLine(io);
  return /^\s*y(es)?\s*$/i.test(line ?? '');
}

/**
 * The guard before a change that cannot be undone: nothing with `--yes`; off a terminal a refusal that
 * asks for `--yes` (a script never waits on a question); on one, the question (`ask`, which may read
 * the record to name it) and a stop unless the answer is yes.
 */
export async function confirmUnlessYes(
  io: CliIo,
  guard: { yes?: boolean | undefined; doing: string; refused: string; ask: () => Promise<string> },
): Promise<void> {
  if (guard.yes) return;
  if (!io.stdin.isTTY || !io.stderr.isTTY)
    throw new UserError(
      [`--yes: ${guard.doing} cannot be undone; confirm with --yes when not on a terminal.`],
      EXIT_USAGE,
    );
  if (!(await confirm(io, await guard.ask()))) throw new UserError([guard.refused], EXIT_USAGE);
}

/** The next line typed or piped in, or undefined at the end of input. */
export async function readLine(io: CliIo): Promise<string | undefined> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of io.stdin) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const end = text.indexOf('\n');
    if (end >= 0) return text.slice(0, end).replace(/\r$/, '');
  }
  return text === '' ? undefined : text;
}
