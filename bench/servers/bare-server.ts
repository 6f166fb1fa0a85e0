/**
 * The baseline: a bare Fastify route on the same machine, answering a JSON body of the vend
 * response's shape, no authentication, no database. Prints `{"url": …}` on its first stdout line.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = {
  accessKeyId: 'ASIAEXAMPLEEXAMPLE00',
  secretAccessKey: 'x'.repeat(40),
  sessionToken: 'y'.repeat(400),
  expiration: new Date(Date.now() + 3600_000).toISOString(),
};
app.post('/bare', async () => body);
app.get('/healthz', async () => ({ status: 'ok' }));
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`${JSON.stringify({ url: address })}\n`);
