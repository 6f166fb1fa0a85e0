import { describe, expect, it } from 'vitest';
import { createMetricsRegistry } from './metrics-registry.ts';

describe('the metrics registry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', async () => {
    const registry = createMetricsRegistry();
    const calls = registry.counter({
      name: 'demo_calls_total',
      help: 'Calls.\nSecond line \\ backslash.',
      labelNames: ['operation', 'outcome'],
    });
    calls.inc({ operation: 'assumeRole', outcome: 'success' });
    calls.inc({ operation: 'assumeRole', outcome: 'success' }, 2);
    calls.inc({ operation: 'say "hi"\n', outcome: 'error' });
    const depth = registry.gauge({ name: 'demo_depth', help: 'Depth.' });
    depth.set({}, 5);
    depth.dec({});
    const latency = registry.histogram({
      name: 'demo_seconds',
      help: 'Latency.',
      labelNames: ['operation'],
      buckets: [0.1, 1],
    });
    latency.observe({ operation: 'x' }, 0.05);
    latency.observe({ operation: 'x' }, 0.5);
    latency.observe({ operation: 'x' }, 3);

    expect(await registry.render()).toBe(
      [
        '# HELP demo_calls_total Calls.\\nSecond line \\\\ backslash.',
        '# TYPE demo_calls_total counter',
        'demo_calls_total{operation="assumeRole",outcome="success"} 3',
        'demo_calls_total{operation="say \\"hi\\"\\n",outcome="error"} 1',
        '# HELP demo_depth Depth.',
        '# TYPE demo_depth gauge',
        'demo_depth 4',
        '# HELP demo_seconds Latency.',
        '# TYPE demo_seconds histogram',
        'demo_seconds_bucket{operation="x",le="0.1"} 1',
        'demo_seconds_bucket{operation="x",le="1"} 2',
        'demo_seconds_bucket{operation="x",le="+Inf"} 3',
        'demo_seconds_sum{operation="x"} 3.55',
        'demo_seconds_count{operation="x"} 3',
        '',
      ].join('\n'),
    );
    expect(calls.get({ operation: 'assumeRole', outcome: 'success' })).toBe(3);
    expect(latency.get({ operation: 'x' })).toEqual({ count: 3, sum: 3.55 });
  });

  it('gives every feature asking for a name the same instrument, and refuses a clash', () => {
    const registry = createMetricsRegistry();
    const one = registry.counter({ name: 'shared_total', help: 'h', labelNames: ['a'] });
    const two = registry.counter({ name: 'shared_total', help: 'h', labelNames: ['a'] });
    expect(two).toBe(one);
    expect(() => registry.gauge({ name: 'shared_total', help: 'h', labelNames: ['a'] })).toThrow(
      /already registered as a counter/,
    );
    expect(() => registry.counter({ name: 'shared_total', help: 'h', labelNames: ['b'] })).toThrow(
      /already registered/,
    );
    expect(() => registry.counter({ name: 'bad-name', help: 'h' })).toThrow(/invalid metric name/);
    expect(() => one.inc({ a: 'x' }, -1)).toThrow(/only goes up/);
    expect(() => one.inc({ b: 'x' } as never)).toThrow(/no label b/);
  });

  it('collects gauges at scrape time, and survives a failing collector', async () => {
    const registry = createMetricsRegistry();
    let queued = 7;
    registry.gauge({
      name: 'demo_queue',
      help: 'Queued jobs.',
      collect: (gauge) => gauge.set({}, queued),
    });
    registry.gauge({
      name: 'demo_broken',
      help: 'Broken.',
      collect: () => {
        throw new Error('database down');
      },
    });
    expect(await registry.render()).toContain('demo_queue 7');
    queued = 9;
    const text = await registry.render();
    expect(text).toContain('demo_queue 9');
    expect(text).toContain('# TYPE demo_broken gauge');
  });
});
