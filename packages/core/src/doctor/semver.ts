/**
 * Just enough of npm's range syntax to compare a Node version with an `engines.node` range:
 * `||` alternatives, space-separated comparators, `^`, `~`, `>=`, `>`, `<=`, `<`, `=`, bare
 * versions with optional `x`/`*` wildcards. Pre-release tags are ignored.
 */

type Triple = [number, number, number];

interface Partial3 {
  readonly parts: number[];
}

function parsePartial(text: string): Partial3 | undefined {
  const m = /^v?(\d+|x|X|\*)(?:\.(\d+|x|X|\*))?(?:\.(\d+|x|X|\*))?(?:[-+].*)?$/.exec(text.trim());
  if (!m) return undefined;
  const parts: number[] = [];
  for (const p of [m[1], m[2], m[3]]) {
    if (p === undefined || p === 'x' || p === 'X' || p === '*') break;
    parts.push(Number(p));
  }
  return { parts };
}

export function parseVersionTriple(text: string): Triple | undefined {
  const p = parsePartial(text);
  if (!p || p.parts.length === 0) return undefined;
  return [p.parts[0] ?? 0, p.parts[1] ?? 0, p.parts[2] ?? 0];
}

function cmp(a: Triple, b: Triple): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function pad(parts: number[]): Triple {
  return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0];
}

/** The exclusive upper bound of a partial version: 20 -> 21.0.0, 20.19 -> 20.20.0. */
function bumpLast(parts: number[]): Triple {
  const up = [...parts];
  const last = up.length - 1;
  up[last] = (up[last] ?? 0) + 1;
  return pad(up);
}

type Test = (v: Triple) => boolean;

function comparator(token: string): Test | undefined {
  const m = /^(\^|~|>=|<=|>|<|=)?\s*(.+)$/.exec(token);
  if (!m) return undefined;
  const op = m[1] ?? '';
  const p = parsePartial(m[2] ?? '');
  if (!p) return undefined;
  const { parts } = p;
  if (parts.length === 0) return () => true; // *, x
  const low = pad(parts);
  switch (op) {
    case '^': {
      // Up to the next change of the first non-zero part (^0.2.3 -> <0.3.0).
      const i = parts.findIndex((n) => n !== 0);
      const upTo = i === -1 ? parts.length : i + 1;
      const high = bumpLast(parts.slice(0, Math.min(upTo, parts.length)));
      return (v) => cmp(v, low) >= 0 && cmp(v, high) < 0;
    }
    case '~': {
      const high = bumpLast(parts.slice(0, Math.min(2, parts.length)));
      return (v) => cmp(v, low) >= 0 && cmp(v, high) < 0;
    }
    case '>=':
      return (v) => cmp(v, low) >= 0;
    case '>':
      return parts.length < 3 ? (v) => cmp(v, bumpLast(parts)) >= 0 : (v) => cmp(v, low) > 0;
    case '<=':
      return parts.length < 3 ? (v) => cmp(v, bumpLast(parts)) < 0 : (v) => cmp(v, low) <= 0;
    case '<':
      return (v) => cmp(v, low) < 0;
    default: {
      if (parts.length === 3) return (v) => cmp(v, low) === 0;
      const high = bumpLast(parts);
      return (v) => cmp(v, low) >= 0 && cmp(v, high) < 0;
    }
  }
}

/** Whether `version` (e.g. "v20.20.2") satisfies `range` (e.g. "^20.19.0 || >=22.12"); undefined if unparseable. */
export function satisfiesRange(version: string, range: string): boolean | undefined {
  const v = parseVersionTriple(version);
  if (!v) return undefined;
  let parsedAny = false;
  for (const alternative of range.split('||')) {
    // "1.2.3 - 2.3.4" hyphen ranges are rare in engines; treat as >= and <=.
    const hyphen = /^\s*(\S+)\s+-\s+(\S+)\s*$/.exec(alternative);
    const tokens = hyphen
      ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`]
      : alternative
          .trim()
          .replace(/(\^|~|>=|<=|>|<|=)\s+/g, '$1')
          .split(/\s+/)
          .filter(Boolean);
    const tests = tokens.map(comparator);
    if (tests.length === 0 || tests.some((t) => t === undefined)) continue;
    parsedAny = true;
    if (tests.every((t) => t!(v))) return true;
  }
  return parsedAny ? false : undefined;
}
