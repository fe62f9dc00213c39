#!/usr/bin/env node
/**
 * `pnpm --filter @defrost/container bench:containers [-- --rounds N] [--doc FILE]`: the blog in a
 * container, started three ways (contenders.ts), interleaved round after round (one untimed round
 * first), medians and ratios printed as a Markdown table with the machine's facts; --doc also
 * writes the table there (docs/bench/containers.md). Needs root, podman, buildah and CRIU; run it
 * under the CRIU lock on a shared machine. Everything it starts is stopped, everything it made
 * is removed, the host's state is checked at the end (host-state.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '@defrost/core/internal';
import { recordHostState, restoreHostState } from '../host-state.js';
import { median } from '../stats.js';
import { CONTENDERS, type Contender, timeStart } from './contenders.js';
import { BLOG_ENV, type Prepared, prepare } from './setup.js';

const log = (line: string): void => {
  process.stderr.write(`bench: ${line}\n`);
};

function versionOf(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch {
    return 'unknown';
  }
}

function report(
  samples: Map<Contender, number[]>,
  restores: number[],
  p: Prepared,
  loadAtStart: number,
): string {
  const cold = median(samples.get('cold')!);
  const ms = (v: number): string => `${Math.round(v).toLocaleString('en-US')} ms`;
  const rows = CONTENDERS.map((c) => {
    const s = samples.get(c)!;
    const m = median(s);
    const ratio =
      c === 'cold' ? '' : cold >= m ? `${(cold / m).toFixed(1)}x sooner` : `${(m / cold).toFixed(1)}x later`;
    return `| ${c} | ${ms(m)} | ${ms(Math.min(...s))} - ${ms(Math.max(...s))} | ${s.length} | ${ratio} |`;
  });
  return [
    '| time to first response (podman command to the first 200 on /) | median | min - max | runs | vs cold |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    `- defrost's own restore inside the container (its "restored in N ms" line): median ${ms(median(restores))}; the rest of the defrost row is podman starting the container`,
    `- defrost image (baked into the container image): ${formatBytes(p.facts.defrostImageBytes)}; container images built and the blog frozen in ${ms(p.facts.imageBuildMs)}`,
    `- podman checkpoint --export of the warmed blog: ${formatBytes(p.facts.podmanCheckpointBytes)} in ${ms(p.facts.podmanCheckpointMs)}`,
    `- machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, Linux ${release()}, load ${loadAtStart.toFixed(2)} at start and ${loadavg()[0]!.toFixed(2)} at the end`,
    `- ${versionOf('podman', ['--version'])}, ${versionOf('runc', ['--version'])}, criu ${versionOf('criu', ['--version']).replace(/^Version: */, '')}, Node 24 in the container, the blog with ${BLOG_ENV.join(' ')}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '5' }, doc: { type: 'string' } },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`--rounds must be a positive integer, got ${values.rounds}`);
  const hostBefore = await recordHostState();
  const work = await mkdtemp(join(tmpdir(), 'defrost-bench-containers-'));
  const loadAtStart = loadavg()[0]!;
  let prepared: Prepared | undefined;
  try {
    prepared = await prepare(work, log);
    const setup = {
      tools: prepared.tools,
      bakedImage: prepared.images.baked,
      podmanCheckpoint: prepared.podmanCheckpoint,
      hostAddress: prepared.host.address,
      clientAddress: prepared.net.clientAddress,
      blogEnv: BLOG_ENV,
    };
    const samples = new Map<Contender, number[]>(CONTENDERS.map((c) => [c, []]));
    const restores: number[] = [];
    for (let round = 0; round <= rounds; round++) {
      for (const contender of CONTENDERS) {
        const start = await timeStart(contender, setup);
        const ms = start.firstResponseMs;
        log(
          `${round === 0 ? 'warm-up round' : `round ${round}/${rounds}`}: ${contender} ${Math.round(ms)} ms`,
        );
        if (round === 0) continue;
        samples.get(contender)!.push(ms);
        if (start.restoreMs !== undefined) restores.push(start.restoreMs);
      }
    }
    const table = report(samples, restores, prepared, loadAtStart);
    process.stdout.write(`${table}\n`);
    if (values.doc) await writeFile(values.doc, `${table}\n`);
  } finally {
    await prepared?.tools.remove();
    await prepared?.net.remove();
    await rm(work, { recursive: true, force: true });
    const changed = await restoreHostState(hostBefore);
    if (changed.length > 0) log(`put back on the host: ${changed.join('; ')}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
