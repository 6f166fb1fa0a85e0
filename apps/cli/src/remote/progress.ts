/**
 * Progress for long commands, on stderr so stdout stays the result. On a terminal one line is redrawn
 * in place (a bar with count, rate and ETA; a spinner with the elapsed time); on a pipe or in a log,
 * where a carriage return would leave garbage, plain lines are written now and then instead.
 */

export interface ProgressTarget {
  write(text: string): unknown;
}

export interface ProgressSettings {
  sink: ProgressTarget;
  /** Whether the sink is a terminal: redraw in place, or write plain lines. */
  isTTY: boolean;
  /** The terminal's width; the bar fits in it. */
  columns?: number | undefined;
  /** Milliseconds, from any fixed origin (Date.now, performance.now, or a test's clock). */
  now(): number;
}

/** Erase the line and go back to its start: what a redraw writes first. */
const REDRAW = '\r\x1b[2K';

/** `0:07`, `12:30`, `1:02:03`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0
    ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}`
    : `${minutes}:${seconds}`;
}

export interface ImportTally {
  connected: number;
  skipped: number;
  failed: number;
}

export interface ProgressBar {
  /** Shows the tally now (a terminal redraws at most every 100 ms; a pipe gets a line every 5 %). */
  update(tally: ImportTally): void;
  /** The last state, always shown, and the terminal's line ended. */
  finish(tally: ImportTally): void;
}

/** The progress of `total` items: `[████░░░░] 120/1000 12% 35.2/s ETA 0:25 ✓118 ↷1 ✗1`. */
export function createProgressBar(settings: ProgressSettings & { total: number }): ProgressBar {
  const started = settings.now();
  const { total } = settings;
  // A pipe gets about twenty lines however long the import, and always the first and the last.
  const lineStep = Math.max(1, Math.ceil(total / 20));
  let lastDrawAt = Number.NEGATIVE_INFINITY;
  let lastLineDone = -1;
  let drawn = false;

  const describe = (tally: ImportTally) => {
    const done = tally.connected + tally.skipped + tally.failed;
    const elapsedMs = settings.now() - started;
    const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
    const percent = total > 0 ? Math.floor((done * 100) / total) : 100;
    const eta = rate > 0 && done < total ? formatDuration(((total - done) / rate) * 1000) : '-';
    return { done, rate, percent, eta, elapsedMs };
  };

  const drawTerminal = (tally: ImportTally, force: boolean) => {
    const now = settings.now();
    if (!force && now - lastDrawAt < 100) return;
    lastDrawAt = now;
    const { done, rate, percent, eta } = describe(tally);
    const text = ` ${done}/${total} ${percent}% ${rate.toFixed(1)}/s ETA ${eta}  ✓${tally.connected} ↷${tally.skipped} ✗${tally.failed}`;
    const room = (settings.columns || 80) - [...text].length - 3;
    // A terminal too narrow for a useful bar gets the figures alone: a wrapped line cannot be redrawn.
    if (room < 10) {
      settings.sink.write(`${REDRAW}${text.trimStart()}`);
    } else {
      const width = Math.min(40, room);
      const filled = total > 0 ? Math.round((done / total) * width) : width;
      settings.sink.write(`${REDRAW}[${'█'.repeat(filled)}${'░'.repeat(width - filled)}]${text}`);
    }
    drawn = true;
  };

  const writeLine = (tally: ImportTally) => {
    const { done, rate, percent, eta } = describe(tally);
    lastLineDone = done;
    settings.sink.write(
      `${done}/${total} (${percent}%) ${rate.toFixed(1)}/s ETA ${eta}: connected ${tally.connected}, skipped ${tally.skipped}, failed ${tally.failed}\n`,
    );
  };

  return {
    update(tally) {
      if (settings.isTTY) return drawTerminal(tally, false);
      const done = tally.connected + tally.skipped + tally.failed;
      if (done === lastLineDone) return;
      if (lastLineDone < 0 || Math.floor(done / lineStep) > Math.floor(lastLineDone / lineStep)) {
        writeLine(tally);
      }
    },
    finish(tally) {
      if (settings.isTTY) {
        drawTerminal(tally, true);
        if (drawn) settings.sink.write('\n');
        return;
      }
      const done = tally.connected + tally.skipped + tally.failed;
      if (done !== lastLineDone) writeLine(tally);
    },
  };
}

export interface Spinner {
  /** Redraws on a terminal; on a pipe writes a line when `lineEveryMs` has passed since the last. */
  tick(): void;
  /** Clears the spinner's line on a terminal, so what follows starts on a clean line. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** `⠹ Waiting for the stack to call back… 1:23`, or on a pipe `… (1:30 elapsed)` every 30 s. */
export function createSpinner(
  settings: ProgressSettings & { text: string; lineEveryMs?: number },
): Spinner {
  const started = settings.now();
  const lineEveryMs = settings.lineEveryMs ?? 30_000;
  // On a pipe the first tick writes a line at once, so a log shows the wait has begun.
  let linesWritten = -1;
  let drawn = false;
  return {
    tick() {
      const elapsed = settings.now() - started;
      if (settings.isTTY) {
        const frame = FRAMES[Math.floor(elapsed / 100) % FRAMES.length];
        settings.sink.write(`${REDRAW}${frame} ${settings.text} ${formatDuration(elapsed)}`);
        drawn = true;
        return;
      }
      const due = Math.floor(elapsed / lineEveryMs);
      if (due > linesWritten) {
        linesWritten = due;
        settings.sink.write(`${settings.text} (${formatDuration(elapsed)} elapsed)\n`);
      }
    },
    stop() {
      if (settings.isTTY && drawn) settings.sink.write(REDRAW);
      drawn = false;
    },
  };
}
