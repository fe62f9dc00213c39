import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { CRIU_SERVICE_ENV, type CriuService, startCriuService } from '../criu/service.js';
import { LaunchError } from '../errors.js';
import { findOnPath } from '../process/find-executable.js';
import { withoutIoUring } from './io-uring-filter.js';

/** An app started so that it can freeze itself, and the criu service its checkpoint goes through. */
export interface FreezableApp {
  readonly child: ChildProcess;
  /** Runs outside the app's seccomp filter; stop it once the app will not checkpoint any more. */
  readonly criu: CriuService;
  /** The program that was run (the command's first word, found on PATH). */
  readonly program: string;
}

export interface FreezableSpawnOptions extends Omit<SpawnOptions, 'env'> {
  readonly env?: NodeJS.ProcessEnv;
  readonly criuBinary?: string;
}

/**
 * Starts `command` under the seccomp filter that keeps io_uring out (launch/io-uring-filter.ts),
 * as every app defrost starts cold runs: the ones it freezes, and the cold starts a restore falls
 * back to, so that both behave like the restored copies (epoll, not io_uring).
 */
export async function spawnWithoutIoUring(
  command: readonly string[],
  options: SpawnOptions & { readonly env?: NodeJS.ProcessEnv } = {},
): Promise<{ readonly child: ChildProcess; readonly program: string }> {
  const env = options.env ?? process.env;
  const [file] = command;
  if (!file) throw new LaunchError('no command to run', 'give the command after --, e.g. -- node app.js');
  const program = await findOnPath(file, env.PATH);
  if (!program) {
    throw new LaunchError(
      `${file}: command not found (PATH=${env.PATH ?? ''})`,
      'give the command after --, e.g. `-- node app.js`, with a program that is on PATH',
    );
  }
  if (!(await findOnPath('perl', env.PATH))) {
    throw new LaunchError(
      'perl is missing: defrost starts apps and restores images through it',
      'install it (Debian and Ubuntu: apt-get install perl-base)',
    );
  }
  const filtered = withoutIoUring(command, { program });
  return { child: spawn(filtered.file, filtered.args, { ...options, env }), program };
}

/**
 * Starts `command` the way every app defrost freezes is started: without io_uring
 * (spawnWithoutIoUring), with a criu service started here, outside the filter, whose address the
 * app's checkpoint finds in DEFROST_CRIU_SERVICE.
 */
export async function spawnFreezable(
  command: readonly string[],
  options: FreezableSpawnOptions = {},
): Promise<FreezableApp> {
  const { env = process.env, criuBinary, ...spawnOptions } = options;
  if (!(await findOnPath('setpriv', env.PATH))) {
    throw new LaunchError(
      'setpriv is missing: defrost runs its criu service under `setpriv --pdeathsig KILL`, so that it ends with the launcher',
      'install it (Debian and Ubuntu: apt-get install util-linux)',
    );
  }
  const criu = await startCriuService(criuBinary);
  try {
    const { child, program } = await spawnWithoutIoUring(command, {
      ...spawnOptions,
      env: { ...env, [CRIU_SERVICE_ENV]: criu.address },
    });
    // A child that never started (spawn error) must not leave the service behind.
    child.once('error', () => void criu.stop());
    return { child, criu, program };
  } catch (error) {
    await criu.stop();
    throw error;
  }
}
