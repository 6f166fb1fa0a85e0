/**
 * Everything the commands need from the outside world. main.ts wires the real process streams, the
 * file system and node:crypto; tests pass in-memory fakes, so no command touches `process` itself.
 */
export interface CliIo {
  /** The command's result: JSON, a template, a table. Nothing else, so it can be piped or redirected. */
  stdout: TerminalSink;
  /** Errors, notes, prompts and progress for the person at the terminal. */
  stderr: TerminalSink;
  /**
   * What is piped or typed in: a token for `onramp login --token-stdin`, a secret access key, a pasted
   * role ARN. Never the place of a command's options.
   */
  stdin: CliStdin;
  /** Reads a whole UTF-8 text file (a path relative to the working directory, or a file URL). */
  readFile(path: string | URL): Promise<string>;
  /**
   * Writes a whole UTF-8 text file, replacing it; `mode` (e.g. 0o600) applies when the file is
   * created. For templates and other results a person asked to have in a file.
   */
  writeFile(path: string, text: string, mode?: number): Promise<void>;
  /** Cryptographically secure random bytes, for external IDs. */
  randomBytes(size: number): Uint8Array;
  /** The environment: ONRAMP_URL, ONRAMP_TOKEN, ONRAMP_PROFILE, ONRAMP_CONFIG_DIR, NO_COLOR… */
  env: Readonly<Record<string, string | undefined>>;
  /** The user's home directory, where the config file lives unless the environment says otherwise. */
  homeDir: string;
  /** The current time (for "3 minutes ago" and elapsed times). */
  now(): Date;
}

export interface TextSink {
  write(text: string): unknown;
}

/** A stream a person may be looking at: `isTTY` and `columns` as Node's process.stdout has them. */
export interface TerminalSink extends TextSink {
  /** True when it is a terminal (so tables may be cut to its width and prompts are seen). */
  isTTY?: boolean;
  /** The terminal's width in characters, when it is one. */
  columns?: number;
}

/** Standard input as Node's process.stdin offers it (a terminal can be put in raw mode). */
export interface CliStdin extends AsyncIterable<string | Uint8Array> {
  isTTY?: boolean;
  /** Present on a terminal: raw mode reads each key as it is typed, without echoing it. */
  setRawMode?(mode: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
  on?(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
  off?(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
  pause?(): unknown;
  resume?(): unknown;
}

/** Writes a note for the person at the terminal to stderr, so stdout stays the pure result. */
export function writeNote(io: CliIo, text: string): void {
  io.stderr.write(`note: ${text}\n`);
}

/** Writes text to stdout, ending with exactly one newline. */
export function writeResult(io: CliIo, text: string): void {
  io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
