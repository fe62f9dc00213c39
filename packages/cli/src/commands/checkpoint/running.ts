import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, waitForPidGone } from '@defrost/core/internal';
import { statusOf } from '../../child.js';
import { CliError } from '../../errors.js';
import { EXIT } from '../../exit-codes.js';
import type { Io } from '../../output.js';
import type { ProgressLine } from '../../progress.js';
import { followCheckpoint, type Outcome } from './follow.js';
import { checkpointFailed, printSummary } from './summary.js';

/**
 * `defrost checkpoint --pid PID`: the checkpoint of a server that runs already, started by
 * `defrost run` (like `jcmd PID JDK.checkpoint` for a JVM). The request goes into the run
 * directory that `defrost run` gave the server; SIGUSR2 tells its agent to read it. The server is
 * not restarted, and keeps serving afterwards unless --stop.
 */
export interface RunningCheckpoint {
  readonly imageDir: string;
  readonly progressFile: string;
  readonly signingKey: Buffer | undefined;
  readonly force?: boolean;
  readonly stop?: boolean;
  readonly timeout: number;
}

/** The run directory of a server started by `defrost run` (from the environment it started with). */
async function runDirOf(pid: number): Promise<string> {
  const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new CliError(
      error.code === 'ENOENT'
        ? `no process ${pid}`
        : `cannot read the environment of process ${pid}: ${error.message}`,
      EXIT.USAGE,
    );
  });
  const runDir = environ
    .split('\0')
    .find((v) => v.startsWith('DEFROST_RUN_DIR='))
    ?.slice('DEFROST_RUN_DIR='.length);
  const owned = runDir
    ? await stat(runDir).then(
        (st) => st.isDirectory() && st.uid === process.geteuid?.() && (st.mode & 0o077) === 0,
        () => false,
      )
    : false;
  if (!runDir || !owned) {
    throw new CliError(
      `process ${pid} was not started by \`defrost run\` (or its run is over), so it cannot be checkpointed from outside`,
      EXIT.USAGE,
      'start the server with `defrost run -- COMMAND`; `defrost checkpoint --image DIR -- COMMAND` checkpoints a server it starts itself',
    );
  }
  return runDir;
}

/** Resolves (as a failure) when the process is gone. */
async function goneOutcome(pid: number): Promise<Outcome> {
  while (await isAlive(pid)) await sleep(100);
  return { kind: 'failed', message: `the server (pid ${pid}) exited before its image was written` };
}

export async function checkpointRunning(
  pid: number,
  o: RunningCheckpoint,
  io: Io,
  display: ProgressLine,
): Promise<number> {
  const runDir = await runDirOf(pid);
  const request = {
    imageDir: o.imageDir,
    mode: o.stop ? 'exit' : 'continue',
    force: o.force ?? false,
    progressFile: o.progressFile,
  };
  await writeFile(join(runDir, 'request.json'), JSON.stringify(request), { mode: 0o600 });
  process.kill(pid, 'SIGUSR2');
  display.update(`asked the server (pid ${pid}) to checkpoint itself`, true);
  const followed = await followCheckpoint({
    io,
    display,
    progressFile: o.progressFile,
    timeoutS: o.timeout,
    stopAtCheckpoint: true,
    alsoEnd: goneOutcome(pid),
  });
  followed.release();
  display.finish();
  const { outcome } = followed;
  if (outcome.kind === 'interrupted') {
    io.stderr.write(`defrost: interrupted by ${outcome.signal}; the server (pid ${pid}) goes on\n`);
    return statusOf(null, outcome.signal);
  }
  if (outcome.kind === 'timeout')
    throw checkpointFailed(`no checkpoint within ${o.timeout} s (last step: ${followed.lastStep})`);
  if (outcome.kind !== 'checkpointed') {
    const message = outcome.kind === 'failed' ? outcome.message : 'the server did not checkpoint';
    throw checkpointFailed(`${message}${(await isAlive(pid)) ? '; the server keeps serving' : ''}`);
  }
  if (o.stop) await waitForPidGone(pid, 10_000, true);
  await printSummary(io, {
    imageDir: o.imageDir,
    signingKey: o.signingKey,
    event: followed.checkpointed!,
    warmup: followed.warmup,
    shown: `pid ${pid}`,
  });
  return EXIT.OK;
}
