import { appendFileSync } from 'node:fs';

export type ProgressEvent =
  | {
      readonly step: 'warmup';
      readonly requests: number;
      readonly rounds: number;
      readonly totalRounds?: number;
    }
  | { readonly step: 'warmup-done'; readonly summary: unknown }
  | { readonly step: 'freezing' }
  | {
      readonly step: 'checkpointed';
      readonly imageDir: string;
      readonly durationMs: number;
      readonly totalBytes: number;
      readonly files: number;
    }
  | { readonly step: 'failed'; readonly message: string };

/**
 * Progress for `defrost checkpoint`, which reads it as JSON lines from the file it names in
 * DEFROST_PROGRESS_FILE. Each event opens, appends and closes: no descriptor stays open to be
 * caught by the freeze.
 */
export function progressReporter(file: string | undefined): (event: ProgressEvent) => void {
  if (!file) return () => {};
  return (event) => {
    try {
      appendFileSync(file, `${JSON.stringify({ ...event, at: Date.now() })}\n`, { mode: 0o600 });
    } catch {
      // progress is best-effort; the logger still says everything
    }
  };
}
