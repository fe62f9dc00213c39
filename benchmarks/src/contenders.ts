/**
 * The ways of getting the app to answer, each started fresh for every run. A contender hands back a
 * handle whose `startedAt` is taken immediately before the process is spawned (or the restore is
 * requested): everything after it, the CLI's own start included, is what the user waits for.
 */
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { commOf, descendantsOf, waitForPidGone } from '@defrost/core/internal';
import { readRestoreFacts } from './criu-stats.js';
import type { RestorerReply } from './helpers/core-restorer.js';
import type { ContenderId, ContenderInfo, CriuRestoreStats } from './model.js';
import { describeExit, type ProcessControl, type Tracked } from './process/control.js';

export interface RunExtras {
  /** The restore time the restorer itself reported. */
  readonly reportedRestoreMs?: number;
  /** restore()'s own checks before CRIU starts (core API only: the CLI does not print it). */
  readonly checksMs?: number;
  readonly criu?: CriuRestoreStats;
  /** Which path `defrost restore` took (from its DEFROST_DEBUG=1 output), when it said. */
  readonly restorePath?: RestorePath;
}

export interface RestorePath {
  readonly fast: boolean;
  /** Why the full path was taken. */
  readonly reason?: string;
}

/** How often each path was taken by one contender's measured starts. */
export interface RestorePathTally {
  fast: number;
  full: number;
  readonly reasons: Set<string>;
}

export function describeRestorePaths(t: RestorePathTally): string {
  const total = t.fast + t.full;
  const full = t.full > 0 ? `; the full path (Node) in ${t.full}: ${[...t.reasons].join('; ')}` : '';
  return `fast path (no Node) in ${t.fast} of ${total} measured starts${full}`;
}

/** "defrost: debug: fast path: ..." or "defrost: debug: full path: REASON" (native launcher). */
export function parseRestorePath(text: string): RestorePath | undefined {
  const m = /^defrost: debug: (fast|full) path: (.*)$/m.exec(text);
  if (!m) return undefined;
  return m[1] === 'fast' ? { fast: true } : { fast: false, reason: m[2]! };
}

export interface ServerHandle {
  /** performance.now() immediately before the start. */
  readonly startedAt: number;
  /** Where the server's (and its restorer's) output goes. */
  readonly logFile: string;
  /** Why the server can no longer answer (it or its restorer exited), or undefined. */
  failed(): string | undefined;
  /** The PID of the process that serves (the restored server, not its launcher). */
  serverPid(): Promise<number>;
  extras(): Promise<RunExtras>;
  /**
   * performance.now() at which every page of the restored server was in memory (restores only):
   * for an eager restore, when the copy reported ready (CRIU restores every page before the
   * server resumes); with lazy pages, when the lazy-pages daemon, which exits once it has
   * delivered the last page, was gone. Call it right after the first response: it watches the
   * daemon while the other probes run.
   */
  pagesResident?(): Promise<number | undefined>;
  stop(): Promise<void>;
}

export interface Contender {
  readonly id: ContenderId;
  readonly info: ContenderInfo;
  readonly origin: string;
  /** The floor has no page, stylesheet or feed to visit, and is not loaded. */
  readonly full: boolean;
  start(logFile: string): Promise<ServerHandle>;
}

const exited = (t: Tracked, what: string): string | undefined =>
  t.exit ? `${what} ended (${describeExit(t.exit)}; log: ${t.logFile})` : undefined;

/** `node <entry>`: a cold start. */
export function coldContender(o: {
  id: ContenderId;
  pc: ProcessControl;
  entry: string;
  env: NodeJS.ProcessEnv;
  origin: string;
  command: string;
  note?: string;
}): Contender {
  return {
    id: o.id,
    info: { command: o.command, ...(o.note ? { note: o.note } : {}) },
    origin: o.origin,
    full: true,
    async start(logFile) {
      const startedAt = performance.now();
      const t = o.pc.spawn(o.id, process.execPath, [o.entry], { env: o.env, logFile });
      return {
        startedAt,
        logFile,
        failed: () => exited(t, 'the server'),
        serverPid: async () => t.pid,
        extras: async () => ({}),
        stop: async () => {
          await o.pc.stop(t);
        },
      };
    },
  };
}

const RESTORED_LINE = /defrost: restored (.+) in (\d+(?:\.\d+)?) ms \(pid (\d+)\)/;

/** The "defrost: restored DIR in N ms (pid P)" line in a restorer's output, if there. */
export function parseRestoredLine(text: string): { ms: number; pid: number } | undefined {
  const m = RESTORED_LINE.exec(text);
  return m ? { ms: Number(m[2]), pid: Number(m[3]) } : undefined;
}

/** The restored server under a restorer: the deepest `node` below it (unshare -> criu/reaper -> node). */
async function restoredPidBelow(rootPid: number): Promise<number | undefined> {
  const family = await descendantsOf(rootPid);
  for (const pid of family.reverse()) if ((await commOf(pid)) === 'node') return pid;
  return undefined;
}

/** The `criu lazy-pages` daemon below a restorer, if one runs. */
async function lazyPagesDaemonBelow(rootPid: number): Promise<number | undefined> {
  for (const pid of await descendantsOf(rootPid)) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes('lazy-pages')) return pid;
  }
  return undefined;
}

/** A whole restore command per run (`defrost restore DIR`, `node .../bin.js restore DIR`, or the stand-in). */
export function restoreCommandContender(o: {
  id: ContenderId;
  pc: ProcessControl;
  /** The program started (default: this node). */
  file?: string;
  args: readonly string[];
  imageDir: string;
  env: NodeJS.ProcessEnv;
  origin: string;
  command: string;
  full: boolean;
  note?: string;
}): Contender {
  return {
    id: o.id,
    info: { command: o.command, ...(o.note ? { note: o.note } : {}) },
    origin: o.origin,
    full: o.full,
    async start(logFile) {
      const startedAt = performance.now();
      const t = o.pc.spawn(o.id, o.file ?? process.execPath, o.args, { env: o.env, logFile });
      const log = () => readFile(logFile, 'utf8').catch(() => '');
      const line = async () => parseRestoredLine(await log());
      const serverPid = async (): Promise<number> => {
        // The CLI names the PID once the server is ready; until then, walk /proc from the CLI down.
        const pid = (await line())?.pid ?? (await restoredPidBelow(t.pid));
        if (pid === undefined)
          throw new Error(`cannot find the restored server under pid ${t.pid} (log: ${logFile})`);
        o.pc.adopt([pid]);
        return pid;
      };
      return {
        startedAt,
        logFile,
        failed: () => exited(t, 'the restore command'),
        serverPid,
        async extras() {
          const reported = await line();
          const criu = await readRestoreFacts(await serverPid(), o.imageDir);
          const restorePath = parseRestorePath(await log());
          return {
            ...(reported ? { reportedRestoreMs: reported.ms } : {}),
            ...(criu ? { criu } : {}),
            ...(restorePath ? { restorePath } : {}),
          };
        },
        async pagesResident() {
          const lookedAt = performance.now();
          const daemon = await lazyPagesDaemonBelow(t.pid);
          if (daemon !== undefined)
            return (await waitForPidGone(daemon, 60_000, false, 2)) ? performance.now() : undefined;
          // A daemon already done by the first response: that is the bound we know.
          if (o.args.includes('--lazy-pages')) return lookedAt;
          // The restorer may print its line a little after the server answered (the full path
          // writes the launch plan first): wait for it.
          for (const deadline = performance.now() + 5_000; performance.now() < deadline; ) {
            const reported = await line();
            if (reported) return startedAt + reported.ms;
            await new Promise((resolve) => setTimeout(resolve, 2));
          }
          return undefined;
        },
        stop: async () => {
          await o.pc.stop(t);
        },
      };
    },
  };
}

type Reply = RestorerReply;

/** A pre-started process that restores through `restore()` of @defrost/core on request. */
export async function coreApiContender(o: {
  pc: ProcessControl;
  helper: string;
  imageDir: string;
  env: NodeJS.ProcessEnv;
  origin: string;
  logFile: string;
}): Promise<{ contender: Contender; close: () => Promise<void> }> {
  const t = o.pc.spawn('core API restorer', process.execPath, [o.helper], {
    env: o.env,
    logFile: o.logFile,
    ipc: true,
  });
  const child: ChildProcess = t.child;
  const next = (): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const onMessage = (m: Reply): void => {
        child.off('exit', onExit);
        resolve(m);
      };
      const onExit = (): void => {
        child.off('message', onMessage);
        reject(new Error(`the core API restorer ended (log: ${o.logFile})`));
      };
      child.once('message', onMessage);
      child.once('exit', onExit);
    });
  const hello = await next();
  if (hello.type !== 'stopped')
    throw new Error(`the core API restorer did not start: ${JSON.stringify(hello)}`);

  const contender: Contender = {
    id: 'defrost (core API)',
    info: {
      command: `restore(${JSON.stringify(o.imageDir)}) of @defrost/core, in a process started once before all runs`,
      note: 'the same restore as the CLI minus the CLI process itself (Node start, module loading)',
    },
    origin: o.origin,
    full: true,
    async start() {
      let failure: string | undefined;
      let restored: Extract<Reply, { type: 'restored' }> | undefined;
      const startedAt = performance.now();
      const reply = next();
      child.send({ type: 'restore', imageDir: o.imageDir });
      const outcome = reply.then(
        (m) => {
          if (m.type === 'restored') restored = m;
          else failure = m.type === 'error' ? m.message : `unexpected ${m.type}`;
          return m;
        },
        (error: Error) => {
          failure = error.message;
          return undefined;
        },
      );
      const exitWatch = (m: Reply): void => {
        if (m.type === 'exited') failure = `the restored server ended (status ${m.status})`;
      };
      child.on('message', exitWatch);
      return {
        startedAt,
        logFile: o.logFile,
        failed: () => failure ?? exited(t, 'the core API restorer'),
        async serverPid() {
          await outcome;
          if (!restored) throw new Error(failure ?? 'restore failed');
          o.pc.adopt([restored.pid, restored.launcherPid]);
          return restored.pid;
        },
        async extras() {
          await outcome;
          const criu = restored ? await readRestoreFacts(restored.pid, o.imageDir) : undefined;
          return {
            ...(restored ? { reportedRestoreMs: restored.readyMs } : {}),
            ...(restored?.checksMs !== undefined ? { checksMs: restored.checksMs } : {}),
            ...(criu ? { criu } : {}),
          };
        },
        async pagesResident() {
          // restore() here is eager: every page is in memory before the server resumes.
          await outcome;
          return restored ? startedAt + restored.readyMs : undefined;
        },
        async stop() {
          await outcome;
          child.off('message', exitWatch);
          if (!restored || t.exit) return;
          const done = next();
          child.send({ type: 'stop' });
          const m = await done;
          if (m.type === 'error') throw new Error(`stopping the restored server: ${m.message}`);
          await o.pc.reap([restored.pid, restored.launcherPid]);
        },
      };
    },
  };
  return {
    contender,
    close: async () => {
      await o.pc.stop(t, 5_000);
    },
  };
}
