/** Short commands (ip, podman, buildah, skopeo) whose failure must say what ran and what it printed. */
import { execFile } from 'node:child_process';

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly cwd?: string;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly code: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`\`${command.join(' ')}\` failed (${code}):\n${stderr.trim() || stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs a command to its end; rejects with its output when it exits non-zero or times out. */
export function run(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      {
        env: o.env ?? process.env,
        timeout: o.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        ...(o.cwd ? { cwd: o.cwd } : {}),
      },
      (error, stdout, stderr) => {
        if (error) {
          const code = (error as { code?: number | string }).code ?? error.signal ?? null;
          reject(new CommandError([file, ...args], code, stdout, stderr));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
  });
}
