/** `defrost`: the command line. main() parses, runs one command and returns the exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCheckpointCommand } from './commands/checkpoint/register.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerPullCommand } from './commands/pull.js';
import { registerPushCommand } from './commands/push.js';
import { registerRestoreCommand } from './commands/restore.js';
import { registerRunCommand } from './commands/run.js';
import { exitCodeFor } from './errors.js';
import { EXIT } from './exit-codes.js';
import { EXIT_CODES_HELP, examples, type RegisterCommand, type Run } from './help.js';
import { type Io, printError } from './output.js';

export { EXIT } from './exit-codes.js';
export type { Io } from './output.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** In the order `defrost --help` lists them. */
const COMMANDS: readonly RegisterCommand[] = [
  registerDoctorCommand,
  registerCheckpointCommand,
  registerRunCommand,
  registerRestoreCommand,
  registerPushCommand,
  registerPullCommand,
  registerInspectCommand,
];

export function buildProgram(io: Io, run: Run): Command {
  const program = new Command('defrost')
    .description('Freeze a warmed-up Node.js server with CRIU, and restore it in milliseconds.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (str) => io.stdout.write(str),
      writeErr: (str) => io.stderr.write(str),
      // Errors are printed by main() as one line; help output still goes through writeErr.
      outputError: () => {},
    })
    .addHelpText(
      'after',
      `${examples([
        '$ defrost doctor',
        '$ defrost checkpoint --image ./images/app -- node server.js',
        '$ defrost inspect ./images/app',
        '$ defrost restore ./images/app --fallback -- node server.js',
        '$ defrost push ./images/app registry.example:5000/team/app:1',
        '$ defrost restore registry.example:5000/team/app:1 --fallback -- node server.js',
      ])}\n${EXIT_CODES_HELP}`,
    );
  for (const register of COMMANDS) register(program, io, run);
  return program;
}

/** The command name in argv, for "see `defrost X --help`". */
function commandIn(program: Command, argv: readonly string[]): string | undefined {
  const names = new Set(program.commands.map((c) => c.name()));
  return argv.find((a) => names.has(a));
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  let result: number = EXIT.OK;
  // Actions return their promise, so parseAsync awaits the command and its errors land below.
  const program = buildProgram(io, async (code) => {
    result = await code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.OK;
      if (error.code === 'commander.help') return EXIT.USAGE; // `defrost` alone: help on stderr
      const command = commandIn(program, argv);
      const message = error.message
        .replace(/^error:\s*/, '')
        .replace(/\s*\n\s*/g, ' ')
        .trim();
      io.stderr.write(`defrost: ${message}; see \`defrost ${command ? `${command} ` : ''}--help\`\n`);
      return EXIT.USAGE;
    }
    printError(io, error);
    return exitCodeFor(error);
  }
}
