/**
 * `defrost checkpoint` of servers that hold no defrost code at all, and `defrost run` +
 * `defrost checkpoint --pid` of one that runs already; real CRIU, real HTTP. Third-party
 * frameworks (Express, Koa, Hono, NestJS...) are tested in apps/examples.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, killLeftovers, runCli, startCli, stopAll, waitGone } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const APP = join(FIXTURES, 'plain-app.mjs');
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-zero-code-'));
});
/** Restored servers seen in "restored ... (pid P)" lines: killed after a failed test. */
const restoredPids = new Set<number>();
afterEach(async () => {
  await stopAll();
  await killLeftovers(restoredPids);
});
afterAll(() => rm(work, { recursive: true, force: true }));

interface Count {
  count: number;
  pid: number;
}

async function restoreAndAsk(image: string, port: number): Promise<Count> {
  const cli = startCli(['restore', image]);
  const [, pid] = await cli.waitFor(/defrost: restored .* \(pid (\d+)\)/);
  restoredPids.add(Number(pid));
  const answer = await getJson<Count>(port, '/');
  cli.child.kill('SIGTERM');
  expect((await cli.exited).code).toBe(42);
  return answer;
}

describe('a server with no defrost code (real CRIU)', () => {
  it('is warmed up, frozen and restored twice, with the warm-up state in place', async () => {
    const image = join(work, 'plain');
    const made = await runCli([
      'checkpoint',
      '--image',
      image,
      '--warmup-rounds',
      '50',
      '--',
      process.execPath,
      APP,
    ]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/warm-up\s+50 requests in 50 rounds/);
    const port = Number(/"port":(\d+)/.exec(made.stdout)?.[1]);
    // The warm-up's 50 requests and the re-warm's 20 were served before the freeze.
    for (const _ of [1, 2]) expect(await restoreAndAsk(image, port)).toMatchObject({ count: 71 });
  });

  it('an app that never listens: a clear error within the listen timeout, and the app is stopped', async () => {
    const started = Date.now();
    const r = await runCli([
      'checkpoint',
      '--image',
      join(work, 'never'),
      '--listen-timeout',
      '2',
      '--',
      process.execPath,
      '-e',
      'setInterval(() => {}, 1000)',
    ]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /the app did not listen within 2 s: defrost checkpoints a server once it listens on a TCP port/,
    );
    expect(r.stderr).toMatch(/stopping the app \(pid \d+\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('an app that listens on a unix socket only: says so, and what to do', async () => {
    const r = await runCli(['checkpoint', '--image', join(work, 'unix'), '--', process.execPath, APP], {
      env: { FIXTURE_LISTEN: join(work, 'app.sock') },
    });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(
      /listens on the unix socket .*app\.sock: defrost warms up and restores servers that listen on a TCP port/,
    );
  });
});

describe('defrost run, then defrost checkpoint --pid (real CRIU)', () => {
  it('freezes a running server without a restart; it keeps serving, and the image restores', async () => {
    const running = startCli(['run', '--warmup-rounds', '30', '--', process.execPath, APP]);
    const [, pid] = await running.waitFor(/running .* \(pid (\d+)\)/);
    const [, port] = await running.waitFor(/"port":(\d+)/, 'stdout');
    expect((await getJson<Count>(Number(port), '/')).pid).toBe(Number(pid));
    const image = join(work, 'on-demand');
    const made = await runCli(['checkpoint', '--image', image, '--pid', pid!]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stdout).toContain('checkpoint of `pid');
    // Still the same process, still serving: 1 + 30 warm-up + 20 re-warm requests so far.
    expect(await getJson<Count>(Number(port), '/')).toEqual({ count: 52, pid: Number(pid), url: '/' });
    running.child.kill('SIGTERM');
    expect((await running.exited).code).toBe(42);
    expect(await waitGone(Number(pid))).toBe(true);
    expect(await restoreAndAsk(image, Number(port))).toMatchObject({ count: 52 });
  });

  it('refuses a process that defrost run did not start, saying how to start it', async () => {
    const r = await runCli(['checkpoint', '--image', join(work, 'foreign'), '--pid', String(process.pid)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`process ${process.pid} was not started by \`defrost run\``);
    expect(r.stderr).toContain('defrost run -- COMMAND');
  });
});
