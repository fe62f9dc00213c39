// The real server as a child process (`node dist/server.js`): started on a free port with its own data dir,
// stopped by its PID, and waited for.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const APP_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const SERVER_ENTRY = fileURLToPath(new URL('../../dist/server.js', import.meta.url));

export interface RunningServer {
  readonly baseUrl: string;
  readonly pid: number;
  readonly readyLine: string;
  /** Everything the server printed so far. */
  output(): string;
  /** SIGTERM (or the given signal), then waits for the exit; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  readonly dataDir: string;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

export async function startServer(options: StartOptions): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, [SERVER_ENTRY], {
    cwd: APP_DIR,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', BLOG_DATA_DIR: options.dataDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const readyLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not get ready in time; output:\n${out}`));
    }, options.timeoutMs ?? 60_000);
    const check = (): void => {
      const line = out.split('\n').find((l) => l.startsWith('blog: ready in '));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before it was ready; output:\n${out}`));
    });
  });
  const match = / on (http:\/\/[^\s]+)/.exec(readyLine);
  if (!match?.[1]) throw new Error(`no address in the ready line: ${readyLine}`);
  const pid = child.pid;
  if (pid === undefined) throw new Error('server has no pid');

  return {
    baseUrl: match[1],
    pid,
    readyLine,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      process.kill(pid, signal);
      return exited;
    },
  };
}
