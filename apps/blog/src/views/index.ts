// Templates (Eta, rendered through @fastify/view). The .eta files live next to this module in src/views/ and are
// read from there by both the TypeScript sources and the build in dist/ (tsc does not copy them).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Eta } from 'eta';
import { SITE } from '../site.js';

export const TEMPLATES_DIR = fileURLToPath(new URL('../../src/views/', import.meta.url));

export function createTemplateEngine(): Eta {
  return new Eta({ views: TEMPLATES_DIR, cache: true, autoEscape: true, autoTrim: [false, 'nl'] });
}

/** Compiles every template once, up front, into the engine's cache; returns how many. */
export function compileTemplates(eta: Eta): number {
  let count = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.eta')) {
        eta.templatesSync.define(file, eta.compile(readFileSync(file, 'utf8'), { filepath: file }));
        count++;
      }
    }
  };
  walk(TEMPLATES_DIR);
  return count;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** Helpers available to every template as `it.fmt`. Dates are shown in UTC so pages do not depend on the host. */
export const fmt = {
  date(iso: string): string {
    const d = new Date(iso);
    return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  },
  dateTime(iso: string): string {
    const d = new Date(iso);
    const hh = String(d.getUTCHours()).padStart(2, '0');
    const mm = String(d.getUTCMinutes()).padStart(2, '0');
    return `${fmt.date(iso)} at ${hh}:${mm} UTC`;
  },
  month(month: number): string {
    return MONTHS[month - 1] ?? String(month);
  },
  plural(n: number, word: string): string {
    return `${n} ${word}${n === 1 ? '' : 's'}`;
  },
};

export const defaultContext = { site: SITE, fmt };
