/** Parsing and reading of option values; every problem is a UsageError (exit 2) that names the option. */
import { readFile } from 'node:fs/promises';
import { KEY_FILE_ENV, resolveSigningKey, SigningKeyError } from '@defrost/core/internal';
import { InvalidArgumentError } from 'commander';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.js';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new InvalidArgumentError('expected a positive whole number');
  }
  return Number(value);
}

export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535)
    throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError('expected a number of seconds greater than 0');
  }
  return n;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `--env KEY=VAL`, repeatable: collects into a list of pairs. */
export function envPair(value: string, previous: [string, string][] = []): [string, string][] {
  const eq = value.indexOf('=');
  const key = eq === -1 ? value : value.slice(0, eq);
  if (eq === -1 || !ENV_NAME.test(key)) {
    throw new InvalidArgumentError(
      `expected KEY=VALUE with KEY made of letters, digits and _ (got "${value}")`,
    );
  }
  return [...previous, [key, value.slice(eq + 1)]];
}

async function readOptionFile(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`${option} ${path}: ${why}`);
  }
}

/**
 * The restore-time environment: the --env-file (dotenv format) first, then each --env.
 * dotenv rather than Node's util.parseEnv: they agree on comments, quotes, `export`, multi-line
 * values, but util.parseEnv (22, 24 and 26) cuts `M="a \\"quote\\""` at the escaped quote
 * (test/unit/helpers.test.ts shows the case).
 */
export async function restoreEnv(
  envFile: string | undefined,
  pairs: readonly [string, string][],
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  if (envFile !== undefined) Object.assign(env, parseDotenv(await readOptionFile(envFile, '--env-file')));
  for (const [k, v] of pairs) env[k] = v;
  return env;
}

/**
 * The signing key a command uses: --signing-key-file when given, else the host's key
 * (DEFROST_SIGNING_KEY_FILE or /etc/defrost/signing-key), else none. The bytes of the file, as
 * they are, the same on every command (image/signing-key.ts). A bad file is a usage error that
 * names the option or the variable.
 */
export async function signingKeyFor(
  keyFile: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<{ readonly key: Buffer; readonly keyFile: string; readonly required: boolean } | undefined> {
  try {
    return await resolveSigningKey(keyFile, env);
  } catch (error) {
    if (!(error instanceof SigningKeyError)) throw error;
    const where =
      keyFile !== undefined ? '--signing-key-file' : env[KEY_FILE_ENV] ? KEY_FILE_ENV : 'the host key';
    throw new UsageError(`${where}: ${error.message.split('\n')[0]}`, error.hint);
  }
}
