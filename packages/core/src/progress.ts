import { appendFileSync } from 'node:fs';
import { parseJsonLine } from './lines.js';

/**
 * Progress of a checkpoint, from the process being checkpointed to `defrost checkpoint`: JSON
 * lines appended to the file named in DEFROST_PROGRESS_FILE. A file, not a pipe or an IPC
 * channel: nothing stays open to be caught by the freeze (each event opens, appends, closes).
 */
export type ProgressEvent =
  | {
      readonly step: 'warmup';
      readonly requests: number;
      readonly rounds: number;
      readonly totalRounds?: number;
    }
  | { readonly step: 'warmup-done'; readonly summary: unknown }
  | { readonly step: 'waiting'; readonly for: string; readonly waitedMs: number }
  | { readonly step: 'rehearsing' }
  | { readonly step: 'freezing' }
  | {
      readonly step: 'checkpointed';
      readonly imageDir: string;
      readonly durationMs: number;
      readonly totalBytes: number;
      readonly files: number;
    }
  | { readonly step: 'failed'; readonly message: string };

const STEPS = new Set([
  'warmup',
  'warmup-done',
  'waiting',
  'rehearsing',
  'freezing',
  'checkpointed',
  'failed',
]);

/** One line of the progress file, or undefined for anything that is not a known event. */
export function parseProgressLine(line: string): ProgressEvent | undefined {
  const value = parseJsonLine(line) as { step?: unknown } | undefined;
  if (!value || typeof value !== 'object' || typeof value.step !== 'string' || !STEPS.has(value.step))
    return undefined;
  if (value.step === 'failed' && typeof (value as { message?: unknown }).message !== 'string') {
    return { step: 'failed', message: 'the app reported a failure without a message' };
  }
  return value as ProgressEvent;
}

/** A writer for the progress file; a no-op without one. Best effort: the logger says it all too. */
export function progressReporter(file: string | undefined): (event: ProgressEvent) => void {
  if (!file) return () => {};
  return (event) => {
    try {
      appendFileSync(file, `${JSON.stringify({ ...event, at: Date.now() })}\n`, { mode: 0o600 });
    } catch {
      // progress is best-effort
    }
  };
}
