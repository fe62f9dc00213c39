import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The one PATH lookup of defrost: the first executable regular file called `name` in PATH's
 * directories (or `name` itself when it has a slash). `doctor`, `checkpoint` and `restore` all use
 * it, so they never disagree about which `criu` (or node) a command would run.
 */
export async function findOnPath(
  name: string,
  pathVar: string | undefined = process.env.PATH,
): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutable(name)) ? name : undefined;
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue; // relative PATH entries are a hazard, not a lookup
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
