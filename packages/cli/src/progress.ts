/**
 * Progress of a checkpoint: the Fastify plugin appends JSON lines to the file named in
 * DEFROST_PROGRESS_FILE (the protocol is @defrost/core's progress.ts); this side polls it and shows them.
 */
import { open } from 'node:fs/promises';
import { lineSplitter, type ProgressEvent, parseProgressLine } from '@defrost/core/internal';
import { formatBytes, formatMs, type Styles } from './output.js';

export type { ProgressEvent };
export { parseProgressLine };

export interface WarmupSummaryLike {
  readonly requests?: number;
  readonly rounds?: number;
  readonly durationMs?: number;
  readonly firstRoundP50Ms?: number;
  readonly lastRoundP50Ms?: number;
}

/** Follows a JSON-lines file from its start; call poll() repeatedly, or start()/stop(). */
export class ProgressTail {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();
  private readonly take: (chunk: string) => void;

  constructor(
    private readonly file: string,
    onEvent: (event: ProgressEvent) => void,
  ) {
    this.take = lineSplitter((line) => {
      const event = parseProgressLine(line);
      if (event) onEvent(event);
    });
  }

  start(intervalMs = 100): void {
    this.timer = setInterval(() => {
      void this.poll();
    }, intervalMs);
  }

  /** Reads what was appended since the last poll; polls never overlap. */
  poll(): Promise<void> {
    this.polling = this.polling.then(() => this.readMore()).catch(() => undefined);
    return this.polling;
  }

  /** Stops polling after a last read (events written just before the app exited are not lost). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.poll();
  }

  private async readMore(): Promise<void> {
    let fh: import('node:fs/promises').FileHandle;
    try {
      fh = await open(this.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const chunks: Buffer[] = [];
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await fh.read(buffer, 0, buffer.length, this.offset);
        if (bytesRead === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
        this.offset += bytesRead;
      }
      if (chunks.length > 0) this.take(Buffer.concat(chunks).toString('utf8'));
    } finally {
      await fh.close();
    }
  }
}

export function warmupText(summary: WarmupSummaryLike | undefined): string | undefined {
  if (!summary || typeof summary !== 'object' || typeof summary.requests !== 'number') return undefined;
  const rounds = typeof summary.rounds === 'number' ? ` in ${summary.rounds} rounds` : '';
  const took = typeof summary.durationMs === 'number' ? `, ${formatMs(summary.durationMs)}` : '';
  const p50 =
    typeof summary.firstRoundP50Ms === 'number' && typeof summary.lastRoundP50Ms === 'number'
      ? ` (median latency ${summary.firstRoundP50Ms} ms in the first round, ${summary.lastRoundP50Ms} ms in the last)`
      : '';
  return `${summary.requests} requests${rounds}${took}${p50}`;
}

/** The text shown for an event (undefined: nothing to show). */
export function describeEvent(event: ProgressEvent): string | undefined {
  switch (event.step) {
    case 'warmup':
      return `warming up: ${event.requests} requests, round ${event.rounds}${event.totalRounds ? `/${event.totalRounds}` : ''}`;
    case 'warmup-done':
      return `warmed up: ${warmupText(event.summary as WarmupSummaryLike) ?? 'done'}`;
    case 'rehearsing':
      return 'rehearsing the freeze (hooks, audit, CRIU preparation), then re-warming';
    case 'freezing':
      return 'freezing (audit, hooks, CRIU dump)';
    case 'checkpointed':
      return `image written: ${formatBytes(event.totalBytes)} in ${event.files} files, dump took ${formatMs(event.durationMs)}`;
    case 'failed':
      return undefined;
  }
}

/**
 * On a TTY: one line, rewritten in place, with the elapsed time. Elsewhere: plain lines, with
 * warm-up updates at most every 2 s so logs stay short.
 */
export class ProgressLine {
  private current = '';
  private shown = false;
  private lastPlain = 0;
  private readonly started = Date.now();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly styles: Styles,
    private readonly tty: boolean,
  ) {
    if (tty) {
      this.ticker = setInterval(() => this.render(), 250);
      this.ticker.unref();
    }
  }

  update(text: string, important = false): void {
    this.current = text;
    if (this.tty) {
      this.render();
      return;
    }
    const now = Date.now();
    if (important || now - this.lastPlain >= 2_000) {
      this.lastPlain = now;
      this.stream.write(`defrost: ${text}\n`);
    }
  }

  /** A line that stays (e.g. a warning), written above the updating one. */
  log(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
    if (this.tty) this.render();
  }

  /**
   * Copies a child's output stream to `target` line by line, lifting the updating line out of
   * the way for each line; resolves when the stream ends (or after `flushMs` once asked to stop).
   */
  relay(source: NodeJS.ReadableStream, target: NodeJS.WritableStream): Promise<void> {
    let pending = '';
    const writeLines = (text: string): void => {
      this.clear();
      target.write(text);
      if (this.tty) this.render();
    };
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      const text = pending + chunk;
      const cut = text.lastIndexOf('\n') + 1;
      pending = text.slice(cut);
      if (cut > 0) writeLines(text.slice(0, cut));
    });
    return new Promise((resolve) => {
      const done = (): void => {
        if (pending) writeLines(`${pending}\n`);
        pending = '';
        resolve();
      };
      source.once('end', done);
      source.once('error', done);
    });
  }

  /** Leaves the last state on screen (TTY) and stops updating. */
  finish(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.tty && this.shown) this.stream.write('\n');
    this.shown = false;
    this.current = ''; // later relayed lines no longer redraw it
  }

  private clear(): void {
    if (this.tty && this.shown) this.stream.write('\r\u001b[2K');
    this.shown = false;
  }

  private render(): void {
    if (!this.tty || !this.current) return;
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1);
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    let line = `defrost: ${this.current} [${elapsed} s]`;
    if (line.length > width) line = `${line.slice(0, width - 1)}…`;
    this.stream.write(`\r\u001b[2K${this.styles.cyan(line)}`);
    this.shown = true;
  }
}
