import { type Command, Option } from 'commander';
import { examples, type Run } from '../../help.js';
import { positiveInt, seconds } from '../../options.js';
import type { Io } from '../../output.js';
import { auditPair } from './agent-options.js';
import { type CheckpointArgs, checkpointCommand, DEFAULT_TIMEOUT_S } from './index.js';

/** The flags of the zero-code agent, shared by `checkpoint` and `run`. */
export function addAgentOptions(command: Command): Command {
  return command
    .option(
      '--warmup <file>',
      "warm-up requests: a JSON file in the plugin's `warmup` format (default: GET /)",
    )
    .option(
      '--warmup-url <path>',
      'warm up with GET PATH (repeatable; instead of GET /)',
      (v: string, p: string[] = []) => [...p, v],
    )
    .addOption(
      new Option('--warmup-rounds <n>', 'rounds over the warm-up requests (default 300)').argParser(
        positiveInt,
      ),
    )
    .addOption(
      new Option(
        '--warmup-port <port>',
        'warm up the server on this port (default: the last to listen)',
      ).argParser(positiveInt),
    )
    .option('--no-warmup', 'no warm-up: checkpoint the server as it is')
    .option(
      '--audit <kind=action>',
      'audit policy for a kind of resource, e.g. tcpConnection=warn (repeatable)',
      auditPair,
    )
    .addOption(
      new Option(
        '--listen-timeout <seconds>',
        'give up when the app has not listened within this time (default 30)',
      ).argParser(seconds),
    )
    .addOption(
      new Option(
        '--drain-timeout <seconds>',
        'how long in-flight requests may take to finish (default 10)',
      ).argParser(seconds),
    );
}

interface CheckpointFlags extends Omit<CheckpointArgs, 'command' | 'warmup'> {
  readonly warmup?: string | boolean;
}

export function registerCheckpointCommand(program: Command, io: Io, run: Run): void {
  const command = program
    .command('checkpoint')
    .description('start a Node server, warm it up over HTTP and freeze it into an image directory')
    .requiredOption('-i, --image <dir>', 'image directory to write (must not exist, unless --force)')
    .option(
      '--keep-running',
      'keep the server running after the checkpoint (stays attached; Ctrl-C stops it)',
    )
    .option(
      '-f, --force',
      'replace an existing image (the old one stays valid until the new one is complete)',
    )
    .option(
      '--signing-key-file <file>',
      'sign the image with the key in this file (HMAC-SHA256; 32 bytes or more)',
    )
    .addOption(
      new Option(
        '--pid <pid>',
        'checkpoint a server started by `defrost run`, without restarting it',
      ).argParser(positiveInt),
    )
    .option('--stop', 'with --pid: end the server once the image is written (it keeps serving otherwise)')
    .addOption(
      new Option('--timeout <seconds>', 'give up when no image is written within this time')
        .argParser(seconds)
        .default(DEFAULT_TIMEOUT_S),
    )
    .argument('[command...]', 'the command that starts the server, after --')
    .passThroughOptions();
  addAgentOptions(command)
    .addHelpText(
      'after',
      `${examples([
        '$ defrost checkpoint --image ./images/app -- node server.js',
        '$ defrost checkpoint --image ./images/app --warmup-url / --warmup-url /api/books -- node server.js',
        '$ defrost checkpoint --image ./images/app --force --signing-key-file ./key -- npm start',
        '$ defrost run -- node server.js & defrost checkpoint --image ./images/app --pid PID',
      ])}

Any Node server works as it is (Express, Koa, Hono, Fastify, NestJS, plain node:http): once it
listens, defrost warms it up over HTTP, closes what it knows (idle keep-alive connections,
fetch's and http's connection pools, pino destinations) and freezes it; the audit names what it
cannot close, with the fix. An app that registers @defrost/fastify is checkpointed by the plugin
(its options apply). The app runs in its own session, without io_uring (a seccomp filter), with
a criu service outside it, and with NODE_OPTIONS=--import <agent> --expose-gc.
Exits 0 when the image is written and verifies, 4 when the image directory exists, 5 when the
checkpoint fails (the server is stopped, or keeps serving with --pid).`,
    )
    .action((commandLine: string[], o: CheckpointFlags) => {
      const warmup = o.warmup === false ? false : typeof o.warmup === 'string' ? o.warmup : undefined;
      return run(checkpointCommand({ ...o, warmup, command: commandLine }, io));
    });
}
