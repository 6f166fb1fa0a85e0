/**
 * A small HTTP load loop: `concurrency` requests in flight over keep-alive connections to a loopback
 * address, for a fixed time after a warm-up, with a hard cap on the number of requests. Latencies
 * are kept in full (at most `maxRequests` numbers) for exact percentiles.
 */
import { Agent, request } from 'node:http';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  concurrency?: number;
  warmupMs?: number;
  durationMs?: number;
  maxRequests?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
    throw new Error('the load loop only targets the loopback interface');
  const concurrency = options.concurrency ?? 32;
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers = {
    ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
    ...options.headers,
  };
  const once = () =>
    new Promise<number>((resolve) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: options.method ?? 'GET',
          headers,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', () => resolve(0));
      req.end(body);
    });

  const phase = async (ms: number, cap: number, record: boolean) => {
    const latencies: number[] = [];
    let errors = 0;
    let sent = 0;
    const until = performance.now() + ms;
    const worker = async () => {
      while (performance.now() < until && sent < cap) {
        sent += 1;
        const started = performance.now();
        const status = await once();
        if (status < 200 || status >= 300) errors += 1;
        if (record) latencies.push(performance.now() - started);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { latencies, errors, seconds: (performance.now() - started) / 1000 };
  };

  await phase(options.warmupMs ?? 1000, Number.POSITIVE_INFINITY, false);
  const measured = await phase(options.durationMs ?? 5000, options.maxRequests ?? 500_000, true);
  agent.destroy();
  const sorted = measured.latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return {
    requests: sorted.length,
    errors: measured.errors,
    seconds: measured.seconds,
    perSecond: sorted.length / measured.seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}
