import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliIo, CliStdin } from '../cli-io.ts';
import { confirm, readSecret } from './prompt.ts';

/** A terminal's stdin: raw mode switched by the command, keys delivered as typed. */
function fakeTerminal(keys: string[]) {
  const events = new EventEmitter();
  const modes: boolean[] = [];
  const stdin = {
    isTTY: true,
    setRawMode: (mode: boolean) => modes.push(mode),
    setEncoding: () => undefined,
    resume: () => {
      // Each key arrives on its own, after the listener is attached, as a person types.
      for (const [i, key] of keys.entries()) setTimeout(() => events.emit('data', key), i);
    },
    pause: () => undefined,
    on: (event: 'data', listener: (chunk: string | Uint8Array) => void) =>
      events.on(event, listener),
    off: (event: 'data', listener: (chunk: string | Uint8Array) => void) =>
      events.off(event, listener),
    [Symbol.asyncIterator]: () => Readable.from([])[Symbol.asyncIterator](),
  } satisfies CliStdin;
  return { stdin, modes };
}

function ioWith(stdin: CliStdin) {
  let stderr = '';
  const io = { stdin, stderr: { write: (t: string) => (stderr += t) } } as unknown as CliIo;
  return { io, stderr: () => stderr };
}

describe('reading a secret', () => {
  it('on a terminal: prompts, echoes nothing, handles backspace, and leaves raw mode', async () => {
    const { stdin, modes } = fakeTerminal(['onr_ab', 'x', '\u007f', 'c', '\r']);
    const { io, stderr } = ioWith(stdin);
    expect(await readSecret(io, 'Token: ', '--token-stdin')).toBe('onr_abc');
    expect(stderr()).toBe('Token: \n');
    expect(modes).toEqual([true, false]);
  });

  it('on a terminal: Ctrl-C cancels', async () => {
    const { stdin, modes } = fakeTerminal(['onr', '\u0003']);
    await expect(readSecret(ioWith(stdin).io, 'Token: ', 'x')).rejects.toThrow('cancelled');
    expect(modes).toEqual([true, false]);
  });

  it('from a pipe: the first line, and an error naming the flag when empty', async () => {
    const piped = ioWith(Readable.from(['onr_piped\nsecond line\n']));
    expect(await readSecret(piped.io, 'Token: ', '--token-stdin')).toBe('onr_piped');
    expect(piped.stderr()).toBe('');
    await expect(readSecret(ioWith(Readable.from([])).io, 'T', '--token-stdin')).rejects.toThrow(
      '--token-stdin: nothing was read from standard input.',
    );
  });
});

describe('confirming', () => {
  it('is yes only for y or yes', async () => {
    for (const [answer, expected] of [
      ['y\n', true],
      ['YES\n', true],
      ['\n', false],
      ['no\n', false],
      ['', false],
    ] as const) {
      expect(await confirm(ioWith(Readable.from([answer])).io, 'Sure?')).toBe(expected);
    }
  });
});
