import { isMainThread } from 'node:worker_threads';
import type { InspectorSession } from './inspector.js';

/**
 * Runs an expression in every worker thread of this thread, through the inspector's NodeWorker
 * domain: it reaches workers the app started long before defrost was loaded. The worker runs it
 * in an interrupt (between two JavaScript instructions, or inside Atomics.wait), so even a worker
 * busy in a long synchronous task answers at once. One blocked in a native call that does not
 * service V8's interrupts (a synchronous child process, a blocking read) answers only when the
 * call returns: the caller stops waiting after a while, and the session stays open until the
 * late answers came (closing it would drop a message the worker has not read yet).
 */

export interface WorkerAnswer {
  readonly workerId: string;
  /** The expression's value (by value: JSON), when it returned one. */
  readonly value?: unknown;
  /** Why there is no value: the expression threw, or the worker did not answer in time. */
  readonly error?: string;
}

interface Attached {
  readonly sessionId: string;
  readonly workerInfo: { readonly workerId: string; readonly type?: string };
}

interface Reply {
  readonly id?: number;
  readonly result?: {
    result?: { value?: unknown };
    exceptionDetails?: { text: string; exception?: { description?: string } };
  };
  readonly error?: { message: string };
}

function replyError(reply: Reply): string | undefined {
  if (reply.error) return reply.error.message;
  const details = reply.result?.exceptionDetails;
  if (!details) return undefined;
  return (details.exception?.description ?? details.text).split('\n')[0];
}

/**
 * The workers this thread started that are alive now (the domain reports them as it is enabled).
 * Only the main thread's inspector has the domain: a worker's own workers are out of reach.
 */
function attachWorkers(session: InspectorSession): Attached[] {
  if (!isMainThread) return [];
  const attached: Attached[] = [];
  const stop = session.on('NodeWorker.attachedToWorker', (params: never) =>
    attached.push(params as Attached),
  );
  try {
    session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
  } finally {
    stop();
  }
  return attached;
}

export interface WorkerRound {
  /** One answer per worker, given up on after `answerWithinMs`. */
  readonly answers: Promise<WorkerAnswer[]>;
  /** When every worker has run the expression (or after `giveUpAfterMs`): the session may close. */
  readonly settled: Promise<void>;
}

export function evaluateInWorkers(
  session: InspectorSession,
  expression: string,
  { answerWithinMs, giveUpAfterMs }: { answerWithinMs: number; giveUpAfterMs: number },
): WorkerRound {
  const pending = new Map<string, (reply: Reply) => void>();
  const stop = session.on('NodeWorker.receivedMessageFromWorker', (params: never) => {
    const { sessionId, message } = params as { sessionId: string; message: string };
    const reply = JSON.parse(message) as Reply;
    if (reply.id === 1) pending.get(sessionId)?.(reply);
  });
  // Not awaitPromise: in an interrupt, a promise cannot settle.
  const params = { expression, returnByValue: true, silent: true };
  const workers = attachWorkers(session).map(({ sessionId, workerInfo }) => {
    const reply = new Promise<Reply>((resolve) => pending.set(sessionId, resolve));
    session.post('NodeWorker.sendMessageToWorker', {
      sessionId,
      message: JSON.stringify({ id: 1, method: 'Runtime.evaluate', params }),
    });
    return { workerId: workerInfo.workerId, reply };
  });
  const answers = Promise.all(
    workers.map(async ({ workerId, reply }): Promise<WorkerAnswer> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), answerWithinMs);
      });
      const answered = await Promise.race([reply, late]).finally(() => clearTimeout(timer));
      if (!answered) return { workerId, error: `no answer within ${answerWithinMs} ms` };
      const error = replyError(answered);
      return error ? { workerId, error } : { workerId, value: answered.result?.result?.value };
    }),
  );
  let giveUp: NodeJS.Timeout | undefined;
  const settled = Promise.race([
    Promise.all(workers.map((w) => w.reply)),
    new Promise((resolve) => {
      giveUp = setTimeout(resolve, giveUpAfterMs).unref();
    }),
  ]).then(() => {
    clearTimeout(giveUp);
    stop();
    // Detaches from every worker: enabling again later reports them all again.
    if (isMainThread) session.post('NodeWorker.disable');
  });
  return { answers, settled };
}
