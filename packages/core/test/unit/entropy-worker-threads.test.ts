import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { InspectorSession } from '../../src/safety/inspector.js';
import { evaluateInWorkers } from '../../src/safety/worker-threads.js';

const workers: Worker[] = [];
async function startWorker(source: string): Promise<Worker> {
  const worker = new Worker(source, { eval: true });
  workers.push(worker);
  await new Promise((resolve) => worker.once('online', resolve));
  return worker;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

describe('reaching worker threads through the inspector', () => {
  const session = InspectorSession.open();
  afterAll(() => session.close());

  const within = { answerWithinMs: 5_000, giveUpAfterMs: 5_000 };

  it('evaluates in every live worker, awaiting promises, and reports what threw', async () => {
    await startWorker('globalThis.answer = 42; setInterval(() => {}, 1000);');
    await startWorker('setInterval(() => {}, 1000);');
    const round = evaluateInWorkers(
      session,
      'if (globalThis.answer === undefined) throw new Error("no answer here"); answer',
      within,
    );
    expect((await round.answers).map((a) => a.value ?? a.error).sort()).toEqual([
      42,
      'Error: no answer here',
    ]);
    await round.settled;
  });

  it('gets an answer at once from a worker busy in a long loop, or waiting in Atomics.wait (an interrupt)', async () => {
    const busy = await startWorker(
      'require("worker_threads").parentPort.once("message", () => { const end = Date.now() + 3000; while (Date.now() < end); });',
    );
    const waiting = await startWorker(
      'require("worker_threads").parentPort.once("message", (b) => Atomics.wait(new Int32Array(b), 0, 0, 3000));',
    );
    busy.postMessage('spin');
    waiting.postMessage(new SharedArrayBuffer(4));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    const answers = await evaluateInWorkers(session, '6 * 7', within).answers;
    expect(answers.map((a) => a.value)).toEqual([42, 42]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('stops waiting for a worker blocked in a native call, which runs the expression when it returns', async () => {
    const blocked = await startWorker(
      'setInterval(() => {}, 1000); require("worker_threads").parentPort.once("message", () => require("child_process").execSync("sleep 1.5"));',
    );
    blocked.postMessage('block');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const round = evaluateInWorkers(session, 'globalThis.reached = true', {
      answerWithinMs: 300,
      giveUpAfterMs: 10_000,
    });
    expect(await round.answers).toEqual([
      { workerId: expect.stringMatching(/^\d+$/), error: 'no answer within 300 ms' },
    ]);
    await round.settled;
    const [after] = await evaluateInWorkers(session, 'globalThis.reached', within).answers;
    expect(after!.value).toBe(true);
  });

  it('reaches no worker when there is none', async () => {
    const round = evaluateInWorkers(session, '1', within);
    expect(await round.answers).toEqual([]);
    await round.settled;
  });
});
