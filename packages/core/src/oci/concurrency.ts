/**
 * Runs `fn` over `items`, at most `limit` at once. Unlike mapLimit (image/hash.ts), a failure
 * aborts the others (through the signal handed to `fn`) and is only thrown once every item in
 * flight has settled: a staging directory is then never removed while a download still writes
 * into it.
 */
export async function forEachSettled<T>(
  items: readonly T[],
  limit: number,
  outer: AbortSignal | undefined,
  fn: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const abort = new AbortController();
  const signal = outer ? AbortSignal.any([outer, abort.signal]) : abort.signal;
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item, signal);
      } catch (error) {
        if (!failure) {
          failure = { error };
          abort.abort();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
}
