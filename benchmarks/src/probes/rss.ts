/** Resident memory of a process, from /proc (VmRSS, which counts file-backed and anonymous pages). */
import { readFile } from 'node:fs/promises';

export function parseVmRssKb(status: string): number | undefined {
  const m = /^VmRSS:\s*(\d+)\s*kB$/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/** In MiB. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = parseVmRssKb(status);
  if (kb === undefined) throw new Error(`no VmRSS for pid ${pid} (did the server exit?)`);
  return kb / 1024;
}
