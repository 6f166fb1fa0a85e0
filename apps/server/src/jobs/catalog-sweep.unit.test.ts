import { describe, expect, it } from 'vitest';
import type { OutdatedSweepSummary } from '../features/accounts/outdated-sweep.ts';
import { createCatalogSweep } from './catalog-sweep.ts';

const SUMMARY: OutdatedSweepSummary = {
  compared: 3,
  outdated: 1,
  cleared: 0,
  baselined: 2,
  skipped: 0,
  ms: 5,
};

function recordingLog() {
  const lines: { level: string; details: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (details: Record<string, unknown>, message: string) =>
    lines.push({ level, details, message });
  return { lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

describe('the start-up catalog sweep', () => {
  it('logs one line with what it did, and runs once', async () => {
    let runs = 0;
    const { lines, log } = recordingLog();
    const sweep = createCatalogSweep(
      {
        outdatedSweep: {
          run: async () => {
            runs += 1;
            return SUMMARY;
          },
        },
      },
      { log },
    );
    await sweep.start();
    await sweep.start();
    expect(runs).toBe(1);
    expect(lines).toEqual([
      { level: 'info', details: SUMMARY, message: 'accounts compared with the catalog' },
    ]);
  });

  it('tries again after a failure (the database away at start-up)', async () => {
    let runs = 0;
    const { lines, log } = recordingLog();
    const sweep = createCatalogSweep(
      {
        outdatedSweep: {
          run: async () => {
            runs += 1;
            if (runs === 1) throw new Error('connection refused');
            return SUMMARY;
          },
        },
      },
      { log, retryMs: 1 },
    );
    await sweep.start();
    expect(runs).toBe(2);
    expect(lines.map((l) => l.level)).toEqual(['error', 'info']);
  });

  it('stops between attempts without waiting out the retry', async () => {
    const { lines, log } = recordingLog();
    const sweep = createCatalogSweep(
      {
        outdatedSweep: {
          run: async () => {
            throw new Error('connection refused');
          },
        },
      },
      { log, retryMs: 60_000 },
    );
    const running = sweep.start();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const started = Date.now();
    await sweep.stop();
    await running;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(lines.map((l) => l.level)).toEqual(['error']);
  });
});
