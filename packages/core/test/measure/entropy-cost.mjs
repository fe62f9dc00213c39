// What per-copy randomness costs a restored copy (docs/criu-and-node.md, "Randomness in restored
// copies"). Checkpoints a fixture IMAGES times, restores COPIES copies of each image at once and
// prints each copy's own report of its reseed (lastEntropyReport(): wall time, and the time its
// main thread was busy), with the preparation at the checkpoint. Needs real CRIU: hold the lock.
//
//   cd packages/core && pnpm build && flock /tmp/defrost-criu.lock \
//     node test/measure/entropy-cost.mjs plain|full [IMAGES=3] [COPIES=3]
//
// plain: test/fixtures/entropy-plain-server.mjs (no worker, no vm context: the floor);
// full: test/fixtures/entropy-server.mjs started with early-entropy (a worker, vm contexts,
// WebSocket and DNS used).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../dist/testing/index.js';

const [kind = 'plain', images = '3', copies = '3'] = process.argv.slice(2);
const fixtures = { plain: 'entropy-plain-server.mjs', full: 'entropy-server.mjs' };
const fixture = fileURLToPath(new URL(`../fixtures/${fixtures[kind]}`, import.meta.url));
const early = fileURLToPath(new URL('../../dist/safety/early-entropy.js', import.meta.url));
const nodeArgs = kind === 'full' ? ['--import', early] : [];

async function reportOf(out) {
  for (let i = 0; i < 400; i++) {
    const line = readFileSync(out, 'utf8')
      .split('\n')
      .find((l) => l.includes('"entropy"'));
    if (line) return JSON.parse(line).report;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no report in ${out}`);
}

async function oneImage() {
  const work = mkdtempSync(join(tmpdir(), 'defrost-entropy-cost-'));
  try {
    const imageDir = join(work, 'image');
    // The full fixture's DNS probe needs a server; the cost does not depend on its answers.
    const app = await spawnTracked(process.execPath, [...nodeArgs, fixture, imageDir, 'rehearse'], {
      ENTROPY_DNS: '127.0.0.1:9',
    });
    await app.waitFor((e) => e.event === 'listening');
    app.child.kill('SIGUSR2');
    const { prepare } = await app.waitFor((e) => e.event === 'checkpointed', 60_000);
    await app.exited;
    const outs = Array.from({ length: Number(copies) }, (_, i) => join(work, `copy-${i}.out`));
    await Promise.all(outs.map((out, copy) => restoreToFile(imageDir, out, { copy })));
    return { prepare, reports: await Promise.all(outs.map(reportOf)) };
  } finally {
    await stopAllStarted();
    rmSync(work, { recursive: true, force: true });
  }
}

const spread = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  return `median ${median.toFixed(2)} ms (${sorted[0].toFixed(2)}-${sorted.at(-1).toFixed(2)})`;
};

const runs = [];
for (let i = 0; i < Number(images); i++) runs.push(await oneImage());
const reports = runs.flatMap((run) => run.reports);
const [first] = reports;
console.log(`${process.version}, ${kind}: ${reports.length} copies (${images} images x ${copies} at once)`);
console.log(
  `  what a copy reseeds: ${first.contexts.length} context(s), ${first.workers.length} worker(s), ${first.caches} cache(s); warnings: ${reports.flatMap((r) => r.warnings).length}`,
);
console.log(`  reseed in the copy, wall:          ${spread(reports.map((r) => r.durationMs))}`);
console.log(`  reseed in the copy, main thread:   ${spread(reports.map((r) => r.mainThreadMs))}`);
console.log(`  preparation at the checkpoint:     ${spread(runs.map((r) => r.prepare.durationMs))}`);
process.exit(0);
