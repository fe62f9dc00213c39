import { readFile } from 'node:fs/promises';
import { withoutIoUring } from '../launch/io-uring-filter.js';
import type { CommandResult, IoUringProbe } from './checks.js';

/** Counts the io_uring rings of the node that runs it, right after start, and names its versions. */
const COUNT_RINGS = `
const fs = require('node:fs');
const rings = fs.readdirSync('/proc/self/fd').filter((fd) => {
  try { return fs.readlinkSync('/proc/self/fd/' + fd) === 'anon_inode:[io_uring]'; } catch { return false; }
}).length;
process.stdout.write(JSON.stringify({ rings, node: process.version, uv: process.versions.uv }));
`;

type Run = (file: string, args: readonly string[]) => Promise<CommandResult>;

function ringsOf(result: CommandResult): { rings: number; node: string; uv: string } {
  if (result.code !== 0)
    throw new Error(result.error ?? (result.stderr.trim() || `exit status ${result.code}`));
  return JSON.parse(result.stdout) as { rings: number; node: string; uv: string };
}

/**
 * Starts `node` twice, plainly and as defrost starts apps (under the io_uring filter), and counts
 * the rings each opened: measured rather than inferred from versions, since what opens rings
 * depends on libuv, the kernel and the host's sysctl together.
 */
export async function probeIoUring(node: string, run: Run, sysctlPath: string): Promise<IoUringProbe> {
  const sysctl = (await readFile(sysctlPath, 'utf8').catch(() => undefined))?.trim();
  try {
    const filteredCommand = withoutIoUring([node, '-e', COUNT_RINGS]);
    const [plain, filtered] = await Promise.all([
      run(node, ['-e', COUNT_RINGS]).then(ringsOf),
      run(filteredCommand.file, filteredCommand.args).then(ringsOf),
    ]);
    return {
      node,
      nodeVersion: plain.node,
      uvVersion: plain.uv,
      plainRings: plain.rings,
      filteredRings: filtered.rings,
      ...(sysctl !== undefined ? { sysctl } : {}),
    };
  } catch (error) {
    return { node, error: (error as Error).message, ...(sysctl !== undefined ? { sysctl } : {}) };
  }
}
