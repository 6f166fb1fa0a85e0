import { PassThrough } from 'node:stream';
import { ApiProblem, type Connection } from '@onramp/sdk';
import { describe, expect, it } from 'vitest';
import {
  checkRoleArn,
  openLines,
  readLines,
  sleepUnlessAborted,
  waitForRole,
} from './connect-wait.ts';

const PENDING = { id: 'con_1', status: 'pending', expired: false, accountId: null } as Connection;
const CONNECTED = { ...PENDING, status: 'connected', accountId: 'acct_1' } as Connection;

/** Lines that arrive when the test pushes them. */
function typed() {
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* lines() {
    for (;;) {
      while (queue.length) yield queue.shift() as string;
      if (ended) return;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  }
  return {
    lines: lines(),
    push(line: string) {
      queue.push(line);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('waitForRole', () => {
  it('ends when a poll finds the connection connected (the stack called back)', async () => {
    const answers = [PENDING, PENDING, CONNECTED];
    let polls = 0;
    const outcome = await waitForRole({
      poll: async () => answers[polls++] ?? CONNECTED,
      partition: 'aws',
      intervalMs: 1,
      sleep: sleepUnlessAborted,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ kind: 'connected', connection: CONNECTED });
    expect(polls).toBe(3);
  });

  it('ends at a pasted role ARN without waiting for the next poll, after refusing lines that are not one', async () => {
    const input = typed();
    const rejected: string[] = [];
    const waiting = waitForRole({
      poll: async () => PENDING,
      lines: input.lines,
      partition: 'aws-us-gov',
      // An hour: only the pasted line can end this wait within the test.
      intervalMs: 3_600_000,
      sleep: sleepUnlessAborted,
      signal: new AbortController().signal,
      onRejectedLine: (_line, reason) => rejected.push(reason),
    });
    await tick();
    input.push('');
    input.push('hello');
    input.push('arn:aws:iam::123456789012:role/R');
    input.push('  arn:aws-us-gov:iam::123456789012:role/path/OnrampRole  ');
    expect(await waiting).toEqual({
      kind: 'pasted',
      roleArn: 'arn:aws-us-gov:iam::123456789012:role/path/OnrampRole',
    });
    expect(rejected).toHaveLength(2);
    expect(rejected[1]).toContain('arn:aws-us-gov:iam::');
  });

  it('keeps polling after standard input ends, and through a network failure or a 503', async () => {
    const input = typed();
    input.end();
    const troubles: number[] = [];
    let polls = 0;
    const outcome = await waitForRole({
      poll: async () => {
        polls++;
        if (polls === 1) throw new ApiProblem({ status: 0, title: 'unreachable' });
        if (polls === 2) throw new ApiProblem({ status: 503, title: 'restarting' });
        return polls < 4 ? PENDING : CONNECTED;
      },
      lines: input.lines,
      partition: 'aws',
      intervalMs: 1,
      sleep: sleepUnlessAborted,
      signal: new AbortController().signal,
      onPollTrouble: (problem) => troubles.push(problem.status),
    });
    expect(outcome.kind).toBe('connected');
    expect(troubles).toEqual([0, 503]);
  });

  it('stops at once on Ctrl-C, and throws a refusal that waiting cannot fix', async () => {
    const stop = new AbortController();
    const waiting = waitForRole({
      poll: async () => PENDING,
      partition: 'aws',
      intervalMs: 3_600_000,
      sleep: sleepUnlessAborted,
      signal: stop.signal,
    });
    await tick();
    stop.abort();
    expect(await waiting).toEqual({ kind: 'interrupted' });
    await expect(
      waitForRole({
        poll: async () => {
          throw new ApiProblem({ status: 404, title: 'Not Found' });
        },
        partition: 'aws',
        intervalMs: 1,
        sleep: sleepUnlessAborted,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(ApiProblem);
  });

  it('reports an expired connection', async () => {
    const expired = { ...PENDING, expired: true } as Connection;
    const outcome = await waitForRole({
      poll: async () => expired,
      partition: 'aws',
      intervalMs: 1,
      sleep: sleepUnlessAborted,
      signal: new AbortController().signal,
    });
    expect(outcome).toEqual({ kind: 'expired', connection: expired });
  });
});

describe('checkRoleArn and readLines', () => {
  it('accepts a role ARN of the partition only', () => {
    expect(checkRoleArn('arn:aws:iam::123456789012:role/R', 'aws')).toBeUndefined();
    expect(checkRoleArn('arn:aws:iam::123456789012:user/U', 'aws')).toMatch(/not a role ARN/);
    expect(checkRoleArn('arn:aws-cn:iam::123456789012:role/R', 'aws')).toMatch(/partition aws/);
    expect(checkRoleArn('OnrampRole', 'aws')).toMatch(/not an ARN/);
  });

  it('splits chunks into lines across chunk boundaries, CRLF included', async () => {
    async function* chunks() {
      yield 'arn:aws:iam::1';
      yield new TextEncoder().encode('23:role/R\r\nsecond\nthi');
      yield 'rd';
    }
    const lines: string[] = [];
    for await (const line of readLines(chunks())) lines.push(line);
    expect(lines).toEqual(['arn:aws:iam::123:role/R', 'second', 'third']);
  });
});

describe('openLines', () => {
  it('gives the lines of a stream, and on close ends a pending read and pauses the stream', async () => {
    const stdin = new PassThrough();
    const input = openLines(stdin);
    stdin.write('first\r\nsec');
    expect(await input.lines.next()).toEqual({ done: false, value: 'first' });
    const pending = input.lines.next();
    stdin.write('ond\n');
    expect(await pending).toEqual({ done: false, value: 'second' });
    // Nobody types: closing ends the read at once (Ctrl-C must not wait for Enter).
    const waiting = input.lines.next();
    input.close();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(stdin.isPaused()).toBe(true);
    expect(stdin.listenerCount('data')).toBe(0);
  });

  it('ends with the last unterminated line when the stream ends', async () => {
    const stdin = new PassThrough();
    const input = openLines(stdin);
    stdin.end('arn:aws:iam::123456789012:role/R');
    expect(await input.lines.next()).toEqual({
      done: false,
      value: 'arn:aws:iam::123456789012:role/R',
    });
    expect((await input.lines.next()).done).toBe(true);
  });
});
