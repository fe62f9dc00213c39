import { readFile } from 'node:fs/promises';
import type { CriuLogExcerpt } from '../errors.js';

/** CRIU prefixes errors with "Error (file:line):"; warnings with "Warn". */
const ERROR_LINE = /\bError\b|\bFATAL\b/;
/** Error lines CRIU prints on every run in a container or VM that explain nothing. */
const BENIGN = [/rlimit: Can't setup RLIMIT_NOFILE for self/];
const isError = (line: string): boolean => ERROR_LINE.test(line) && !BENIGN.some((b) => b.test(line));

/**
 * Picks the lines of a CRIU log that explain a failure: every error line with the line before it
 * for context, de-duplicated, capped. Falls back to the last lines when no line is marked as an error.
 */
export function extractLogExcerpt(log: string, maxLines = 12): string[] {
  const lines = log.split('\n').filter((l) => l.trim() !== '');
  const picked = new Set<number>();
  lines.forEach((line, i) => {
    if (isError(line)) {
      if (i > 0 && !isError(lines[i - 1]!) && !ERROR_LINE.test(lines[i - 1]!)) picked.add(i - 1);
      picked.add(i);
    }
  });
  const indexes = picked.size > 0 ? [...picked].sort((a, b) => a - b) : lines.map((_, i) => i).slice(-5);
  const excerpt = indexes.map((i) => lines[i]!.trim());
  return excerpt.length > maxLines ? excerpt.slice(-maxLines) : excerpt;
}

/** Reads a CRIU log file and extracts the relevant lines; a missing log yields an empty excerpt. */
export async function readLogExcerpt(logFile: string): Promise<CriuLogExcerpt> {
  try {
    return { logFile, lines: extractLogExcerpt(await readFile(logFile, 'utf8')) };
  } catch {
    return { logFile: undefined, lines: [] };
  }
}
