import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

/**
 * The garbage collector, from --expose-gc when the process has it; otherwise the second-best
 * way: enable the flag at run time and fetch `gc` from a fresh context (V8 installs it in
 * contexts created after the flag is set). The second way works on Node 22-26 (tested) but is not a
 * public API, hence the warning.
 */
export function findGc(): { gc: Gc | undefined; warning?: string } {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === 'function') return { gc: exposed };
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as Gc;
    return {
      gc,
      warning:
        'node runs without --expose-gc: collected garbage through a run-time flag instead (start node with --expose-gc; `defrost checkpoint` does)',
    };
  } catch {
    return {
      gc: undefined,
      warning:
        'node runs without --expose-gc and gc could not be reached: the image keeps garbage (start node with --expose-gc)',
    };
  }
}

/** Two full collections: the second frees what finalizers of the first released. */
export function collectGarbage(gc: Gc): void {
  gc();
  gc();
}
