/**
 * Cuts text that arrives in chunks (a pipe, a file being appended to) into whole lines: an
 * unfinished line waits for the next chunk. The one place that does it, for every JSON-lines
 * channel defrost has (control events, progress events).
 */
export function lineSplitter(onLine: (line: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
}

/** A line's JSON value, or undefined when it is not JSON (noise on a channel is not an error). */
export function parseJsonLine(line: string): unknown {
  if (!line.trim()) return undefined;
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
