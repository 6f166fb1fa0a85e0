/**
 * Everything the commands need from the outside world. main.ts wires the real process streams, the
 * file system and node:crypto; tests pass in-memory fakes, so no command touches `process` itself.
 */
export interface CliIo {
  /** The command's result: JSON, a template, a table. Nothing else, so it can be piped or redirected. */
  stdout: TextSink;
  /** Errors, notes and hints for the person at the terminal. */
  stderr: TextSink;
  /** Reads a whole UTF-8 text file (a path relative to the working directory, or a file URL). */
  readFile(path: string | URL): Promise<string>;
  /** Cryptographically secure random bytes, for external IDs. */
  randomBytes(size: number): Uint8Array;
  /** The environment, for commands that reach a running Onramp (ONRAMP_URL, ONRAMP_TOKEN). */
  env?: Readonly<Record<string, string | undefined>>;
}

export interface TextSink {
  write(text: string): unknown;
}

/** Writes a note for the person at the terminal to stderr, so stdout stays the pure result. */
export function writeNote(io: CliIo, text: string): void {
  io.stderr.write(`note: ${text}\n`);
}

/** Writes text to stdout, ending with exactly one newline. */
export function writeResult(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
