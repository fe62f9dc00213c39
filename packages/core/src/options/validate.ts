import { closest, distance } from 'fastest-levenshtein';

/**
 * Checks of option objects given by users (plugin options, checkpoint() options, a warm-up file),
 * one helper per kind of value. Every message names the option as the user typed it (`path` is
 * the full name, e.g. "warmup.rounds"), and the caller adds where it came from.
 */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

const shown = (value: unknown): string =>
  typeof value === 'function' ? 'a function' : JSON.stringify(value);

/** "a.b" under "a", "b" at the top. */
export const optionName = (parent: string, key: string): string => (parent ? `${parent}.${key}` : key);

/**
 * Refuses keys that are not options, naming the nearest valid one when it is a likely typo
 * (at most a third of its letters differ), or the option a known other name stands for
 * (`aliases`, e.g. core's `auditPolicy` of old for the plugin's `audit`).
 */
export function checkKnownKeys(
  value: object,
  known: readonly string[],
  parent: string,
  aliases: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const alias = Object.hasOwn(aliases, key) ? aliases[key] : undefined;
    const nearest = alias ?? (known.length > 0 ? closest(key, [...known]) : undefined);
    const likely =
      nearest !== undefined &&
      (alias !== undefined || distance(key, nearest) <= Math.max(2, Math.floor(nearest.length / 3)));
    throw new OptionError(
      `${optionName(parent, key)} is not an option${likely ? `; did you mean ${optionName(parent, nearest)}?` : ''} (valid${parent ? ` under ${parent}` : ''}: ${known.join(', ')})`,
    );
  }
}

export function checkPositiveInt(value: unknown, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) <= 0)) {
    throw new OptionError(`${name} must be a positive integer, got ${shown(value)}`);
  }
}

export function checkNonNegativeInt(value: unknown, name: string): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0)) {
    throw new OptionError(`${name} must be an integer >= 0, got ${shown(value)}`);
  }
}

export function checkBoolean(value: unknown, name: string): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new OptionError(`${name} must be true or false, got ${shown(value)}`);
  }
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): void {
  if (value !== undefined && !allowed.includes(value as T)) {
    throw new OptionError(
      `${name} must be ${allowed.map((a) => `"${a}"`).join(' or ')}, got ${shown(value)}`,
    );
  }
}

export function checkObject(value: unknown, name: string): asserts value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new OptionError(`${name} must be an object, got ${shown(value)}`);
  }
}
