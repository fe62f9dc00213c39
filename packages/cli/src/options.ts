/** Parsing and reading of option values; every problem is a UsageError (exit 2) that names the option. */
import { readFile } from 'node:fs/promises';
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

/** The restore-time environment: the --env-file (dotenv format) first, then each --env. */
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
 * A signing key file: the whole file, minus one trailing newline (so `echo secret > key` and
 * `head -c 32 /dev/urandom | base64 > key` both work). The same reading on both sides, so the
 * key given to `checkpoint` and to `restore`/`inspect` is the same string.
 */
export async function readSigningKey(path: string): Promise<string> {
  const key = (await readOptionFile(path, '--signing-key-file')).replace(/\r?\n$/, '');
  if (key === '')
    throw new UsageError(
      `--signing-key-file ${path}: the file is empty`,
      'put a secret in it, e.g. `head -c 32 /dev/urandom | base64 > KEYFILE`',
    );
  if (key.includes('\0')) {
    throw new UsageError(
      `--signing-key-file ${path}: the key holds a NUL byte and cannot be passed to the app`,
      'use a text key, e.g. base64',
    );
  }
  return key;
}
