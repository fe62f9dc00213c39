// The app the container and many-hosts tests freeze and restore: a Fastify server with
// @defrost/fastify whose answers show what a restore must keep (a boot id and a counter from
// before the freeze), what it must not (the randomness of each copy), and what it runs under
// (Node, seccomp, io_uring rings, capabilities).
import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import defrost from '@defrost/fastify';
import Fastify from 'fastify';

const bootId = randomUUID();
// BALLAST_MB: that much incompressible memory held by the process, to make images of a chosen
// size (docs/scale-out.md: pull time against image size).
const ballast = randomFillSync(Buffer.alloc(Number(process.env.BALLAST_MB ?? 0) * 2 ** 20));
let count = 0;
// Set in each restored copy: which restore this is (unique per copy, on every host).
let restoreId = null;

const app = Fastify({ logger: false });
await app.register(defrost, { warmup: { rounds: 40, concurrency: 4 } });
app.defrost.afterRestore((ctx) => {
  restoreId = ctx.restoreId ?? null;
});

app.get('/healthz', async () => ({ ok: true, ballastBytes: ballast.length }));
app.get('/count', async () => ({ count: ++count, bootId, restoreId }));
app.get('/random', async () => ({
  restoreId,
  uuid: randomUUID(),
  bytes: randomBytes(16).toString('hex'),
  math: Math.random(),
}));

function ioUringRings() {
  let rings = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[io_uring]') rings++;
    } catch {
      // closed meanwhile (the readdir's own descriptor)
    }
  }
  return rings;
}

app.get('/runtime', async () => {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? null;
  return {
    node: process.version,
    seccomp: Number(field('Seccomp')),
    capEff: field('CapEff'),
    capBnd: field('CapBnd'),
    ioUringRings: ioUringRings(),
    restoreId,
  };
});

await app.listen({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '0.0.0.0' });
process.stdout.write(`app: boot ${bootId} listening on ${app.server.address().port}\n`);
