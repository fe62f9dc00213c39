/** What every phase of a bench run shares: where it works, the app's address, how servers run. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchArgs } from '../args.js';
import { type Contender, coldContender, type ServerHandle } from '../contenders.js';
import { isListening } from '../probes/http.js';
import type { ProcessControl } from '../process/control.js';
import { BenchError, freePort, logTail, type Paths, relativeToRepo, serverEnv } from '../setup.js';

export interface BenchIo {
  readonly pc: ProcessControl;
  /** Told where the work directory is as soon as it exists (to clean it up after a signal). */
  onWorkDir?(dir: string): void;
  progress(message: string): void;
  warn(message: string): void;
}

export interface RunContext {
  readonly io: BenchIo;
  readonly args: BenchArgs;
  readonly paths: Paths;
  readonly work: string;
  /** The app as the report names it (relative to the repository). */
  readonly appName: string;
  readonly dataDir: string;
  readonly appPort: number;
  readonly origin: string;
  readonly appEnv: NodeJS.ProcessEnv;
  /** A fresh, numbered log file per server start, in start order. */
  logFile(name: string): string;
  /** A port none of the bench's servers uses yet. */
  anotherPort(): Promise<number>;
}

export async function createContext(
  io: BenchIo,
  args: BenchArgs,
  paths: Paths,
  work: string,
): Promise<RunContext> {
  const logs = join(work, 'logs');
  const dataDir = join(work, 'data');
  await mkdir(logs);
  let logSeq = 0;
  const usedPorts = new Set<number>();
  const anotherPort = async (): Promise<number> => {
    let port = await freePort();
    while (usedPorts.has(port)) port = await freePort();
    usedPorts.add(port);
    return port;
  };
  const appPort = await anotherPort();
  return {
    io,
    args,
    paths,
    work,
    appName: relativeToRepo(paths.app),
    dataDir,
    appPort,
    origin: `http://127.0.0.1:${appPort}`,
    appEnv: serverEnv({ PORT: String(appPort), BLOG_DATA_DIR: dataDir }),
    logFile: (name) =>
      join(logs, `${String(++logSeq).padStart(4, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.log`),
    anotherPort,
  };
}

/** A cold start of `entry` on the app's port, for setup work nobody times. */
export function startPlain(
  ctx: RunContext,
  entry: string,
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<ServerHandle> {
  return coldContender({ id: 'cold', pc: ctx.io.pc, entry, env, origin: ctx.origin, command: '' }).start(log);
}

/** Refuses to start over another server, and always stops what it started. */
export async function withServer<T>(
  ctx: RunContext,
  start: () => Promise<ServerHandle>,
  body: (h: ServerHandle) => Promise<T>,
  c?: Contender,
): Promise<T> {
  const where = c?.origin ?? ctx.origin;
  if (await isListening(where)) {
    throw new BenchError(`something already answers on ${where}: refusing to measure (a leftover server?)`);
  }
  const h = await start();
  try {
    return await body(h);
  } catch (error) {
    if (error instanceof BenchError) throw error;
    throw new BenchError(
      `${c?.id ?? 'setup'}: ${(error as Error).message}\n  server log ${h.logFile}:${await logTail(h.logFile)}`,
    );
  } finally {
    await h.stop();
  }
}
