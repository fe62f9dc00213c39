/** The facts of this machine an image depends on, and whether an image can be restored here. */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { release } from 'node:os';
import { fileIdentity, readCacheJson, writeCacheJson } from '../cache.js';
import { type CriuVersion, compareVersions } from '../criu/version.js';
import { DefrostError } from '../errors.js';
import { currentCpuFeatures, missingCpuFeatures } from './cpu.js';
import { hashFile } from './hash.js';
import type { ImageManifest } from './manifest.js';

export interface HostFacts {
  /** `process.version`, e.g. "v20.20.2". */
  nodeVersion: string;
  /** sha256 of the node binary that will run the restored process. */
  nodeBinarySha256: string;
  arch: string;
  /** `os.release()`. */
  kernel: string;
  /** The CPU features a process may depend on (image/cpu.ts); without them the CPU check is skipped. */
  cpuFeatures?: string[];
  /** The CRIU that will restore, e.g. "4.2.1"; without it the CRIU check is skipped. */
  criuVersion?: string;
  /** Only used to word messages. */
  execPath?: string;
}

/**
 * Memo of binary hashes, keyed by path + identity of the file (inode, size, mtime): hashing the
 * ~100 MB node binary costs tens of ms, and a replaced binary gets a new key. A cache, not state:
 * dropping it changes nothing but speed.
 */
const binaryHashes = new Map<string, Promise<string>>();

/**
 * Also kept on disk, keyed by the binary's identity (inode, size, mtime and ctime): every
 * `defrost restore` is a new process and would otherwise hash ~100 MB (~160 ms) before restoring.
 */
async function persistedBinarySha256(path: string): Promise<string> {
  const identity = await fileIdentity(path);
  const name = `binary-${createHash('sha256').update(path).digest('hex').slice(0, 16)}.json`;
  const cached = await readCacheJson<{ identity: string; sha256: string }>(name);
  if (cached?.identity === identity) return cached.sha256;
  const { sha256 } = await hashFile(path);
  // Only remember it if the file did not change while it was hashed.
  if ((await fileIdentity(path)) === identity) await writeCacheJson(name, { about: path, identity, sha256 });
  return sha256;
}

async function binarySha256(path: string): Promise<string> {
  const st = await stat(path);
  const key = `${path}\0${st.dev}:${st.ino}\0${st.size}\0${st.mtimeMs}`;
  let pending = binaryHashes.get(key);
  if (!pending) {
    pending = persistedBinarySha256(path);
    binaryHashes.set(key, pending);
    pending.catch(() => binaryHashes.delete(key));
  }
  return pending;
}

/** This process's node, arch and kernel. `criuVersion` is left to the caller (it needs CRIU). */
export async function currentHostFacts(): Promise<HostFacts> {
  let nodeBinarySha256: string;
  try {
    nodeBinarySha256 = await binarySha256(process.execPath);
  } catch (cause) {
    throw new DefrostError('host-facts-failed', `cannot hash the node binary ${process.execPath}`, { cause });
  }
  return {
    nodeVersion: process.version,
    nodeBinarySha256,
    arch: process.arch,
    kernel: release(),
    cpuFeatures: await currentCpuFeatures(),
    execPath: process.execPath,
  };
}

function short(sha: string): string {
  return `${sha.slice(0, 12)}…`;
}

function parseVersion(text: string): CriuVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0), text };
}

/**
 * Fatal: another node binary (version or build) or another CPU architecture: the heap holds code
 * and addresses of that exact binary; a CPU without a feature the image's CPU had (image/cpu.ts). Warnings: another kernel release (CRIU usually copes), an
 * older CRIU than the one that dumped (it may not know every image feature).
 */
export function checkCompatibility(
  m: ImageManifest,
  host: HostFacts,
): { fatal: string[]; warnings: string[] } {
  const fatal: string[] = [];
  const warnings: string[] = [];
  const made = `made by node ${m.node.version} at ${m.node.execPath} (sha256 ${short(m.node.binarySha256)})`;
  const here = `${host.nodeVersion}${host.execPath ? ` at ${host.execPath}` : ''} (sha256 ${short(host.nodeBinarySha256)})`;
  if (m.node.version !== host.nodeVersion) {
    fatal.push(`${made}, this is ${here}; rebuild the image on this machine`);
  } else if (m.node.binarySha256 !== host.nodeBinarySha256) {
    fatal.push(
      `${made}, this is the same version but a different binary: ${here}; a restored process needs the exact binary it was dumped with: rebuild the image on this machine`,
    );
  }
  if (m.node.arch !== host.arch) {
    fatal.push(
      `made for ${m.node.arch}, this machine is ${host.arch}; rebuild the image on a ${host.arch} machine`,
    );
  }
  const missing = m.cpu && host.cpuFeatures ? missingCpuFeatures(m.cpu.features, host.cpuFeatures) : [];
  if (missing.length > 0) {
    fatal.push(
      `made on a CPU with ${missing.join(', ')}, which this CPU lacks: the frozen code may use them and would crash here (SIGILL); rebuild the image on this CPU type, or build images on the oldest CPU type you restore on`,
    );
  }
  if (m.kernel !== host.kernel) {
    warnings.push(
      `made on Linux ${m.kernel}, this is Linux ${host.kernel}; CRIU usually restores across kernel releases, but if the restore fails, rebuild the image on this machine`,
    );
  }
  if (host.criuVersion !== undefined) {
    const imageCriu = parseVersion(m.criu.version);
    const hostCriu = parseVersion(host.criuVersion);
    if (imageCriu && hostCriu && compareVersions(hostCriu, imageCriu) < 0) {
      warnings.push(
        `made with CRIU ${m.criu.version}, this is the older CRIU ${host.criuVersion}; it may not understand every part of the image: upgrade CRIU or rebuild the image here`,
      );
    }
  }
  return { fatal, warnings };
}
