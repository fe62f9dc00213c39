import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { release } from 'node:os';
import { promisify } from 'node:util';
import { fileIdentity, readCacheJson, writeCacheJson } from '../cache.js';
import { CriuUnavailableError } from '../errors.js';
import { findOnPath } from '../process/find-executable.js';

const execFileAsync = promisify(execFile);

export interface CriuVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly text: string;
}

/** CRIU < 4.2 cannot dump TCP sockets on Linux >= 6.16 (SO_PASSCRED/SO_PASSSEC now refused on inet sockets). */
export const MIN_CRIU: CriuVersion = { major: 4, minor: 2, patch: 0, text: '4.2' };

export const INSTALL_HINT =
  'install CRIU >= 4.2 and libcriu2: `sudo bash scripts/install-criu.sh` in the defrost repository (Debian 12), or `defrost doctor --fix`';

/** Parses the output of `criu --version` ("Version: 4.2.1" and optionally "GitID: ..."). */
export function parseCriuVersion(output: string): CriuVersion | undefined {
  const m = /^Version:\s*(\d+)\.(\d+)(?:\.(\d+))?/m.exec(output);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

/** libcriu's criu_get_version() encodes a version as major * 10000 + minor * 100 + sublevel. */
export function decodeLibcriuVersion(code: number): CriuVersion {
  const major = Math.floor(code / 10000);
  const minor = Math.floor((code % 10000) / 100);
  const patch = code % 100;
  return { major, minor, patch, text: `${major}.${minor}.${patch}` };
}

export function compareVersions(a: CriuVersion, b: CriuVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The one-line explanation every CRIU-dependent entry point gives when CRIU is not usable. */
export function criuRequirementMessage(found: CriuVersion | undefined, kernel = release()): string {
  const have = found ? `found CRIU ${found.text}` : 'found no CRIU';
  return `defrost needs CRIU >= ${MIN_CRIU.text} (Linux ${kernel}: kernels >= 6.16 refuse the socket options older CRIU uses to dump TCP sockets); ${have}`;
}

export interface CriuBinaryInfo {
  readonly path: string;
  readonly version: CriuVersion;
}

/**
 * `criu --version` as the binary at `path` answers it, remembered per binary identity: every
 * `defrost restore` is a new process and would otherwise spend ~10-15 ms running criu just to ask.
 */
async function versionOutput(path: string): Promise<string> {
  const identity = await fileIdentity(path);
  const name = `criu-version-${createHash('sha256').update(path).digest('hex').slice(0, 16)}.json`;
  const cached = await readCacheJson<{ identity: string; output: string }>(name);
  if (cached?.identity === identity) return cached.output;
  const { stdout } = await execFileAsync(path, ['--version'], { timeout: 10_000 });
  await writeCacheJson(name, { about: path, identity, output: stdout });
  return stdout;
}

/** Finds `criu` on PATH (or `binary`) and checks its version; throws CriuUnavailableError with the fix. */
export async function requireCriuBinary(binary = 'criu'): Promise<CriuBinaryInfo> {
  let output: string;
  let path: string | undefined;
  try {
    path = await findOnPath(binary);
    if (!path) throw new Error(`${binary}: not found on PATH`);
    output = await versionOutput(path);
  } catch (cause) {
    throw new CriuUnavailableError('criu-missing', criuRequirementMessage(undefined), {
      hint: INSTALL_HINT,
      cause,
    });
  }
  const version = parseCriuVersion(output);
  if (!version || compareVersions(version, MIN_CRIU) < 0) {
    throw new CriuUnavailableError('criu-too-old', criuRequirementMessage(version), { hint: INSTALL_HINT });
  }
  return { path, version };
}
