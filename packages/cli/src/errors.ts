import { CriuUnavailableError, DefrostError, ImageError } from '@defrost/core/internal';
import { EXIT } from './exit-codes.js';

/** A failure the CLI itself reports: a message that says what to do, and the exit code. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, exitCode: number = EXIT.FAILURE, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = hint;
  }
}

/** The command line is wrong (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.USAGE, hint);
  }
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let e: unknown = error;
  while (e && chain.length < 8) {
    chain.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return chain;
}

/** The documented exit code for an error. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof ImageError) return EXIT.IMAGE_REFUSED;
  // restore() wraps a missing/old CRIU into a RestoreError; the cause tells.
  if (causeChain(error).some((e) => e instanceof CriuUnavailableError)) return EXIT.ENV_NOT_READY;
  return EXIT.FAILURE;
}

/** One or two lines (a DefrostError may add CRIU's log lines); the stack only with DEFROST_DEBUG=1. */
export function formatError(error: unknown, debug: boolean): string {
  let text: string;
  if (error instanceof DefrostError) {
    text = error.message;
  } else if (error instanceof CliError) {
    text = error.hint ? `${error.message}\n  fix: ${error.hint}` : error.message;
  } else if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    text = `${error.message}${code && !error.message.includes(code) ? ` (${code})` : ''}`;
    if (!debug)
      text += '\n  (an unexpected error: run with DEFROST_DEBUG=1 for the stack trace, and report it)';
  } else {
    text = String(error);
  }
  if (debug) {
    for (const e of causeChain(error)) {
      if (e instanceof Error && e.stack) text += `\n${e === error ? '' : 'caused by: '}${e.stack}`;
    }
  }
  return text;
}

/** The first line of an error's message, for one-line reports. */
export function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
