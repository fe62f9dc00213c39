/** `defrost`: the command line. main() parses, runs one command and returns the exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { checkpointCommand, DEFAULT_TIMEOUT_S } from './commands/checkpoint.js';
import { doctorCommand } from './commands/doctor.js';
import { inspectCommand } from './commands/inspect.js';
import { pullCommand } from './commands/pull.js';
import { pushCommand } from './commands/push.js';
import { restoreCommand } from './commands/restore.js';
import { exitCodeFor } from './errors.js';
import { EXIT } from './exit-codes.js';
import { envPair, port, positiveInt, seconds } from './options.js';
import { type Io, printError } from './output.js';
import { addRegistryOptions, type RegistryArgs } from './registry.js';

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

const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  failure (the message says what happened and what to do)
  2  usage error (unknown option, missing or bad argument)
  3  environment not ready (a \`defrost doctor\` check failed, e.g. CRIU missing or < 4.2)
  4  image refused (missing, exists already, corrupt, wrongly signed, incompatible)
  5  checkpoint failed (the app failed, exited early or timed out)
  restore and checkpoint --keep-running exit with the server's own status once it runs
  (128+N when it was ended by signal N); restore --fallback with the cold command's.

Environment:
  NO_COLOR=1        no colour (colour is used only on a terminal anyway)
  DEFROST_DEBUG=1   stack traces with errors
  REGISTRY_AUTH_FILE, DOCKER_CONFIG   registry credentials, as podman and docker take them`;

function examples(lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

export function buildProgram(io: Io, run: (code: Promise<number>) => Promise<void>): Command {
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
        '$ defrost checkpoint --image ./images/app -- node app.js',
        '$ defrost inspect ./images/app',
        '$ defrost restore ./images/app --fallback -- node app.js',
        '$ defrost push ./images/app registry.example:5000/team/app:1',
        '$ defrost restore registry.example:5000/team/app:1 --fallback -- node app.js',
      ])}\n${EXIT_CODES_HELP}`,
    );

  program
    .command('doctor')
    .description('check that this machine can checkpoint and restore (CRIU, kernel, privileges, Node)')
    .option('--json', 'print the report as JSON')
    .option('--fix', 'install CRIU >= 4.2 (scripts/install-criu.sh) when it is missing or too old')
    .addHelpText(
      'after',
      `${examples(['$ defrost doctor', '$ defrost doctor --json | jq \'.checks[] | select(.status != "pass")\'', '$ sudo defrost doctor --fix'])}

Exits 3 when a check fails, 0 otherwise (warnings included).`,
    )
    .action((o: { json?: boolean; fix?: boolean }) => run(doctorCommand(o, io)));

  program
    .command('checkpoint')
    .description('start a server, let @defrost/fastify warm it up, and freeze it into an image directory')
    .requiredOption('-i, --image <dir>', 'image directory to write (must not exist, unless --force)')
    .option(
      '--keep-running',
      'keep the server running after the checkpoint (stays attached; Ctrl-C stops it)',
    )
    .option(
      '-f, --force',
      'replace an existing image (the old one stays valid until the new one is complete)',
    )
    .option('--signing-key-file <file>', 'sign the image with the key in this file (HMAC-SHA256)')
    .addOption(
      new Option('--timeout <seconds>', 'give up when no image is written within this time')
        .argParser(seconds)
        .default(DEFAULT_TIMEOUT_S),
    )
    .argument('<command...>', 'the command that starts the server, after --')
    .passThroughOptions()
    .addHelpText(
      'after',
      `${examples([
        '$ defrost checkpoint --image ./images/app -- node app.js',
        '$ defrost checkpoint --image ./images/app --force --signing-key-file ./key -- node --max-old-space-size=512 app.js',
        '$ defrost checkpoint --image ./images/app --keep-running -- npm start',
      ])}

The server must register @defrost/fastify. It runs in its own session with
DEFROST_CHECKPOINT_IMAGE/_MODE/_FORCE, DEFROST_PROGRESS_FILE, UV_USE_IO_URING=0 and
NODE_OPTIONS=--expose-gc set; its output goes to this terminal.
Exits 0 when the image is written and verifies, 4 when the image directory exists,
5 when the checkpoint fails (the server is stopped).`,
    )
    .action(
      (
        command: string[],
        o: {
          image: string;
          keepRunning?: boolean;
          force?: boolean;
          signingKeyFile?: string;
          timeout: number;
        },
      ) => run(checkpointCommand({ ...o, command }, io)),
    );

  const restore = program
    .command('restore')
    .description(
      'restore a server from an image (verified first), supervised: signals forwarded, exit status passed on',
    )
    .argument('<dir>', "the image directory, or a registry REF (pulled into defrost's cache, verified)")
    .argument('[command...]', 'with --fallback: the cold-start command, after --')
    .addOption(
      new Option('-n, --copies <n>', 'restore this many copies at once').argParser(positiveInt).default(1),
    )
    .addOption(new Option('-p, --port <port>', 'port the restored server listens on').argParser(port))
    .option('-e, --env <KEY=VALUE>', 'environment for the restored server (repeatable)', envPair, [])
    .option('--env-file <file>', 'environment from a dotenv file (--env wins)')
    .option('--signing-key-file <file>', 'refuse the image unless it is signed with the key in this file')
    .option('--fallback', 'when the image cannot be restored, say why and run the command after -- instead')
    .option(
      '--lazy-pages',
      'page memory in on demand (userfaultfd); falls back to an eager restore on failure',
    )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost restore ./images/app',
        '$ defrost restore ./images/app --port 8080 --env-file .env.production --env LOG_LEVEL=warn',
        '$ defrost restore ./images/app --copies 3',
        '$ defrost restore ./images/app --fallback -- node app.js',
        '$ defrost restore registry.example:5000/team/app:1 --ca-file ./registry-ca.crt',
      ])}

A REF (REGISTRY[:PORT]/NAME[:TAG|@sha256:DIGEST], when no such path exists) is pulled into
defrost's cache, one directory per manifest digest, verified, and restored from there; a
second restore of the same digest downloads nothing.
Prints "defrost: restored DIR in N ms (pid P)" on stderr for each copy. SIGINT/SIGTERM/SIGHUP
are forwarded to every copy; exits with the first non-zero status of the copies (else 0).
Without --fallback: exits 4 when the image is refused, 3 when CRIU is not usable, 1 when the
restore itself fails.`,
    )
    .action(
      (
        dir: string,
        command: string[],
        o: {
          copies: number;
          port?: number;
          env: [string, string][];
          envFile?: string;
          signingKeyFile?: string;
          fallback?: boolean;
          lazyPages?: boolean;
        } & RegistryArgs,
      ) => run(restoreCommand({ ...o, dir, command }, io)),
    );
  addRegistryOptions(restore);

  addRegistryOptions(
    program
      .command('push')
      .description('upload an image to an OCI registry (zstd blobs, only those it does not hold yet)')
      .argument('<dir>', 'the image directory')
      .argument('<ref>', 'REGISTRY[:PORT]/NAME[:TAG], e.g. registry.example:5000/team/app:1')
      .addOption(
        new Option('--chunk-size <MiB>', 'upload blobs larger than this in chunks of this size').argParser(
          positiveInt,
        ),
      ),
  )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost push ./images/app registry.example:5000/team/app:1',
        '$ REGISTRY_AUTH_FILE=./auth.json defrost push ./images/app ghcr.io/team/app:1',
        '$ defrost push ./images/app 127.0.0.1:5000/app:1   # plain HTTP: loopback only',
      ])}

Verifies the image first. Prints REF@sha256:DIGEST on stdout (the image pinned, for scripts).
Plain HTTP is only used for loopback registries; anything else is HTTPS (--ca-file to trust a
private CA, --tls-verify=false to skip the checks). Credentials come from REGISTRY_AUTH_FILE,
podman's auth.json or docker's config.json (\`podman login\` writes them); credential helpers
are not run. Exits 4 when the image does not verify, 1 when the registry fails or refuses.`,
    )
    .action((dir: string, ref: string, o: { chunkSize?: number } & RegistryArgs) =>
      run(pushCommand({ ...o, dir, ref }, io)),
    );

  addRegistryOptions(
    program
      .command('pull')
      .description('download an image from an OCI registry into a directory, verified before it appears')
      .argument('<ref>', 'REGISTRY[:PORT]/NAME[:TAG] or REGISTRY[:PORT]/NAME@sha256:DIGEST')
      .argument('<dir>', 'the image directory to write (absent or empty, unless --force)')
      .option(
        '-f, --force',
        'replace an existing image (the old one stays valid until the new one is complete)',
      )
      .option('--signing-key-file <file>', 'refuse the image unless it is signed with the key in this file'),
  )
    .addHelpText(
      'after',
      `${examples([
        '$ defrost pull registry.example:5000/team/app:1 ./images/app',
        '$ defrost pull registry.example:5000/team/app@sha256:... ./images/app --signing-key-file ./key',
      ])}

Checks the manifest against its digest, every blob against its digest and every file against
its sha256 in defrost.json (and the signature with --signing-key-file) before anything appears
at DIR. Prints REF@sha256:DIGEST on stdout. Exits 4 when the image is refused (damaged,
tampered with, not a defrost image, DIR exists), 1 when the registry fails or refuses.`,
    )
    .action((ref: string, dir: string, o: { force?: boolean; signingKeyFile?: string } & RegistryArgs) =>
      run(pullCommand({ ...o, ref, dir }, io)),
    );

  program
    .command('inspect')
    .description('show what an image holds and whether it can be restored on this machine')
    .argument('<dir>', 'the image directory')
    .option('--json', 'print the report as JSON')
    .option('--signing-key-file <file>', 'also check the signature with the key in this file')
    .addHelpText(
      'after',
      `${examples(['$ defrost inspect ./images/app', '$ defrost inspect ./images/app --json | jq .sizes'])}

Verifies the sha256 of every file. Exits 4 when the image is damaged, wrongly signed or
cannot be restored here (other node binary or CPU), 0 otherwise.`,
    )
    .action((dir: string, o: { json?: boolean; signingKeyFile?: string }) =>
      run(inspectCommand({ ...o, dir }, io)),
    );

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
