import { readdir, readFile } from 'node:fs/promises';

/** The direct children of a process, over all its threads (global PIDs; Linux's task children). */
export async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '');
    for (const s of text.split(/\s+/)) if (s) out.push(Number(s));
  }
  return out;
}

/** Every descendant of a process, parents before children (at most `limit`). */
export async function descendantsOf(pid: number, limit = 4096): Promise<number[]> {
  const out: number[] = [];
  const queue = await childrenOf(pid);
  while (queue.length > 0 && out.length < limit) {
    const next = queue.shift()!;
    if (out.includes(next)) continue;
    out.push(next);
    queue.push(...(await childrenOf(next)));
  }
  return out;
}

/** The command name of a process (/proc/PID/comm), undefined once it is gone. */
export async function commOf(pid: number): Promise<string | undefined> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined))?.trim();
}
