/** Marks defrost's error classes, the same key in every copy of this module (see hasInstance). */
const ERROR_CLASS = Symbol.for('@defrost/core/error-class');
type Branded = { readonly [ERROR_CLASS]?: true };

/** `value instanceof errorClass` by prototype, or by class name across copies (see hasInstance). */
function isDefrostErrorOf(errorClass: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(errorClass, value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  for (let proto = Object.getPrototypeOf(value); proto; proto = Object.getPrototypeOf(proto)) {
    const ctor: unknown = Object.hasOwn(proto, 'constructor') ? proto.constructor : undefined;
    if (typeof ctor === 'function' && ctor.name === errorClass.name && (ctor as Branded)[ERROR_CLASS])
      return true;
  }
  return false;
}

/**
 * Every error defrost throws on purpose is a DefrostError: `code` is stable for programs,
 * `message` says what happened and what to do, `details` carries the evidence (e.g. CRIU's log).
 */
export class DefrostError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  /**
   * `instanceof` also holds across copies of this module in one process. The CommonJS and the ES
   * module builds of @defrost/core are two copies of every class (an app that `require`s the plugin
   * while a preload script `import`s core loads both), and an error made by one copy is not, by
   * prototype, an instance of the other copy's class. So a defrost error class also matches a value
   * whose prototype chain has a defrost error class (of any copy) of the same name.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class right of `instanceof` (a subclass, often)
    return isDefrostErrorOf(this, value);
  }

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(options.hint ? `${message}\n  fix: ${options.hint}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
  }
}
// Inherited by every subclass: their constructors' prototype chain reaches DefrostError.
Object.defineProperty(DefrostError, ERROR_CLASS, { value: true });

/** CRIU or libcriu is missing, too old, or cannot be loaded. */
export class CriuUnavailableError extends DefrostError {}

/** A lines-of-log excerpt attached to errors that come from CRIU itself. */
export interface CriuLogExcerpt {
  /** Path of the full log, kept for the user. */
  readonly logFile: string | undefined;
  /** The lines that explain the failure (errors and their context), not the whole log. */
  readonly lines: readonly string[];
}

function formatExcerpt(excerpt: CriuLogExcerpt | undefined): string {
  if (!excerpt || excerpt.lines.length === 0) return '';
  const where = excerpt.logFile ? ` (full log: ${excerpt.logFile})` : '';
  return `\n  CRIU says${where}:\n${excerpt.lines.map((l) => `    ${l}`).join('\n')}`;
}

export interface CriuFailure {
  /** The step that failed, e.g. "audit", "dump", "lifecycle", "restore". */
  readonly step: string;
  /** CRIU's return code (negative errno-like value from libcriu, or the exit code of `criu`). */
  readonly criuCode?: number;
  readonly log?: CriuLogExcerpt;
  readonly hint?: string;
  readonly cause?: unknown;
  /** Structured evidence for programs (e.g. the audit's findings). */
  readonly details?: unknown;
}

/** The process could not be checkpointed; it keeps running. */
export class CheckpointError extends DefrostError {
  readonly step: string;
  readonly criuCode: number | undefined;
  readonly log: CriuLogExcerpt | undefined;
  readonly details: unknown;

  constructor(message: string, failure: CriuFailure) {
    super(`checkpoint-${failure.step}`, `${message}${formatExcerpt(failure.log)}`, failure);
    this.step = failure.step;
    this.criuCode = failure.criuCode;
    this.log = failure.log;
    this.details = failure.details;
  }
}

/**
 * Our own errors pass through; anything else (a bug, an fs error) becomes a CheckpointError of the
 * 'prepare' step whose message starts with `what`, e.g. "checkpoint failed".
 */
export function asCheckpointError(error: unknown, what: string): DefrostError {
  return error instanceof DefrostError
    ? error
    : new CheckpointError(`${what}: ${(error as Error).message}`, { step: 'prepare', cause: error });
}

/** An image could not be restored. */
export class RestoreError extends DefrostError {
  readonly step: string;
  readonly criuCode: number | undefined;
  readonly log: CriuLogExcerpt | undefined;

  constructor(message: string, failure: CriuFailure) {
    super(`restore-${failure.step}`, `${message}${formatExcerpt(failure.log)}`, failure);
    this.step = failure.step;
    this.criuCode = failure.criuCode;
    this.log = failure.log;
  }
}

/** An image directory is missing, incomplete, corrupt, foreign or not signed as required. */
export class ImageError extends DefrostError {
  readonly imageDir: string;

  constructor(
    code: string,
    imageDir: string,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(code, `image ${imageDir}: ${message}`, options);
    this.imageDir = imageDir;
  }
}

/** An app could not be started the way defrost starts the apps it freezes (command, perl, criu). */
export class LaunchError extends DefrostError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('launch', message, { ...(hint ? { hint } : {}), cause });
  }
}
