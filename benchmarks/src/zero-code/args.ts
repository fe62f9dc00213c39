/** Arguments of the zero-code benchmark (`node benchmarks/dist/zero-code/main.js`). Pure parsing. */
import { ArgsError } from '../args.js';
import { ZERO_CODE_APPS } from './apps.js';

export interface ZeroCodeArgs {
  /** Measured rounds per app, each a cold start then a restore. */
  readonly runs: number;
  /** App names, in the order given (default: all). */
  readonly apps: readonly string[];
  readonly json: boolean;
  readonly help: boolean;
}

export const ZERO_CODE_USAGE = `usage: node benchmarks/dist/zero-code/main.js [options]

Time to first response of the example apps that hold no defrost code (apps/examples), cold start
against \`defrost restore\`, interleaved: per app, one untimed round, then N rounds of a cold start
followed by a restore of the image \`defrost checkpoint\` made of it (with no code change).

  --runs N     measured rounds per app (default 10)
  --app NAME   only this app (repeatable): ${ZERO_CODE_APPS.map((a) => a.name).join(', ')}
  --json       print one JSON document on stdout (progress stays on stderr)
  -h, --help   this text
`;

export function parseZeroCodeArgs(argv: readonly string[]): ZeroCodeArgs {
  let runs = 10;
  const apps: string[] = [];
  let json = false;
  let help = false;
  const known = new Set(ZERO_CODE_APPS.map((a) => a.name));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') continue;
    if (arg === '--json') json = true;
    else if (arg === '-h' || arg === '--help') help = true;
    else if (arg === '--runs') {
      const raw = argv[++i];
      if (raw === undefined || !/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > 1000)
        throw new ArgsError(
          `--runs must be from 1 to 1000, got ${raw === undefined ? 'nothing' : `"${raw}"`}`,
        );
      runs = Number(raw);
    } else if (arg === '--app') {
      const name = argv[++i];
      if (name === undefined || !known.has(name))
        throw new ArgsError(`--app: one of ${[...known].join(', ')} (got ${name ?? 'nothing'})`);
      apps.push(name);
    } else throw new ArgsError(`unknown argument "${arg}"`);
  }
  return { runs, apps: apps.length > 0 ? apps : [...known], json, help };
}
