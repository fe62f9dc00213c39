/**
 * What podman, netavark, buildah and `ip netns` may change on the host, recorded before a test and
 * put back after it: net.ipv4.ip_forward (netavark switches it on in the namespace it runs in),
 * netavark's iptables chains, and the directories the first podman or `ip netns` call creates
 * (/var/lib/containers, /run/containers, /run/netns, the last one a mount). The tests run podman
 * inside network namespaces of their own, so the first two should never change in the host's;
 * if they do, they are put back and reported.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './run.js';

const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const DIRECTORIES = ['/var/lib/containers', '/run/containers', '/run/netns'] as const;
/**
 * What podman 4.3 writes there whatever its configuration says (c/image's blob-info cache,
 * netavark's IP allocations), removed when the directory did not exist before, deepest first.
 */
const DEBRIS: Readonly<Record<(typeof DIRECTORIES)[number], readonly string[]>> = {
  '/var/lib/containers': ['cache/blob-info-cache-v1.boltdb', 'cache'],
  '/run/containers': ['networks/ipam.db', 'networks'],
  '/run/netns': [],
};

export interface HostState {
  readonly ipForward: string;
  readonly netavarkRules: readonly string[];
  readonly directories: Readonly<Record<string, boolean>>;
}

async function iptablesRules(): Promise<string[]> {
  if (!existsSync('/usr/sbin/iptables-save')) return [];
  const { stdout } = await run('iptables-save', []);
  return stdout.split('\n').filter((line) => line.includes('NETAVARK'));
}

export async function recordHostState(): Promise<HostState> {
  return {
    ipForward: (await readFile(IP_FORWARD, 'utf8')).trim(),
    netavarkRules: await iptablesRules(),
    directories: Object.fromEntries(DIRECTORIES.map((d) => [d, existsSync(d)])),
  };
}

/** Deletes netavark's rules and chains from the host's tables (they were not there before). */
async function removeNetavarkChains(): Promise<void> {
  const { stdout } = await run('iptables-save', []);
  let table = 'filter';
  const jumps: [string, string][] = [];
  const chains: [string, string][] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('*')) table = line.slice(1);
    else if (/^:NETAVARK\S*/.test(line)) chains.push([table, line.slice(1).split(' ')[0]!]);
    else if (/^-A (?!NETAVARK)\S+ .*-j NETAVARK/.test(line)) jumps.push([table, line]);
  }
  for (const [t, rule] of jumps) {
    await run('iptables', ['-t', t, ...splitRule(rule.replace(/^-A /, '-D '))]).catch(() => undefined);
  }
  for (const [t, chain] of chains) await run('iptables', ['-t', t, '-F', chain]).catch(() => undefined);
  for (const [t, chain] of chains) await run('iptables', ['-t', t, '-X', chain]).catch(() => undefined);
}

/** iptables-save quotes comments ("netavark firewall plugin rules"); keep them one argument. */
export function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** A file, or an empty directory; anything else stays. */
async function removeEntry(path: string): Promise<void> {
  await unlink(path).catch(() => rmdir(path).catch(() => undefined));
}

async function isEmptyDir(path: string): Promise<boolean> {
  return (await readdir(path).catch(() => ['?'])).length === 0;
}

/**
 * Puts back what changed since `before`, and returns what had changed (empty when nothing did).
 * A directory that did not exist is removed only when nothing is left in it (`/run/containers`
 * holds netavark's empty `networks`): anything else in it belongs to someone else now.
 */
export async function restoreHostState(before: HostState): Promise<string[]> {
  const changed: string[] = [];
  const now = await recordHostState();
  if (now.ipForward !== before.ipForward) {
    changed.push(`net.ipv4.ip_forward was ${before.ipForward}, found ${now.ipForward}`);
    await writeFile(IP_FORWARD, `${before.ipForward}\n`);
  }
  if (now.netavarkRules.length > 0 && before.netavarkRules.length === 0) {
    changed.push(`netavark left iptables rules: ${now.netavarkRules.join('; ')}`);
    await removeNetavarkChains();
  }
  for (const dir of DIRECTORIES) {
    if (before.directories[dir] || !now.directories[dir]) continue;
    for (const entry of DEBRIS[dir]) await removeEntry(join(dir, entry));
    if (!(await isEmptyDir(dir))) {
      changed.push(`${dir} was created meanwhile and is not empty: left as it is`);
      continue;
    }
    // `ip netns add` bind-mounts /run/netns onto itself.
    if (dir === '/run/netns') await run('umount', [dir]).catch(() => undefined);
    await rmdir(dir);
  }
  return changed;
}
