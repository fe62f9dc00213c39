#!/usr/bin/env node
/**
 * The numbers of docs/scale-out.md that one machine can give, measured between hosts that are
 * network namespaces (network.ts): `node dist/measure/scale-out.js [--runs N] [--only pull,dedup]`, as root, under
 * the CRIU lock on a shared machine.
 * - pull time against image size: the test app frozen on host A with 20, 60 and 120 MB of
 *   incompressible memory (BALLAST_MB), pushed to docker-registry on host B (TLS), pulled on host
 *   C into a new directory, N times each (`defrost pull`, wall time of the command);
 * - dedup between image versions: two checkpoints of the same app, the test app and the demo
 *   blog (a second start of the same code), compared file by file (what the registry stores once) and 4 KiB page by 4 KiB page
 *   (what a chunked layout could store once).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatBytes } from '@defrost/core/internal';
import {
  makeTestCertificates,
  startRegistry,
  stopAllStarted,
  type TestRegistry,
} from '@defrost/core/testing';
import { cliCommandIn } from '../cli-in-host.js';
import { recordHostState, restoreHostState } from '../host-state.js';
import { REPO_ROOT } from '../images.js';
import { createTestNetwork, type NetHost, type TestNetwork } from '../network.js';
import { run } from '../run.js';
import { median } from '../stats.js';

const APP_DIR = join(REPO_ROOT, 'packages/container');

function cliIn(host: NetHost, args: readonly string[], env: Record<string, string>, cwd = APP_DIR) {
  return run(...cliCommandIn(host, args), {
    env: { ...process.env, ...env },
    timeoutMs: 600_000,
    cwd,
  });
}

/** What dedup compares: the test app, or the demo blog (its database seeded by the first start). */
const DEDUP_APPS = {
  app: { cwd: APP_DIR, command: 'app/server.mjs', env: { PORT: '8080' } },
  blog: {
    cwd: join(REPO_ROOT, 'apps/blog'),
    command: 'dist/server.js',
    env: { HOST: '127.0.0.1', PORT: '3000' },
  },
} as const;

async function imageFiles(dir: string): Promise<{ name: string; sha256: string; size: number }[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'defrost.json'), 'utf8')) as {
    files: Record<string, { sha256: string; size: number }>;
  };
  return Object.entries(manifest.files).map(([name, f]) => ({ name, ...f }));
}

async function pageHashes(dir: string): Promise<string[]> {
  const hashes: string[] = [];
  for (const name of (await readdir(dir)).filter((n) => /^pages-\d+\.img$/.test(n))) {
    const bytes = await readFile(join(dir, name));
    for (let at = 0; at < bytes.length; at += 4096) {
      hashes.push(
        createHash('sha256')
          .update(bytes.subarray(at, at + 4096))
          .digest('hex'),
      );
    }
  }
  return hashes;
}

async function pullSizes(
  net: TestNetwork,
  registry: TestRegistry,
  work: string,
  caFile: string,
  runs: number,
) {
  const [a, c] = [net.hosts.A!, net.hosts.C!];
  const lines = [
    '| ballast | image | zstd (registry) | pull on another host, median | runs |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const ballast of [20, 60, 120]) {
    const image = join(work, `image-${ballast}`);
    const env = { DEFROST_CACHE_DIR: join(work, 'A-cache'), PORT: '8080', BALLAST_MB: String(ballast) };
    await cliIn(a, ['checkpoint', '--image', image, '--', process.execPath, 'app/server.mjs'], env);
    const pushed = await cliIn(
      a,
      ['push', image, `${registry.host}/scale/app:${ballast}`, '--ca-file', caFile],
      env,
    );
    const zstd = /as (\S+ \S+) zstd/.exec(pushed.stderr)?.[1] ?? '?';
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const target = join(work, `pulled-${ballast}-${i}`);
      const started = performance.now();
      await cliIn(c, ['pull', pushed.stdout.trim(), target, '--ca-file', caFile], {
        DEFROST_CACHE_DIR: join(work, `C-cache-${ballast}-${i}`),
      });
      times.push(performance.now() - started);
      await rm(target, { recursive: true, force: true });
    }
    const size = (await imageFiles(image)).reduce((s, f) => s + f.size, 0);
    lines.push(
      `| ${ballast} MB | ${formatBytes(size)} | ${zstd} | ${Math.round(median(times))} ms (${times.map(Math.round).join(', ')}) | ${runs} |`,
    );
    process.stderr.write(`measure: ${lines.at(-1)}\n`);
  }
  return lines.join('\n');
}

async function dedup(net: TestNetwork, work: string, which: keyof typeof DEDUP_APPS) {
  const a = net.hosts.A!;
  const app = DEDUP_APPS[which];
  const dirs = [join(work, `${which}-1`), join(work, `${which}-2`)];
  const env = {
    DEFROST_CACHE_DIR: join(work, 'A-cache'),
    BLOG_DATA_DIR: join(work, 'blog-data'),
    ...app.env,
  };
  for (const dir of dirs) {
    await cliIn(a, ['checkpoint', '--image', dir, '--', process.execPath, app.command], env, app.cwd);
  }
  const [one, two] = await Promise.all(dirs.map(imageFiles));
  const shared = two!.filter((f) => one!.some((g) => g.sha256 === f.sha256));
  const total = two!.reduce((s, f) => s + f.size, 0);
  const sharedBytes = shared.reduce((s, f) => s + f.size, 0);
  const [p1, p2] = await Promise.all(dirs.map(pageHashes));
  const known = new Set(p1);
  const samePages = p2!.filter((h) => known.has(h)).length;
  return [
    `${which}:`,
    `- files: ${shared.length} of ${two!.length} identical (${formatBytes(sharedBytes)} of ${formatBytes(total)})`,
    `- 4 KiB pages of the pages files: ${samePages} of ${p2!.length} identical (${((100 * samePages) / p2!.length).toFixed(1)}%)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '3' }, only: { type: 'string', default: 'pull,dedup' } },
  });
  const only = values.only.split(',');
  const hostBefore = await recordHostState();
  const work = await mkdtemp(join(tmpdir(), 'defrost-scale-out-'));
  const net = await createTestNetwork(`dfm${process.pid % 100000}`, ['A', 'B', 'C']);
  try {
    await mkdir(join(work, 'B'), { recursive: true });
    const certs = makeTestCertificates(join(work, 'B'), [net.hosts.B!.address]);
    const registry = await startRegistry({
      dir: join(work, 'B', 'registry'),
      address: net.hosts.B!.address,
      port: 5000,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
      launcher: net.hosts.B!.exec,
    });
    try {
      if (only.includes('pull')) {
        process.stdout.write(
          `${await pullSizes(net, registry, work, certs.caFile, Number(values.runs))}\n\n`,
        );
      }
      if (only.includes('dedup')) {
        for (const which of ['app', 'blog'] as const)
          process.stdout.write(`${await dedup(net, work, which)}\n\n`);
      }
    } finally {
      await registry.stop();
    }
  } finally {
    await stopAllStarted();
    await net.remove();
    await rm(work, { recursive: true, force: true });
    await restoreHostState(hostBefore);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`measure: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
