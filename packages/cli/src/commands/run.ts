import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { onSignals, sendSignal } from '../child.js';
import { CliError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { colorEnabled, type Io, shellQuote, stylesFor } from '../output.js';
import { ProgressLine } from '../progress.js';
import { type AgentFlags, agentConfig } from './checkpoint/agent-options.js';
import { appEnv } from './checkpoint/env.js';
import { addAgentOptions } from './checkpoint/register.js';
import { startApp } from './checkpoint/start.js';

export interface RunArgs extends AgentFlags {
  readonly command: readonly string[];
}

/**
 * `defrost run -- COMMAND`: runs a server so that it can be checkpointed later from outside
 * (`defrost checkpoint --pid PID`), without being restarted: started as every app defrost
 * freezes is (no io_uring, a criu service outside it, the agent preloaded), with a private run
 * directory where checkpoint requests arrive. Stays attached: signals are forwarded, and it exits
 * with the server's status.
 */
export async function runCommand(args: RunArgs, io: Io): Promise<number> {
  if (args.command.length === 0) {
    throw new CliError(
      'no command to run',
      EXIT.USAGE,
      'give it after --, e.g. `defrost run -- node server.js`',
    );
  }
  const shown = shellQuote(args.command);
  const runDir = await mkdtemp(join(tmpdir(), 'defrost-run-'));
  const display = new ProgressLine(io.stderr, stylesFor(colorEnabled(io.stderr, io.env)), false);
  try {
    const env = appEnv(io.env, { runDir, agent: await agentConfig(args) });
    const app = await startApp(args.command, env, io, display, shown);
    const removeSignals = onSignals((signal) => sendSignal(app.pid, signal));
    try {
      io.stderr.write(
        `defrost: running ${shown} (pid ${app.pid}); checkpoint it with \`defrost checkpoint --image DIR --pid ${app.pid}\`\n`,
      );
      const end = await app.ended;
      await app.drained();
      return end.error ? EXIT.FAILURE : end.status;
    } finally {
      removeSignals();
      await app.close();
    }
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

export function registerRunCommand(program: Command, io: Io, run: Run): void {
  const command = program
    .command('run')
    .description('run a server so that `defrost checkpoint --pid` can freeze it later, without a restart')
    .argument('<command...>', 'the command that starts the server, after --')
    .passThroughOptions();
  addAgentOptions(command)
    .addHelpText(
      'after',
      `${examples([
        '$ defrost run -- node server.js',
        '$ defrost checkpoint --image ./images/app --pid 4242           # it keeps serving',
        '$ defrost checkpoint --image ./images/app --pid 4242 --stop    # it ends once written',
      ])}

The server runs without io_uring (a seccomp filter), with a criu service outside it and the
zero-code agent preloaded, which answers checkpoint requests (SIGUSR2 plus a request file in a
private run directory) with the same warm-up and checkpoint as \`defrost checkpoint\`.
Exits with the server's status.`,
    )
    .action((commandLine: string[], o: Omit<RunArgs, 'command'>) =>
      run(runCommand({ ...o, command: commandLine }, io)),
    );
}
