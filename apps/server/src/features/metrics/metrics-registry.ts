/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (0.0.4). Written here rather than taken from prom-client to keep the server's
 * dependencies as they are; it covers what `/metrics` needs and nothing more.
 *
 * Instruments are got-or-created by name, so every feature (and the health and webhook jobs) asks the
 * one registry for what it records, and two features naming the same metric share it. Asking for an
 * existing name with another type or other labels is a programming error and throws.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Seconds: from a cache hit (sub-millisecond) to an AWS call that took its whole timeout. */
export const DEFAULT_SECONDS_BUCKETS = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

type Labels<L extends string> = Readonly<Record<L, string>>;

export interface MetricSpec<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
}

export interface Counter<L extends string = never> {
  inc(labels: Labels<L>, value?: number): void;
  /** The current value, for tests. */
  get(labels: Labels<L>): number;
}

export interface Gauge<L extends string = never> {
  set(labels: Labels<L>, value: number): void;
  inc(labels: Labels<L>, value?: number): void;
  dec(labels: Labels<L>, value?: number): void;
  get(labels: Labels<L>): number;
}

export interface Histogram<L extends string = never> {
  observe(labels: Labels<L>, value: number): void;
  /** Count and sum of the observations, for tests. */
  get(labels: Labels<L>): { count: number; sum: number };
}

export interface MetricsRegistry {
  counter<L extends string = never>(spec: MetricSpec<L>): Counter<L>;
  gauge<L extends string = never>(
    spec: MetricSpec<L> & {
      /** Called at each scrape to set the gauge's values (queue depths, pool sizes…). */
      collect?: (gauge: Gauge<L>) => void | Promise<void>;
    },
  ): Gauge<L>;
  histogram<L extends string = never>(
    spec: MetricSpec<L> & { buckets?: readonly number[] },
  ): Histogram<L>;
  /** Every metric in the Prometheus text format. */
  render(): Promise<string>;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Metric {
  type: 'counter' | 'gauge' | 'histogram';
  name: string;
  help: string;
  labelNames: readonly string[];
  instrument: unknown;
  collect?: () => void | Promise<void>;
  lines(): string[];
}

export function createMetricsRegistry(): MetricsRegistry {
  const metrics = new Map<string, Metric>();

  function register<T>(
    type: Metric['type'],
    spec: MetricSpec<string>,
    make: (labelNames: readonly string[]) => Omit<Metric, 'type' | 'name' | 'help' | 'labelNames'>,
  ): T {
    const labelNames = [...(spec.labelNames ?? [])];
    const existing = metrics.get(spec.name);
    if (existing) {
      if (existing.type !== type || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new Error(
          `metric ${spec.name} is already registered as a ${existing.type} with labels [${existing.labelNames.join(', ')}]`,
        );
      }
      return existing.instrument as T;
    }
    if (!METRIC_NAME.test(spec.name)) throw new Error(`invalid metric name ${spec.name}`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label === 'le' || label.startsWith('__'))
        throw new Error(`invalid label name ${label} of ${spec.name}`);
    }
    const metric: Metric = {
      type,
      name: spec.name,
      help: spec.help,
      labelNames,
      ...make(labelNames),
    };
    metrics.set(spec.name, metric);
    return metric.instrument as T;
  }

  /** One series per distinct label set, keyed by its rendered form (also its sort order). */
  const seriesKey = (name: string, labelNames: readonly string[], labels: Labels<string>) => {
    for (const key of Object.keys(labels)) {
      if (!labelNames.includes(key)) throw new Error(`metric ${name} has no label ${key}`);
    }
    return renderLabels(labelNames.map((l) => [l, labels[l] ?? ''] as const));
  };

  function scalar(type: 'counter' | 'gauge', spec: MetricSpec<string>) {
    return register(type, spec, (labelNames) => {
      const values = new Map<string, number>();
      const add = (labels: Labels<string>, value: number) => {
        const key = seriesKey(spec.name, labelNames, labels);
        values.set(key, (values.get(key) ?? 0) + value);
      };
      const instrument = {
        inc(labels: Labels<string>, value = 1) {
          if (type === 'counter' && value < 0) throw new Error('a counter only goes up');
          add(labels, value);
        },
        dec(labels: Labels<string>, value = 1) {
          add(labels, -value);
        },
        set(labels: Labels<string>, value: number) {
          values.set(seriesKey(spec.name, labelNames, labels), value);
        },
        get(labels: Labels<string>) {
          return values.get(seriesKey(spec.name, labelNames, labels)) ?? 0;
        },
      };
      return {
        instrument,
        lines: () =>
          [...values.entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([labels, value]) => `${spec.name}${labels} ${formatNumber(value)}`),
      };
    });
  }

  return {
    counter: <L extends string>(spec: MetricSpec<L>) => scalar('counter', spec) as Counter<L>,

    gauge<L extends string>(
      spec: MetricSpec<L> & { collect?: (gauge: Gauge<L>) => void | Promise<void> },
    ) {
      const gauge = scalar('gauge', spec) as Gauge<L>;
      const metric = metrics.get(spec.name);
      const collect = spec.collect;
      if (metric && collect) metric.collect = () => collect(gauge);
      return gauge;
    },

    histogram<L extends string>(spec: MetricSpec<L> & { buckets?: readonly number[] }) {
      const buckets = [...(spec.buckets ?? DEFAULT_SECONDS_BUCKETS)].sort((a, b) => a - b);
      return register<Histogram<L>>('histogram', spec, (labelNames) => {
        const series = new Map<
          string,
          { labels: (readonly [string, string])[]; counts: number[]; sum: number; count: number }
        >();
        const instrument = {
          observe(labels: Labels<string>, value: number) {
            const key = seriesKey(spec.name, labelNames, labels);
            let entry = series.get(key);
            if (!entry) {
              entry = {
                labels: labelNames.map((l) => [l, labels[l] ?? ''] as const),
                counts: buckets.map(() => 0),
                sum: 0,
                count: 0,
              };
              series.set(key, entry);
            }
            // Per bucket, not cumulative: rendering adds them up.
            const index = buckets.findIndex((b) => value <= b);
            if (index >= 0) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
            entry.sum += value;
            entry.count += 1;
          },
          get(labels: Labels<string>) {
            const entry = series.get(seriesKey(spec.name, labelNames, labels));
            return { count: entry?.count ?? 0, sum: entry?.sum ?? 0 };
          },
        };
        return {
          instrument,
          lines: () =>
            [...series.entries()]
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .flatMap(([key, entry]) => {
                let cumulative = 0;
                const out = buckets.map((bound, i) => {
                  cumulative += entry.counts[i] ?? 0;
                  const labels = renderLabels([...entry.labels, ['le', formatNumber(bound)]]);
                  return `${spec.name}_bucket${labels} ${cumulative}`;
                });
                out.push(
                  `${spec.name}_bucket${renderLabels([...entry.labels, ['le', '+Inf']])} ${entry.count}`,
                  `${spec.name}_sum${key} ${formatNumber(entry.sum)}`,
                  `${spec.name}_count${key} ${entry.count}`,
                );
                return out;
              }),
        };
      });
    },

    async render() {
      const out: string[] = [];
      for (const metric of metrics.values()) {
        // A failing collector must not take the whole scrape down; its gauge keeps its last values.
        try {
          await metric.collect?.();
        } catch {}
        out.push(`# HELP ${metric.name} ${escapeHelp(metric.help)}`);
        out.push(`# TYPE ${metric.name} ${metric.type}`);
        out.push(...metric.lines());
      }
      return `${out.join('\n')}\n`;
    },
  };
}

function renderLabels(pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}
