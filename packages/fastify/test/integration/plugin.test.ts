import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restoreToFile, spawnTracked, stopAllStarted } from '@defrost/core/testing';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('../fixtures/app.mjs', import.meta.url));
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'defrost-plugin-'));
  return () => rmSync(work, { recursive: true, force: true });
});
afterEach(stopAllStarted);

const SMALL_WARMUP = JSON.stringify({ requests: [{ url: '/' }, { url: '/count' }], rounds: 20 });

async function get(port: number, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { reset: true });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

function events(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return parseEvents(readFileSync(file, 'utf8').split('\n'));
}

/** The fixture's events among output lines, in order. */
function parseEvents(lines: readonly string[]): Record<string, unknown>[] {
  return lines.flatMap((line) => {
    try {
      const value = JSON.parse(line);
      return value && typeof value === 'object' && 'event' in value ? [value] : [];
    } catch {
      return [];
    }
  });
}

/** What the fixture's checkpoint and restore hooks reported, in order. */
function hookEvents(lines: readonly string[]): Record<string, unknown>[] {
  return parseEvents(lines).filter((e) => e.event === 'checkpoint-begins' || e.event === 'on-restore');
}

/** Starts the fixture asking for a checkpoint and waits until it has exited (exit mode). */
async function buildImage(
  name: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = ['--expose-gc'],
) {
  const imageDir = join(work, name);
  const progressFile = join(work, `${name}.progress`);
  const app = await spawnTracked(process.execPath, [...nodeArgs, fixture], {
    DEFROST_CHECKPOINT_IMAGE: imageDir,
    DEFROST_PROGRESS_FILE: progressFile,
    FIXTURE_WARMUP: SMALL_WARMUP,
    ...env,
  });
  const listening = (await app.waitFor((e) => e.event === 'listening')) as { port: number; pid: number };
  return { imageDir, progressFile, app, port: listening.port, pid: listening.pid };
}

describe('@defrost/fastify with real CRIU', () => {
  it('freezes a server with a pino file logger; two restores in a row serve and log to the grown file', async () => {
    const logFile = join(work, 'app.log');
    const { imageDir, app, port, progressFile } = await buildImage('logger', {
      FIXTURE_LOG_FILE: logFile,
      FIXTURE_LOGGER: 'pino',
    });
    expect((await app.exited).code).toBe(0);
    expect(existsSync(join(imageDir, 'defrost.json'))).toBe(true);
    const progress = readFileSync(progressFile, 'utf8');
    expect(progress).toContain('"step":"warmup-done"');
    expect(progress).toContain('"step":"checkpointed"');
    // The freeze was rehearsed first: the app's hooks closed and reopened once before the real one.
    expect(progress.indexOf('"step":"rehearsing"')).toBeLessThan(progress.indexOf('"step":"freezing"'));
    expect(progress.indexOf('"step":"rehearsing"')).toBeGreaterThan(progress.indexOf('"step":"warmup-done"'));
    expect(hookEvents(app.lines)).toEqual([
      { event: 'checkpoint-begins' },
      expect.objectContaining({ event: 'on-restore', reason: 'rehearsal' }),
      { event: 'checkpoint-begins' },
    ]);
    const warmupCount = 40; // /count once per round: 20 warm-up rounds, then 20 re-warm rounds after the rehearsal and the heap shrink
    expect(readFileSync(logFile, 'utf8')).toContain('warm-up done');

    for (const round of [1, 2]) {
      appendFileSync(
        logFile,
        `${JSON.stringify({ msg: `written by someone else before restore ${round}` })}\n`,
      );
      const out = join(work, `logger-restore-${round}.out`);
      const copy = await restoreToFile(imageDir, out);
      const { status, body } = await get(port, '/count');
      expect(status).toBe(200);
      expect(body).toMatchObject({ count: warmupCount + 1, restored: true });
      // pino writes asynchronously: give its destination a moment to flush.
      const sinceForeignLine = (): string => {
        const text = readFileSync(logFile, 'utf8');
        return text.slice(text.indexOf(`before restore ${round}`));
      };
      await expect.poll(sinceForeignLine, { timeout: 3_000 }).toContain('"count":41');
      const log = readFileSync(logFile, 'utf8');
      expect(log).toContain(`written by someone else before restore ${round}`);
      // This copy's own lines land after the foreign line, in the same file.
      const after = log.slice(log.indexOf(`before restore ${round}`));
      expect(after).toContain('"count":41');
      expect(after).toMatch(/defrost: restored in \d+ ms/);
      await copy.stop();
    }
  });

  it('a warning raised while the log file is parked (the audit accepting an inotify watch) reaches the log of the original and of every copy', async () => {
    const logFile = join(work, 'warned.log');
    const watched = mkdtempSync(join(work, 'watched-'));
    const { imageDir, app, port } = await buildImage('warned', {
      FIXTURE_LOG_FILE: logFile,
      FIXTURE_WATCH: watched,
    });
    expect((await app.exited).code).toBe(0);
    const warning = /"level":40.*defrost: accepted by audit policy: fd \d+: .*inotify/i;
    // Said by the original after the rehearsal reopened its log.
    expect(readFileSync(logFile, 'utf8')).toMatch(warning);
    appendFileSync(logFile, `${JSON.stringify({ msg: 'restore begins' })}\n`);
    const copy = await restoreToFile(imageDir, join(work, 'warned-restore.out'));
    expect((await get(port, '/')).status).toBe(200);
    const sinceRestore = (): string => {
      const text = readFileSync(logFile, 'utf8');
      return text.slice(text.indexOf('restore begins'));
    };
    await expect.poll(sinceRestore, { timeout: 3_000 }).toMatch(warning);
    await copy.stop();
  });

  it('aborts the checkpoint when a warm-up request answers 500, naming it, and keeps serving', async () => {
    const { imageDir, app, port, progressFile } = await buildImage('warmup-500', {
      FIXTURE_WARMUP: JSON.stringify({ requests: [{ url: '/' }, { url: '/fail' }], rounds: 5 }),
    });
    await app.waitFor((e) => e.event === 'defrost-done');
    const progress = readFileSync(progressFile, 'utf8');
    expect(progress).toContain('"step":"failed"');
    expect(progress).toMatch(/warm-up request GET \/fail answered 500/);
    expect(existsSync(imageDir)).toBe(false);
    expect(readdirSync(work).filter((n) => n.includes('warmup-500.partial'))).toEqual([]);
    expect((await get(port, '/')).status).toBe(200);
  });

  it('lets a request that is in flight when the checkpoint begins complete normally', async () => {
    const { imageDir, app, port } = await buildImage('in-flight', {
      FIXTURE_HOOK_DELAY_MS: '300',
      FIXTURE_SLOW_MS: '800',
    });
    await app.waitFor((e) => e.event === 'checkpoint-begins');
    const started = Date.now();
    const slow = await get(port, '/slow');
    expect(slow.status).toBe(200);
    expect(slow.body.slow).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect((await app.exited).code).toBe(0);
    expect(existsSync(join(imageDir, 'defrost.json'))).toBe(true);
  });

  it('checkpoint-and-continue: the original keeps serving and the image restores', async () => {
    const { imageDir, app, port } = await buildImage('continue', { DEFROST_CHECKPOINT_MODE: 'continue' });
    await app.waitFor((e) => e.event === 'defrost-done');
    expect(existsSync(join(imageDir, 'defrost.json'))).toBe(true);
    const original = await get(port, '/count');
    expect(original.body).toMatchObject({ count: 41, restored: false });
    // The original went through its restore hooks too ('continued').
    await app.waitFor((e) => e.event === 'on-restore' && e.reason === 'continued');

    // Stop the original, then restore: the copy continues from the frozen state, with restore-time env.
    app.child.kill('SIGTERM');
    await app.exited;
    const out = join(work, 'continue-restore.out');
    const copy = await restoreToFile(imageDir, out, { env: { FIXTURE_SECRET: 's3cret' } });
    expect((await get(port, '/count')).body).toMatchObject({ count: 41, restored: true });
    expect(events(out)).toContainEqual(
      expect.objectContaining({ event: 'on-restore', reason: 'restored', secret: 's3cret' }),
    );
    await copy.stop();
  });

  it("closes fetch()'s and http.globalAgent's keep-alive connections, as the zero-code agent does", async () => {
    let calls = 0;
    const upstream = createHttpServer((_req, res) => {
      calls++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ calls }));
    });
    upstream.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/`;
      const { imageDir, app, port, progressFile } = await buildImage('pools', {
        FIXTURE_UPSTREAM: url,
        FIXTURE_WARMUP: JSON.stringify({ requests: [{ url: '/upstream' }], rounds: 20 }),
      });
      await app.waitFor((e) => e.event === 'defrost-done');
      const progress = readFileSync(progressFile, 'utf8');
      expect(progress, progress).not.toContain('"step":"failed"');
      const exit = await app.exited;
      expect(exit.code, app.stderr()).toBe(0);
      expect(calls).toBeGreaterThanOrEqual(40);
      const copy = await restoreToFile(imageDir, join(work, 'pools.out'));
      const seen = await get(port, '/upstream');
      expect(seen.status).toBe(200);
      expect(seen.body).toEqual({ viaFetch: { calls: calls - 1 }, viaHttp: { calls } });
      await copy.stop();
    } finally {
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it('listens on a restore-time port', async () => {
    const { imageDir, app } = await buildImage('port');
    expect((await app.exited).code).toBe(0);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const newPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    // Two copies move to the same new port: both listen there (SO_REUSEPORT) and both answer.
    const out = join(work, 'port.out');
    const copies = await Promise.all(
      [0, 1].map((copy) => restoreToFile(imageDir, out, { port: newPort, copy })),
    );
    expect((await get(newPort, '/count')).body).toMatchObject({ count: 41, restored: true });
    expect(events(out).filter((e) => e.event === 'on-restore' && e.port === newPort)).toHaveLength(2);
    const served = new Set<unknown>();
    for (let i = 0; i < 40; i++) served.add((await get(newPort, '/count')).body.restoreId);
    expect(served).toEqual(new Set(copies.map((c) => c.restoreId)));
    await Promise.all(copies.map((c) => c.stop()));
  });

  it('skips the rehearsal when DEFROST_REHEARSE=0; the image restores all the same', async () => {
    const { imageDir, app, port, progressFile } = await buildImage('no-rehearsal', { DEFROST_REHEARSE: '0' });
    expect((await app.exited).code).toBe(0);
    expect(readFileSync(progressFile, 'utf8')).not.toContain('"step":"rehearsing"');
    expect(hookEvents(app.lines)).toEqual([{ event: 'checkpoint-begins' }]);
    const copy = await restoreToFile(imageDir, join(work, 'no-rehearsal.out'));
    expect((await get(port, '/count')).body).toMatchObject({ count: 41, restored: true });
    await copy.stop();
  });

  it('works without --expose-gc and says so', async () => {
    const logFile = join(work, 'nogc.log');
    const { imageDir, app, port } = await buildImage('no-expose-gc', { FIXTURE_LOG_FILE: logFile }, []);
    expect((await app.exited).code).toBe(0);
    expect(readFileSync(logFile, 'utf8')).toMatch(/without --expose-gc/);
    const copy = await restoreToFile(imageDir, join(work, 'nogc.out'));
    expect((await get(port, '/count')).status).toBe(200);
    await copy.stop();
  });

  it('restores a server started with --perf-basic-prof twice while its perf map grows', async () => {
    const { imageDir, app, port, pid } = await buildImage('perf', {}, [
      '--expose-gc',
      '--perf-basic-prof',
      // V8 also writes its log when profiling; keep it out of the working tree.
      `--logfile=${join(work, 'v8.log')}`,
      '--no-logfile-per-isolate',
    ]);
    expect((await app.exited).code).toBe(0);
    const perfMap = `/tmp/perf-${pid}.map`;
    expect(existsSync(perfMap)).toBe(true);
    try {
      for (const round of [1, 2]) {
        appendFileSync(perfMap, `0 1 grown-before-restore-${round}\n`);
        const copy = await restoreToFile(imageDir, join(work, `perf-${round}.out`));
        expect((await get(port, '/items/42')).body).toEqual({ id: '42' });
        await copy.stop();
      }
    } finally {
      rmSync(perfMap, { force: true });
    }
  });

  it('checkpoints a server whose stdout is a terminal (libuv reopens the TTY under another fd)', async () => {
    const imageDir = join(work, 'tty');
    // `script` runs the app on a fresh pseudo-terminal; its output comes back through script.
    const command = [process.execPath, '--expose-gc', fixture].map((a) => `'${a}'`).join(' ');
    const app = await spawnTracked('script', ['-qec', command, '/dev/null'], {
      DEFROST_CHECKPOINT_IMAGE: imageDir,
      FIXTURE_WARMUP: SMALL_WARMUP,
    });
    const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
    await app.waitFor((e) => e.event === 'defrost-done' && e.restored === false);
    expect((await app.exited).code).toBe(0);
    const out = join(work, 'tty.out');
    const copy = await restoreToFile(imageDir, out);
    expect((await get(port, '/count')).body).toMatchObject({ restored: true });
    // What the copy writes to process.stdout (the reopened terminal) reaches the restorer.
    expect(events(out)).toContainEqual(expect.objectContaining({ event: 'on-restore', reason: 'restored' }));
    await copy.stop();
  });

  it('changes nothing in a normal run', async () => {
    const app = await spawnTracked(process.execPath, [fixture], {});
    const { port } = (await app.waitFor((e) => e.event === 'listening')) as { port: number };
    await app.waitFor((e) => e.event === 'defrost-done' && e.restored === null);
    expect((await get(port, '/count')).body).toMatchObject({ count: 1, restored: false });
  });
});
