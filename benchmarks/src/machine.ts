/** Facts about the machine that the numbers depend on, printed with every result. */
import { readFile, realpath } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import type { MachineFacts } from './model.js';

export interface MountEntry {
  readonly device: string;
  readonly mountPoint: string;
  readonly type: string;
}

/** /proc/self/mounts escapes space, tab, newline and backslash as octal (\040 etc.). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, octal: string) =>
    String.fromCharCode(Number.parseInt(octal, 8)),
  );
}

export function parseMounts(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const [device, mountPoint, type] = line.split(' ');
    if (!device || !mountPoint || !type) continue;
    entries.push({ device: unescapeMount(device), mountPoint: unescapeMount(mountPoint), type });
  }
  return entries;
}

/** The mount a path lives on: the longest mount point that is a prefix of it (the last one wins on ties). */
export function mountOf(path: string, mounts: readonly MountEntry[]): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const prefix = m.mountPoint === '/' ? '/' : `${m.mountPoint}/`;
    if (path !== m.mountPoint && !path.startsWith(prefix)) continue;
    if (!best || m.mountPoint.length >= best.mountPoint.length) best = m;
  }
  return best;
}

/** "always [madvise] never" -> "madvise". */
export function selectedMode(text: string): string {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? (text.trim() || 'unknown');
}

async function readOr(path: string, fallback: string): Promise<string> {
  return readFile(path, 'utf8').catch(() => fallback);
}

export async function machineFacts(imageLocation: string, criuVersion: string): Promise<MachineFacts> {
  const cpuinfo = await readOr('/proc/cpuinfo', '');
  const cpuModel = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const path = await realpath(imageLocation).catch(() => imageLocation);
  const mount = mountOf(path, parseMounts(await readOr('/proc/self/mounts', '')));
  return {
    cpuModel,
    cores: availableParallelism(),
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    criu: criuVersion,
    imageFilesystem: {
      path,
      mountPoint: mount?.mountPoint ?? 'unknown',
      type: mount?.type ?? 'unknown',
      device: mount?.device ?? 'unknown',
    },
    thp: selectedMode(await readOr('/sys/kernel/mm/transparent_hugepage/enabled', 'unknown')),
    thpDefrag: selectedMode(await readOr('/sys/kernel/mm/transparent_hugepage/defrag', 'unknown')),
    loadAverage: { atStart: loadavg()[0]!, atEnd: loadavg()[0]! },
  };
}
