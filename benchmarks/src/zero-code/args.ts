/** Arguments of the zero-code benchmark (`node benchmarks/dist/zero-code/main.js`). Pure parsing. */
import { ArgsError, positiveInt, readOptions } from '../args.js';
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
  const values = readOptions(argv, {
    runs: { type: 'string' },
    app: { type: 'string', multiple: true },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const known = ZERO_CODE_APPS.map((a) => a.name);
  const apps = values.app ?? [];
  for (const name of apps)
    if (!known.includes(name)) throw new ArgsError(`--app: one of ${known.join(', ')} (got ${name})`);
  return {
    runs: values.runs === undefined ? 10 : positiveInt('--runs', values.runs),
    apps: apps.length > 0 ? apps : known,
    json: values.json,
    help: values.help,
  };
}
