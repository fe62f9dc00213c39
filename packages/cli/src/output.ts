/** Terminal output: colour only on a TTY (NO_COLOR wins, FORCE_COLOR forces), one place for errors. */
import { formatError } from './errors.js';

export interface Styles {
  readonly red: (s: string) => string;
  readonly green: (s: string) => string;
  readonly yellow: (s: string) => string;
  readonly cyan: (s: string) => string;
  readonly dim: (s: string) => string;
  readonly bold: (s: string) => string;
}

export interface Io {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
}

/** https://no-color.org: NO_COLOR set and not empty disables colour; FORCE_COLOR=1 enables it anywhere. */
export function colorEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

const code =
  (open: number, close: number) =>
  (s: string): string =>
    `\u001b[${open}m${s}\u001b[${close}m`;
const plain = (s: string): string => s;

export function stylesFor(enabled: boolean): Styles {
  if (!enabled) return { red: plain, green: plain, yellow: plain, cyan: plain, dim: plain, bold: plain };
  return {
    red: code(31, 39),
    green: code(32, 39),
    yellow: code(33, 39),
    cyan: code(36, 39),
    dim: code(2, 22),
    bold: code(1, 22),
  };
}

export function isDebug(env: NodeJS.ProcessEnv): boolean {
  return env.DEFROST_DEBUG === '1' || env.DEFROST_DEBUG === 'true';
}

/** `defrost: <message>` on stderr, the first line in red on a TTY. */
export function printError(io: Io, error: unknown): void {
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  const [first = '', ...rest] = formatError(error, isDebug(io.env)).split('\n');
  io.stderr.write(`${s.red(`defrost: ${first}`)}\n${rest.map((l) => `${l}\n`).join('')}`);
}

export function printWarning(io: Io, message: string): void {
  const s = stylesFor(colorEnabled(io.stderr, io.env));
  io.stderr.write(`${s.yellow(`defrost: warning: ${message}`)}\n`);
}

export { formatBytes, formatMs } from '@defrost/core/internal';

/** Quotes a command line for display, the way a POSIX shell would need it. */
export function shellQuote(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
