/**
 * The wait of `onramp connect`: until the stack made from the template calls Onramp back (the
 * connection turns `connected`, as the console's wizard learns it by polling the connection), or the
 * person pastes the role's ARN, or presses Ctrl-C. Both sources are watched at once: a stack that
 * calls back while the person is still typing wins, and a pasted ARN does not wait for the next poll.
 */
import type { Connection } from '@onramp/sdk';
import { ApiProblem } from '@onramp/sdk';

export type WaitOutcome =
  | { kind: 'connected'; connection: Connection }
  | { kind: 'pasted'; roleArn: string }
  | { kind: 'expired'; connection: Connection }
  | { kind: 'interrupted' };

export interface WaitSettings {
  /** Reads the connection again (GET /v1/connections/:id). */
  poll(): Promise<Connection>;
  /** Lines typed or piped in; the first that is a role ARN ends the wait. */
  lines?: AsyncIterator<string> | undefined;
  /** The partition whose ARNs are accepted (`arn:aws-us-gov:iam::…`). */
  partition: string;
  intervalMs: number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** Ctrl-C: the wait ends as `interrupted`. */
  signal: AbortSignal;
  /** A line that is not a role ARN of the partition: said to the person, and the wait goes on. */
  onRejectedLine?(line: string, reason: string): void;
  /** A poll that failed for a moment (network, 5xx, 429): the wait goes on. */
  onPollTrouble?(problem: ApiProblem): void;
}

/** A role ARN of the partition: `arn:<partition>:iam::<12 digits>:role/<path/name>`. */
export function checkRoleArn(text: string, partition: string): string | undefined {
  const prefix = `arn:${partition}:iam::`;
  if (!text.startsWith('arn:')) return 'that is not an ARN; paste the role ARN (arn:…:role/…).';
  if (!text.startsWith(prefix)) {
    return `the ARN is not of partition ${partition}; it should start with ${prefix}.`;
  }
  if (!/^arn:[\w-]+:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(text)) {
    return `that is not a role ARN; it looks like ${prefix}123456789012:role/OnrampRole.`;
  }
  return undefined;
}

/** Polls and reads lines until one of them ends the wait. */
export async function waitForRole(settings: WaitSettings): Promise<WaitOutcome> {
  const { signal } = settings;
  let pendingLine: Promise<IteratorResult<string>> | undefined;
  let linesEnded = settings.lines === undefined;
  const nextLine = () => {
    if (linesEnded || !settings.lines) return undefined;
    pendingLine ??= settings.lines.next();
    return pendingLine;
  };
  while (!signal.aborted) {
    const connection = await pollOnce(settings);
    if (connection?.status === 'connected') return { kind: 'connected', connection };
    if (connection?.expired) return { kind: 'expired', connection };
    // Until the next poll: a line, or the interval, or Ctrl-C, whichever comes first.
    const pause = new AbortController();
    const stopPause = () => pause.abort();
    signal.addEventListener('abort', stopPause, { once: true });
    const line = nextLine();
    const timer = settings.sleep(settings.intervalMs, pause.signal).then(() => 'tick' as const);
    const first = await (line ? Promise.race([line, timer]) : timer);
    pause.abort();
    signal.removeEventListener('abort', stopPause);
    if (first === 'tick') continue;
    pendingLine = undefined;
    if (first.done) {
      linesEnded = true;
      continue;
    }
    const text = first.value.trim();
    if (text === '') continue;
    const reason = checkRoleArn(text, settings.partition);
    if (reason) {
      settings.onRejectedLine?.(text, reason);
      continue;
    }
    return { kind: 'pasted', roleArn: text };
  }
  return { kind: 'interrupted' };
}

/** One read of the connection; undefined when it failed for a reason worth waiting out. */
async function pollOnce(settings: WaitSettings): Promise<Connection | undefined> {
  try {
    return await settings.poll();
  } catch (error) {
    if (error instanceof ApiProblem && isPassing(error.status)) {
      settings.onPollTrouble?.(error);
      return undefined;
    }
    throw error;
  }
}

/** A network failure, throttling or a server restart passes; a refused token or a deleted connection does not. */
function isPassing(status: number): boolean {
  return status === 0 || status === 429 || status >= 500;
}

/** The lines of a stream of text chunks (standard input), without their line endings. */
export async function* readLines(
  chunks: AsyncIterable<string | Uint8Array>,
): AsyncGenerator<string, void, undefined> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of chunks) {
    buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      yield buffered.slice(0, end).replace(/\r$/, '');
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\n');
    }
  }
  buffered += decoder.decode();
  if (buffered !== '') yield buffered;
}

/** Standard input as events: what Node's process.stdin and a test's Readable both offer. */
export interface LineInput extends AsyncIterable<string | Uint8Array> {
  /** Streams also emit `end`, which the lines listen for under the same signature. */
  on?(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
  off?(event: 'data', listener: (chunk: string | Uint8Array) => void): unknown;
  pause?(): unknown;
}

/**
 * The lines typed or piped in, and a way to stop reading them. Read with events rather than an
 * async iterator: a pending iterator read cannot be cancelled, and would keep the process alive
 * after Ctrl-C until the person pressed Enter; stopping the events and pausing the stream ends it.
 */
export function openLines(input: LineInput): { lines: AsyncIterator<string>; close(): void } {
  if (!input.on || !input.off) {
    const lines = readLines(input);
    return { lines, close: () => void lines.return(undefined).catch(() => undefined) };
  }
  const on = input.on.bind(input) as (
    event: string,
    listener: (...args: never[]) => void,
  ) => unknown;
  const off = input.off.bind(input) as (
    event: string,
    listener: (...args: never[]) => void,
  ) => unknown;
  const decoder = new TextDecoder();
  const ready: string[] = [];
  const waiting: ((result: IteratorResult<string>) => void)[] = [];
  let buffered = '';
  let ended = false;
  const deliver = () => {
    while (waiting.length > 0 && (ready.length > 0 || ended)) {
      const resolve = waiting.shift();
      const line = ready.shift();
      resolve?.(
        line === undefined ? { done: true, value: undefined } : { done: false, value: line },
      );
    }
  };
  const onData = (chunk: string | Uint8Array) => {
    buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let end = buffered.indexOf('\n');
    while (end >= 0) {
      ready.push(buffered.slice(0, end).replace(/\r$/, ''));
      buffered = buffered.slice(end + 1);
      end = buffered.indexOf('\n');
    }
    deliver();
  };
  const onEnd = () => {
    if (buffered !== '') ready.push(buffered);
    buffered = '';
    ended = true;
    deliver();
  };
  on('data', onData);
  on('end', onEnd);
  return {
    lines: {
      next: () =>
        new Promise<IteratorResult<string>>((resolve) => {
          waiting.push(resolve);
          deliver();
        }),
    },
    close: () => {
      off('data', onData);
      off('end', onEnd);
      input.pause?.();
      ended = true;
      deliver();
    },
  };
}

/** setTimeout as a promise that an abort ends early. */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
