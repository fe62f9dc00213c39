import crypto from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntropyReport } from '../../src/internal.js';
import { restoreToFile, spawnTracked, stopAllStarted } from '../../src/testing/index.js';

const fixture = fileURLToPath(new URL('../fixtures/entropy-server.mjs', import.meta.url));
const earlyEntropy = fileURLToPath(new URL('../../dist/safety/early-entropy.js', import.meta.url));
const COPIES = 3;

/**
 * Each probe of test/fixtures/entropy-probes.mjs, with the thread(s) that report it, and what the
 * image must have been made with for it to be per copy (docs/criu-and-node.md, "Limits").
 */
const ALL = ['main', 'worker', 'new worker'] as const;
interface Api {
  probe: string;
  api: string;
  threads: readonly string[];
  needs?: 'early-entropy' | 'rehearsal';
  /**
   * Not from OpenSSL: in a worker started before the freeze, per copy only when the worker can be
   * reached, which takes early-entropy (src/safety/worker-channel.ts).
   */
  inProcess?: true;
}
const APIS: Api[] = [
  { inProcess: true, probe: 'randomInt', api: 'crypto.randomInt()', threads: ALL },
  { inProcess: true, probe: 'randomIntAsync', api: 'crypto.randomInt(max, callback)', threads: ALL },
  { inProcess: true, probe: 'randomUUID', api: 'crypto.randomUUID()', threads: ALL },
  ...('randomUUIDv7' in crypto
    ? [
        {
          inProcess: true as const,
          probe: 'randomUUIDv7',
          api: 'crypto.randomUUIDv7() (random bits)',
          threads: ALL,
        },
      ]
    : []),
  { probe: 'randomBytes', api: 'crypto.randomBytes()', threads: ALL },
  { probe: 'randomBytesAsync', api: 'crypto.randomBytes(size, callback)', threads: ALL },
  { probe: 'randomFillSync', api: 'crypto.randomFillSync()', threads: ALL },
  { probe: 'randomFill', api: 'crypto.randomFill()', threads: ALL },
  { probe: 'webcryptoGetRandomValues', api: 'crypto.getRandomValues() (webcrypto)', threads: ALL },
  { inProcess: true, probe: 'webcryptoRandomUUID', api: 'crypto.randomUUID() (webcrypto)', threads: ALL },
  { probe: 'subtleGenerateKey', api: 'crypto.subtle.generateKey()', threads: ALL },
  { probe: 'generateKeyPair', api: 'crypto.generateKeyPairSync()', threads: ALL },
  { probe: 'generatePrime', api: 'crypto.generatePrimeSync()', threads: ALL },
  { inProcess: true, probe: 'mathRandom', api: 'Math.random()', threads: ALL },
  // Kept from load time, or made at load: covered when the app starts with early-entropy (a
  // worker started before the freeze loads the preload too).
  {
    probe: 'mathRandomCaptured',
    api: 'Math.random kept from load time',
    threads: ALL,
    needs: 'early-entropy',
  },
  {
    probe: 'vmContextMathRandom',
    api: 'Math.random() in a vm context made at load',
    threads: ALL,
    needs: 'early-entropy',
  },
  {
    probe: 'vmContextAfterRehearsalMathRandom',
    api: 'Math.random() in a vm context made between the rehearsal and the checkpoint',
    threads: ['main'],
    needs: 'rehearsal',
  },
  {
    inProcess: true,
    probe: 'vmNewContextMathRandom',
    api: 'Math.random() in a vm.createContext() made after',
    threads: ALL,
  },
  {
    inProcess: true,
    probe: 'vmRunInNewContextMathRandom',
    api: 'Math.random() in vm.runInNewContext()',
    threads: ALL,
  },
  { inProcess: true, probe: 'webSocketMask', api: 'WebSocket client frame masks', threads: ALL },
  { inProcess: true, probe: 'dnsQuery', api: 'dns.resolve*() query ids (c-ares)', threads: ALL },
];

/** A loopback DNS server that answers NXDOMAIN and records the id of each query by its name. */
async function startDnsServer() {
  const ids = new Map<string, string>();
  const socket = dgram.createSocket('udp4');
  socket.on('message', (query, from) => {
    const name = query.subarray(13, 13 + query[12]!).toString('latin1');
    ids.set(name, query.readUInt16BE(0).toString(16));
    const answer = Buffer.from(query);
    answer[2] = 0x80 | (query[2]! & 0x01);
    answer[3] = 0x83;
    socket.send(answer, from.port, from.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { ids, address: `127.0.0.1:${socket.address().port}`, close: () => socket.close() };
}

interface CopyReport {
  values: Record<string, string>;
  report: EntropyReport;
}

async function readReport(out: string): Promise<CopyReport> {
  for (let i = 0; i < 400; i++) {
    const line = readFileSync(out, 'utf8')
      .split('\n')
      .find((l) => l.includes('"entropy"'));
    if (line) return JSON.parse(line) as CopyReport;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no entropy report in ${out}:\n${readFileSync(out, 'utf8')}`);
}

const images = [
  { name: 'frozen directly', nodeArgs: [], fixtureArgs: [], has: [] },
  { name: 'rehearsed, then frozen', nodeArgs: [], fixtureArgs: ['rehearse'], has: ['rehearsal'] },
  {
    name: 'started with --import early-entropy, rehearsed, then frozen',
    nodeArgs: ['--import', earlyEntropy],
    fixtureArgs: ['rehearse'],
    has: ['rehearsal', 'early-entropy'],
  },
  {
    name: "the same, frozen by core's CommonJS build (two copies of core in one process)",
    nodeArgs: ['--import', earlyEntropy],
    fixtureArgs: ['rehearse'],
    env: { ENTROPY_CORE: 'cjs' },
    has: ['rehearsal', 'early-entropy'],
  },
];

describe.each(images)('randomness in three concurrent copies of one image ($name), real CRIU', (image) => {
  let work: string;
  let dnsServer: Awaited<ReturnType<typeof startDnsServer>>;
  let copies: CopyReport[] = [];
  let prepareWarnings: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'defrost-entropy-'));
    dnsServer = await startDnsServer();
    const imageDir = join(work, 'image');
    const app = await spawnTracked(
      process.execPath,
      [...image.nodeArgs, fixture, imageDir, ...image.fixtureArgs],
      { ENTROPY_DNS: dnsServer.address, ...('env' in image ? image.env : {}) },
    );
    await app.waitFor((e) => e.event === 'listening');
    app.child.kill('SIGUSR2');
    const checkpointed = await app.waitFor((e) => e.event === 'checkpointed', 60_000);
    prepareWarnings = checkpointed.warnings as string[];
    await app.exited;
    const outs = Array.from({ length: COPIES }, (_, i) => join(work, `copy-${i}.out`));
    await Promise.all(outs.map((out, copy) => restoreToFile(imageDir, out, { copy })));
    copies = await Promise.all(outs.map(readReport));
  }, 120_000);
  afterAll(async () => {
    await stopAllStarted();
    dnsServer?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it('prepared and reseeded everything without a warning', () => {
    expect(prepareWarnings).toEqual([]);
    for (const { report } of copies) {
      expect(report.warnings).toEqual([]);
      // randomInt's and randomUUID's caches, and the WebSocket client's pool of masks.
      expect(report.caches).toBe(3);
      expect(report.workers.map((w) => w.caches)).toEqual(image.has.includes('early-entropy') ? [3] : []);
    }
  });

  const reaches = (thread: string, { needs, inProcess }: Api) =>
    (!needs || image.has.includes(needs)) &&
    (thread !== 'worker' || !inProcess || image.has.includes('early-entropy'));
  const cases = APIS.flatMap((api) =>
    api.threads
      .filter((thread) => reaches(thread, api))
      .map((thread) => ({ probe: api.probe, thread, title: `${thread} thread: ${api.api}` })),
  );
  it.each(cases)('$title differs in every copy', ({ probe, thread }) => {
    const key = thread === 'main' ? probe : `${thread}.${probe}`;
    let values = copies.map((c) => c.values[key]);
    expect(
      values.every((v) => typeof v === 'string' && v.length > 0),
      `${key} reported`,
    ).toBe(true);
    if (probe === 'dnsQuery') values = values.map((name) => dnsServer.ids.get(name!));
    expect(new Set(values).size, `${key}: ${values.join(' | ')}`).toBe(COPIES);
  });
});
