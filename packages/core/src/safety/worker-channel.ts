import { randomUUID } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads, { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';

/**
 * How the main thread reaches every worker thread: a BroadcastChannel that each thread joins when
 * it loads early-entropy (a preload: `--import` runs in every worker started from a file). The
 * main thread asks for a step; each worker runs it on its own event loop and answers.
 *
 * Why not the inspector's NodeWorker domain, which reaches any worker without a preload: enabling
 * it while workers start and exit crashed node (SIGSEGV in WorkerManager::SetAutoAttach), and the
 * message it sends runs in an interrupt, which broke a worker still loading its modules (measured
 * on 22, 24 and 26: docs/criu-and-node.md, "Randomness in restored copies").
 */

const NAME = 'defrost.entropy';

export type WorkerStep = 'prepare' | 'reseed';

type Message =
  | { readonly type: 'hello' | 'bye'; readonly threadId: number }
  | { readonly type: 'step'; readonly id: string; readonly step: WorkerStep }
  | {
      readonly type: 'done';
      readonly id: string;
      readonly threadId: number;
      readonly value?: unknown;
      readonly error?: string;
    };

export interface WorkerAnswer {
  readonly threadId: number;
  readonly value?: unknown;
  readonly error?: string;
}

interface ChannelState {
  channel?: BroadcastChannel;
  /** Workers that said hello and have not exited: the ones a step waits for. */
  readonly live: Set<number>;
  readonly rounds: Map<string, (answer: WorkerAnswer) => void>;
}

// One per thread even when two copies of @defrost/core are loaded (the agent's bundle joins, the
// app's copy asks for the steps).
const STATE = Symbol.for('@defrost/core/entropy-worker-channel');
const holder = globalThis as { [STATE]?: ChannelState };
const state: ChannelState = holder[STATE] ?? { live: new Set(), rounds: new Map() };
holder[STATE] = state;
const { live, rounds } = state;

function post(message: Message): void {
  state.channel?.postMessage(message);
}

function onMessage(message: Message, run: (step: WorkerStep) => unknown): void {
  if (message.type === 'hello') live.add(message.threadId);
  else if (message.type === 'bye') live.delete(message.threadId);
  else if (message.type === 'done') rounds.get(message.id)?.(message);
  else if (message.type === 'step' && !isMainThread) {
    try {
      post({ type: 'done', id: message.id, threadId, value: run(message.step) });
    } catch (error) {
      post({ type: 'done', id: message.id, threadId, error: (error as Error).message });
    }
  }
}

/**
 * A worker's exit is told by its parent (the worker itself cannot: its exit handlers do not run
 * when it is terminated), so that nobody waits for a worker that is gone.
 */
function announceExits(): void {
  const Original = workerThreads.Worker;
  if ((Original as { defrostTracked?: true }).defrostTracked) return;
  const Tracked = class Worker extends Original {
    constructor(...args: ConstructorParameters<typeof Original>) {
      super(...args);
      const id = this.threadId;
      this.once('exit', () => {
        live.delete(id);
        post({ type: 'bye', threadId: id });
      });
    }
  };
  Object.defineProperty(Tracked, 'defrostTracked', { value: true });
  (workerThreads as { Worker: typeof Original }).Worker = Tracked;
  syncBuiltinESMExports();
}

/** Joins the channel (once per thread); `run` is what this thread does when the main one asks. */
export function joinWorkerChannel(run: (step: WorkerStep) => unknown): void {
  if (state.channel) return;
  const channel = new BroadcastChannel(NAME);
  state.channel = channel;
  // Listening must not keep a thread alive that has nothing else to do.
  channel.unref();
  channel.onmessage = (event) => onMessage((event as { data: Message }).data, run);
  announceExits();
  if (!isMainThread) post({ type: 'hello', threadId });
}

/**
 * Asks every live worker for `step` and collects the answers; a worker that does not answer
 * within `answerWithinMs` (busy in a long task, or gone without a word) is reported as such.
 */
export async function stepInWorkers(step: WorkerStep, answerWithinMs: number): Promise<WorkerAnswer[]> {
  if (!state.channel) return [];
  const id = randomUUID();
  const waiting = new Set(live);
  const answers: WorkerAnswer[] = [];
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    rounds.set(id, (answer) => {
      answers.push(answer);
      waiting.delete(answer.threadId);
      if (waiting.size === 0) resolve();
    });
    timer = setTimeout(resolve, answerWithinMs);
    post({ type: 'step', id, step });
    if (waiting.size === 0) resolve();
  });
  clearTimeout(timer);
  rounds.delete(id);
  for (const missing of waiting)
    answers.push({ threadId: missing, error: `no answer within ${answerWithinMs} ms` });
  return answers;
}
