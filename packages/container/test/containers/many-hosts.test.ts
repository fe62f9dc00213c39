/**
 * One image, four hosts, one registry, for real: hosts are network namespaces on a private switch
 * (src/network.ts, 203.0.113.0/24). Host A freezes the test app (`defrost checkpoint`) and pushes
 * the image to docker-registry on host B, over TLS with a CA of the test's own; hosts C and D
 * pull it (`defrost restore REF --copies 2`, each with its own cache) and serve two copies each.
 * Every copy keeps the frozen state and draws randomness of its own. A blob damaged in the
 * registry's storage is refused on pull, leaving nothing behind. Every process runs inside its
 * host with `ip netns exec`, is tracked by PID and stopped by PID.
 */

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopPid } from '@defrost/core/internal';
import {
  makeTestCertificates,
  type Spawned,
  spawnTracked,
  startRegistry,
  stopAllStarted,
  type TestRegistry,
} from '@defrost/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliCommandIn } from '../../src/cli-in-host.js';
import { type HostState, recordHostState, restoreHostState } from '../../src/host-state.js';
import { getJson, waitForJson } from '../../src/http.js';
import { REPO_ROOT } from '../../src/images.js';
import { createTestNetwork, type NetHost, type TestNetwork } from '../../src/network.js';
import { CommandError, run } from '../../src/run.js';

const APP_DIR = join(REPO_ROOT, 'packages/container');
const PORT = 8080;

interface RandomAnswer {
  restoreId: string | null;
  uuid: string;
  bytes: string;
  math: number;
}

let hostBefore: HostState;
let work: string;
let net: TestNetwork;
let registry: TestRegistry;
let caFile: string;
let pinnedRef: string;
let frozenBootId: string;
const restorers = new Map<string, Spawned>();

const hostOf = (name: string): NetHost => net.hosts[name]!;

/** The CLI inside a host, to its end, with that host's own defrost cache. */
function cliIn(host: NetHost, args: readonly string[], timeoutMs = 180_000) {
  const env = { ...process.env, DEFROST_CACHE_DIR: join(work, host.name, 'cache'), PORT: String(PORT) };
  return run(...cliCommandIn(host, args), { env, timeoutMs, cwd: APP_DIR });
}

beforeAll(async () => {
  hostBefore = await recordHostState();
  work = await mkdtemp(join(tmpdir(), 'defrost-hosts-'));
  net = await createTestNetwork(`dfh${process.pid % 100000}`, ['A', 'B', 'C', 'D']);
  for (const name of ['A', 'B', 'C', 'D']) await mkdir(join(work, name), { recursive: true });
  const certs = makeTestCertificates(join(work, 'B'), [hostOf('B').address]);
  caFile = certs.caFile;
  registry = await startRegistry({
    dir: join(work, 'B', 'registry'),
    address: hostOf('B').address,
    port: 5000,
    tls: { certFile: certs.certFile, keyFile: certs.keyFile },
    launcher: hostOf('B').exec,
  });

  const image = join(work, 'A', 'image');
  const checkpoint = await cliIn(hostOf('A'), [
    'checkpoint',
    '--image',
    image,
    '--',
    process.execPath,
    'app/server.mjs',
  ]);
  frozenBootId = /app: boot (\S+) listening/.exec(checkpoint.stdout)?.[1] ?? '';
  expect(frozenBootId, checkpoint.stdout + checkpoint.stderr).not.toBe('');
  const pushed = await cliIn(hostOf('A'), [
    'push',
    image,
    `${registry.host}/demo/app:1`,
    '--ca-file',
    caFile,
  ]);
  pinnedRef = pushed.stdout.trim();
  expect(pinnedRef).toMatch(new RegExp(`^${registry.host}/demo/app@sha256:[0-9a-f]{64}$`));
}, 300_000);

afterAll(async () => {
  for (const restorer of restorers.values()) await stopPid(restorer.pid, 10_000);
  await registry?.stop();
  await stopAllStarted();
  await net?.remove();
  if (work) await rm(work, { recursive: true, force: true });
  if (hostBefore) expect(await restoreHostState(hostBefore)).toEqual([]);
}, 120_000);

/** `defrost restore REF --copies 2` inside a host; resolves once both copies said "restored". */
async function restoreTwoCopies(host: NetHost): Promise<number> {
  const env = { DEFROST_CACHE_DIR: join(work, host.name, 'cache') };
  const started = performance.now();
  const restorer = await spawnTracked(
    ...cliCommandIn(host, ['restore', `${registry.host}/demo/app:1`, '--copies', '2', '--ca-file', caFile]),
    env,
    { launch: 'plain' },
  );
  restorers.set(host.name, restorer);
  const deadline = Date.now() + 60_000;
  while ((restorer.stderr().match(/defrost: restored /g) ?? []).length < 2) {
    const ended = await Promise.race([
      restorer.exited.then(() => true),
      new Promise((r) => setTimeout(r, 20, false)),
    ]);
    if (ended || Date.now() > deadline)
      throw new Error(`restore on host ${host.name} did not bring up 2 copies:\n${restorer.stderr()}`);
  }
  return performance.now() - started;
}

/**
 * Fresh connections until both copies on the host answered: the copies share the port
 * (SO_REUSEPORT), and the kernel spreads connections over them by their source port.
 */
async function sampleCopies(host: NetHost): Promise<Map<string, RandomAnswer[]>> {
  const byCopy = new Map<string, RandomAnswer[]>();
  const url = `http://${host.address}:${PORT}/random`;
  for (let attempt = 0; attempt < 300 && (byCopy.size < 2 || attempt < 20); attempt++) {
    const answer = await getJson<RandomAnswer>(url, { localAddress: net.clientAddress });
    expect(answer.restoreId, 'a copy that was not restored answered').not.toBeNull();
    byCopy.set(answer.restoreId!, [...(byCopy.get(answer.restoreId!) ?? []), answer]);
  }
  return byCopy;
}

describe('an image built on one host, served from two others', () => {
  it('C and D pull it from B and restore two copies each, with the frozen state', async () => {
    const [c, d] = await Promise.all([restoreTwoCopies(hostOf('C')), restoreTwoCopies(hostOf('D'))]);
    console.log(
      `pull + restore of 2 copies (at once on C and D): C ${Math.round(c)} ms, D ${Math.round(d)} ms`,
    );
    for (const name of ['C', 'D']) {
      const count = await waitForJson<{ bootId: string; count: number }>(
        `http://${hostOf(name).address}:${PORT}/count`,
        {
          localAddress: net.clientAddress,
          withinMs: 10_000,
        },
      );
      expect(count.bootId).toBe(frozenBootId);
      expect(count.count).toBeGreaterThan(1);
    }
    // Each host pulled the blobs itself: two GETs of every blob, none from A (A only pushed).
    const blobGets = registry.requests().filter((l) => /"GET \/v2\/demo\/app\/blobs\/sha256:/.test(l));
    expect(blobGets.length).toBeGreaterThanOrEqual(4);
  });

  it('every copy on every host draws its own randomness', async () => {
    const copies = new Map<string, RandomAnswer[]>();
    for (const name of ['C', 'D']) {
      const byCopy = await sampleCopies(hostOf(name));
      expect(byCopy.size, `copies seen on host ${name}`).toBe(2);
      for (const [id, answers] of byCopy) copies.set(id, answers);
    }
    expect(copies.size).toBe(4);
    const all = [...copies.values()].flat();
    for (const key of ['uuid', 'bytes', 'math'] as const) {
      const values = all.map((a) => a[key]);
      expect(new Set(values).size, `${key} values repeated across copies or requests`).toBe(values.length);
    }
    // The first answer of each copy: identical memory would make these equal if not reseeded.
    const firsts = [...copies.values()].map((answers) => answers[0]!.math);
    expect(new Set(firsts).size).toBe(4);
  });

  it('a blob damaged in the registry is refused on pull, and nothing is left at DIR', async () => {
    const digest = pinnedRef.split('@')[1]!;
    const manifest = JSON.parse(await readFile(registry.blobFile(digest), 'utf8')) as {
      layers: { digest: string; size: number }[];
    };
    const largest = manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
    const blob = registry.blobFile(largest.digest);
    const file = await open(blob, 'r+');
    try {
      const { size } = await stat(blob);
      await file.write(Buffer.from('defrost test damage'), 0, 19, Math.floor(size / 2));
    } finally {
      await file.close();
    }
    const target = join(work, 'D', 'pulled');
    const error = await cliIn(hostOf('D'), ['pull', pinnedRef, target, '--ca-file', caFile]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CommandError);
    expect((error as CommandError).code).toBe(4);
    expect((error as CommandError).stderr).toMatch(/digest|sha256/);
    expect(existsSync(target)).toBe(false);
  });
});
