/** Command-line arguments of `pnpm bench`. Pure parsing: no file system, no defaults that need I/O. */

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
  --app PATH   server entry of a Fastify app using @defrost/fastify (default: apps/blog/dist/server.js);
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

function positiveInt(name: string, raw: string | undefined): number {
  if (raw === undefined || raw === '' || raw.startsWith('--')) throw new ArgsError(`${name} needs a value`);
  if (!/^\d+$/.test(raw)) throw new ArgsError(`${name} must be a positive integer, got "${raw}"`);
  const n = Number(raw);
  if (n < 1 || n > MAX_RUNS) throw new ArgsError(`${name} must be from 1 to ${MAX_RUNS}, got ${n}`);
  return n;
}

function value(name: string, raw: string | undefined): string {
  if (raw === undefined || raw === '' || raw.startsWith('--')) throw new ArgsError(`${name} needs a value`);
  return raw;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  let runs: number | undefined;
  let app: string | undefined;
  let out: string | undefined;
  let json = false;
  let quick = false;
  let keep = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // `--name=value` is accepted as well as `--name value`.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    const next = (): string | undefined => (inline !== undefined ? inline : argv[++i]);
    const flag = (): true => {
      if (inline !== undefined) throw new ArgsError(`${name} takes no value`);
      return true;
    };
    switch (name) {
      case '--runs':
        runs = positiveInt('--runs', next());
        break;
      case '--app':
        app = value('--app', next());
        break;
      case '--out':
        out = value('--out', next());
        break;
      case '--json':
        json = flag();
        break;
      case '--quick':
        quick = flag();
        break;
      case '--keep':
        keep = flag();
        break;
      case '-h':
      case '--help':
        help = flag();
        break;
      case '--':
        // pnpm passes a lone "--" through when called as `pnpm bench -- --json`
        break;
      default:
        throw new ArgsError(`unknown argument "${arg}"`);
    }
  }
  return {
    runs: runs ?? (quick ? QUICK_RUNS : DEFAULT_RUNS),
    app,
    json,
    out,
    quick,
    keep,
    warmupRounds: 1,
    steadyWarmupMs: quick ? 3_000 : 15_000,
    help,
  };
}
