/** Command-line arguments of `pnpm bench`. Pure parsing: no file system, no defaults that need I/O. */
import { type ParseArgsOptionsConfig, parseArgs as parseArgv } from 'node:util';

export interface BenchArgs {
  /** Measured rounds (each contender once per round, interleaved). */
  readonly runs: number;
  /** Server entry of the app under test; undefined: the blog. */
  readonly app: string | undefined;
  readonly json: boolean;
  /** Where results.json and chart.svg go; undefined: benchmarks/results/<timestamp>/. */
  readonly out: string | undefined;
  readonly quick: boolean;
  /** Keep the work directory (images, logs, data) instead of deleting it. */
  readonly keep: boolean;
  /** Untimed rounds before the measured ones. */
  readonly warmupRounds: number;
  /** How long the steady-state server is loaded before it is measured. */
  readonly steadyWarmupMs: number;
  readonly help: boolean;
}

export const DEFAULT_RUNS = 5;
export const QUICK_RUNS = 2;
const MAX_RUNS = 1000;

export const USAGE = `usage: pnpm bench [-- options]

Cold start against a defrost restore of the same app, interleaved, measured as an HTTP client sees it.

  --runs N     measured rounds (default ${DEFAULT_RUNS}; --quick: ${QUICK_RUNS}); one untimed warm-up round comes first
  --node V     the Node.js to run on, from scripts/node-versions (default: its first line, Node 24);
               chosen by \`pnpm bench\` (scripts/bench.sh) before this program starts
  --app PATH   server entry of any Node server, with @defrost/fastify or none (default: apps/blog/dist/server.js);
               it must listen on $PORT at 127.0.0.1 and answer GET / with 200
  --json       print one JSON document on stdout (progress stays on stderr)
  --out DIR    write results.json and chart.svg there (default: benchmarks/results/<timestamp>/)
  --quick      few runs and a short steady-state warm-up (CI smoke test; numbers are indicative only)
  --keep       keep the work directory (images, server logs, data) and print where it is
  -h, --help   this text
`;

export class ArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgsError';
  }
}

/** A whole number from 1 to 1000 (`--runs`). */
export function positiveInt(name: string, raw: string | undefined): number {
  const text = requiredValue(name, raw);
  if (!/^\d+$/.test(text)) throw new ArgsError(`${name} must be a positive integer, got "${text}"`);
  const n = Number(text);
  if (n < 1 || n > MAX_RUNS) throw new ArgsError(`${name} must be from 1 to ${MAX_RUNS}, got ${n}`);
  return n;
}

function requiredValue(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '') throw new ArgsError(`${name} needs a value`);
  return raw;
}

/**
 * util.parseArgs in strict mode, with its errors said the way the bench says them. The lone "--"
 * pnpm passes through (`pnpm bench -- --json`) is dropped rather than read as "options end here".
 */
export function readOptions<const T extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: T,
): ReturnType<typeof parseArgv<{ options: T; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgv({ args: argv.filter((a) => a !== '--'), options, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    throw new ArgsError(describeParseError(error as Error & { code?: string }));
  }
}

function describeParseError(error: Error & { code?: string }): string {
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? '';
  const option = /--?[\w-]+/.exec(quoted)?.[0] ?? quoted;
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unknown argument "${quoted}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return error.message.includes('does not take an argument')
        ? `${option} takes no value`
        : `${option} needs a value`;
    default:
      return error.message;
  }
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const values = readOptions(argv, {
    runs: { type: 'string' },
    app: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const quick = values.quick;
  return {
    runs:
      values.runs === undefined ? (quick ? QUICK_RUNS : DEFAULT_RUNS) : positiveInt('--runs', values.runs),
    app: values.app === undefined ? undefined : requiredValue('--app', values.app),
    json: values.json,
    out: values.out === undefined ? undefined : requiredValue('--out', values.out),
    quick,
    keep: values.keep,
    warmupRounds: 1,
    steadyWarmupMs: quick ? 3_000 : 15_000,
    help: values.help,
  };
}
