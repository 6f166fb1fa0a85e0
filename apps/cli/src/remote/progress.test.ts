import { describe, expect, it } from 'vitest';
import { createProgressBar, createSpinner, formatDuration } from './progress.ts';

/** A sink that keeps what was written, and a clock the test moves. */
function fixture(isTTY: boolean) {
  let written = '';
  let now = 0;
  return {
    sink: { write: (text: string) => (written += text) },
    isTTY,
    columns: 80,
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    written: () => written,
  };
}

describe('the progress bar', () => {
  it('redraws one line in place on a terminal: bar, count, percent, rate, ETA and outcomes', () => {
    const f = fixture(true);
    const bar = createProgressBar({ ...f, total: 100 });
    f.advance(2000);
    bar.update({ connected: 18, skipped: 1, failed: 1 });
    f.advance(50);
    // Within 100 ms of the last redraw: not drawn again.
    bar.update({ connected: 19, skipped: 1, failed: 1 });
    f.advance(1950);
    bar.finish({ connected: 38, skipped: 1, failed: 1 });
    const frames = f.written().split('\r\x1b[2K').filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatch(/^\[█+░+\] 20\/100 20% 10\.0\/s ETA 0:08 {2}✓18 ↷1 ✗1$/);
    // The bar is a fifth full, and the whole line fits the 80 columns.
    const cells = /^\[(█+)(░+)\]/.exec(frames[0] ?? '');
    expect(
      Math.round(
        ((cells?.[1]?.length ?? 0) / ((cells?.[1]?.length ?? 0) + (cells?.[2]?.length ?? 1))) * 10,
      ),
    ).toBe(2);
    expect([...(frames[0] ?? '')].length).toBeLessThanOrEqual(80);
    expect(frames[1]).toMatch(/\] 40\/100 40% 10\.0\/s ETA 0:06 {2}✓38 ↷1 ✗1\n$/);
    expect(f.written()).not.toContain('\n\r');
  });

  it('fits the bar into a narrow terminal', () => {
    const f = fixture(true);
    const bar = createProgressBar({ ...f, columns: 70, total: 1000 });
    f.advance(1000);
    bar.finish({ connected: 500, skipped: 0, failed: 0 });
    const line = f.written().replace('\r\x1b[2K', '').trimEnd();
    expect([...line].length).toBeLessThanOrEqual(70);
    expect(line).toMatch(/^\[█+░+\] 500\/1000 50%/);
    // Narrower still: the figures alone, never a line that wraps.
    const narrow = fixture(true);
    const small = createProgressBar({ ...narrow, columns: 40, total: 1000 });
    narrow.advance(1000);
    small.finish({ connected: 500, skipped: 0, failed: 0 });
    expect(narrow.written()).toBe('\r\x1b[2K500/1000 50% 500.0/s ETA 0:01  ✓500 ↷0 ✗0\n');
  });

  it('writes plain lines on a pipe: about one per 5 %, the first and the last, no escape codes', () => {
    const f = fixture(false);
    const bar = createProgressBar({ ...f, total: 40 });
    bar.update({ connected: 0, skipped: 0, failed: 0 });
    for (let done = 1; done <= 40; done++) {
      f.advance(100);
      bar.update({ connected: done, skipped: 0, failed: 0 });
    }
    bar.finish({ connected: 40, skipped: 0, failed: 0 });
    const lines = f.written().trimEnd().split('\n');
    expect(lines).toHaveLength(21);
    expect(lines[0]).toBe('0/40 (0%) 0.0/s ETA -: connected 0, skipped 0, failed 0');
    expect(lines[1]).toBe('2/40 (5%) 10.0/s ETA 0:04: connected 2, skipped 0, failed 0');
    expect(lines.at(-1)).toBe('40/40 (100%) 10.0/s ETA -: connected 40, skipped 0, failed 0');
    expect(f.written()).not.toContain('\r');
    expect(f.written()).not.toContain('\u001b');
  });

  it('ends with the final line on a pipe even when it falls between steps', () => {
    const f = fixture(false);
    const bar = createProgressBar({ ...f, total: 1000 });
    f.advance(1000);
    bar.update({ connected: 3, skipped: 0, failed: 0 });
    bar.finish({ connected: 7, skipped: 0, failed: 0 });
    expect(f.written().trimEnd().split('\n').at(-1)).toMatch(/^7\/1000 \(0%\)/);
  });
});

describe('the spinner', () => {
  it('shows a frame, the text and the elapsed time on a terminal, and clears its line when stopped', () => {
    const f = fixture(true);
    const spinner = createSpinner({ ...f, text: 'Waiting…' });
    f.advance(61_000);
    spinner.tick();
    spinner.stop();
    expect(f.written()).toBe('\r\x1b[2K⠋ Waiting… 1:01\r\x1b[2K');
  });

  it('writes a plain line at once and every 30 seconds on a pipe', () => {
    const f = fixture(false);
    const spinner = createSpinner({ ...f, text: 'Waiting' });
    for (let s = 0; s < 65; s++) {
      f.advance(1000);
      spinner.tick();
    }
    spinner.stop();
    expect(f.written()).toBe(
      'Waiting (0:01 elapsed)\nWaiting (0:30 elapsed)\nWaiting (1:00 elapsed)\n',
    );
  });
});

describe('formatDuration', () => {
  it('writes m:ss below an hour and h:mm:ss above', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7_400)).toBe('0:07');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});
