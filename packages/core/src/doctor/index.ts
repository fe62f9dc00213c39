/**
 * `runDoctor()`: is this machine ready to checkpoint and restore Node servers with CRIU? Every
 * check says what it found and, when it is not a pass, what to do. External programs are looked
 * up on `options.env.PATH`, so tests can put a fake (or no) `criu` there.
 */

import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch as osArch, release } from 'node:os';
import { cacheDir, cacheDirState } from '../cache.js';
import { LIBCRIU_SONAME, loadLibcriu } from '../criu/libcriu.js';
import { type CriuVersion, parseCriuVersion } from '../criu/version.js';
import { findOnPath } from '../process/find-executable.js';
import {
  type CommandResult,
  checkCapabilities,
  checkCriuCheck,
  checkCriuVersion,
  checkExposeGc,
  checkFastRestore,
  checkIoUring,
  checkKdatCache,
  checkKernel,
  checkLibcriu,
  checkNodeVersion,
  checkRestoreTools,
  checkThp,
  checkUserfaultfd,
} from './checks.js';
import { probeIoUring } from './io-uring-probe.js';
import type { DoctorCheck, DoctorOptions, DoctorPaths, DoctorReport } from './types.js';

export * from './checks.js';
export { satisfiesRange } from './semver.js';
export type * from './types.js';

const DEFAULT_PATHS: DoctorPaths = {
  procStatus: '/proc/self/status',
  mounts: '/proc/self/mounts',
  unprivilegedUffd: '/proc/sys/vm/unprivileged_userfaultfd',
  thp: '/sys/kernel/mm/transparent_hugepage/enabled',
  kdat: '/run/criu.kdat',
  ioUringSysctl: '/proc/sys/kernel/io_uring_disabled',
  // src/doctor/index.ts and dist/doctor/index.js are both two levels below the package root.
  // By package name, not by a path relative to this file: the CLI ships core bundled into itself.
  packageJson: createRequire(import.meta.url).resolve('@defrost/core/package.json'),
};

/** Runs a program and reports what happened; never throws. */
export function runCommand(
  file: string,
  args: readonly string[],
  o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env: o.env, timeout: o.timeoutMs ?? 30_000, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        const e = error as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (typeof e.code === 'number') {
          resolve({ code: e.code, stdout, stderr });
          return;
        }
        const why = e.killed ? `timed out after ${o.timeoutMs ?? 30_000} ms` : (e.code ?? e.message);
        resolve({ code: null, stdout, stderr, error: String(why) });
      },
    );
  });
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
}

async function fileInfo(path: string): Promise<{ exists: boolean; size?: number }> {
  try {
    const st = await stat(path);
    return { exists: true, size: st.size };
  } catch {
    return { exists: false };
  }
}

async function countKdatFiles(dir: string): Promise<number> {
  try {
    return (await readdir(dir)).filter((name) => name.endsWith('.kdat')).length;
  } catch {
    return 0;
  }
}

async function testedNodeRange(packageJson: string): Promise<string | undefined> {
  const text = await readText(packageJson);
  if (!text) return undefined;
  try {
    const range = (JSON.parse(text) as { engines?: { node?: unknown } }).engines?.node;
    return typeof range === 'string' ? range : undefined;
  } catch {
    return undefined;
  }
}

function libcriuProbe(soname: string): { loaded?: { version: string }; error?: Error } {
  try {
    return { loaded: { version: loadLibcriu(soname).version.text } };
  } catch (e) {
    return { error: e as Error };
  }
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const paths: DoctorPaths = { ...DEFAULT_PATHS, ...options.paths };
  const kernel = options.kernel ?? release();
  const platform = options.platform ?? process.platform;
  const nodeVersion = options.nodeVersion ?? process.version;
  const execPath = options.execPath ?? process.execPath;
  const euid = options.euid ?? process.geteuid?.();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const soname = options.libcriuSoname ?? LIBCRIU_SONAME;
  const run = (
    file: string,
    args: readonly string[],
    extraEnv: NodeJS.ProcessEnv = {},
  ): Promise<CommandResult> => runCommand(file, args, { env: { ...env, ...extraEnv }, timeoutMs });

  const criuPath = options.criuBinary
    ? ((await findOnPath(options.criuBinary, env.PATH)) ?? options.criuBinary)
    : await findOnPath('criu', env.PATH);
  const versionOutput = criuPath ? await run(criuPath, ['--version']) : undefined;
  const criuVersion: CriuVersion | undefined =
    versionOutput?.code === 0 ? parseCriuVersion(versionOutput.stdout) : undefined;

  const [
    criuCheck,
    uffdFeature,
    gcProbe,
    procStatus,
    mounts,
    uffdSysctl,
    thp,
    kdat,
    kdatTmp,
    range,
    setpriv,
    unshare,
    perl,
    ioUring,
  ] = await Promise.all([
    criuPath ? run(criuPath, ['check']) : undefined,
    criuPath && criuVersion ? run(criuPath, ['check', '--feature', 'uffd-noncoop']) : undefined,
    // The same node, with the flag where `defrost checkpoint` puts it.
    run(execPath, ['-e', 'process.stdout.write(typeof gc)'], {
      NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --expose-gc`.trim(),
    }),
    readText(paths.procStatus),
    readText(paths.mounts),
    readText(paths.unprivilegedUffd),
    readText(paths.thp),
    fileInfo(paths.kdat),
    fileInfo(`${paths.kdat}.tmp`),
    testedNodeRange(paths.packageJson),
    findOnPath('setpriv', env.PATH),
    findOnPath('unshare', env.PATH),
    findOnPath('perl', env.PATH),
    // The node that `defrost checkpoint -- node app.js` would run, which may not be this one.
    findOnPath('node', env.PATH).then((node) => probeIoUring(node ?? execPath, run, paths.ioUringSysctl)),
  ]);
  const libcriu = libcriuProbe(soname);
  // `defrost restore` keeps CRIU's kernel-feature cache itself (restore/kdat-cache.ts).
  const restoreKdatCacheDir = options.restoreKdatCacheDir ?? cacheDir();
  const restoreCache = { dir: restoreKdatCacheDir, files: await countKdatFiles(restoreKdatCacheDir) };

  const checks: DoctorCheck[] = [
    checkKernel(platform, kernel, osArch()),
    checkCriuVersion(criuPath, versionOutput, criuVersion, kernel, env.PATH ?? ''),
    checkLibcriu(soname, libcriu.loaded, libcriu.error),
    checkCapabilities(euid, procStatus),
    checkCriuCheck(criuPath, criuCheck),
    checkRestoreTools({ setpriv, unshare, perl }),
    checkKdatCache(mounts, kdat, kdatTmp, paths.kdat, restoreCache),
    checkUserfaultfd(uffdSysctl, uffdFeature, euid),
    checkThp(thp),
    checkIoUring(ioUring),
    checkNodeVersion(nodeVersion, range, execPath),
    checkExposeGc(gcProbe),
  ];
  if (options.fastRestoreBinary !== undefined) {
    const binary = options.fastRestoreBinary;
    const executable = await access(binary, constants.X_OK).then(
      () => true,
      () => false,
    );
    const dir = cacheDir();
    checks.push(checkFastRestore({ path: binary, executable }, { dir, state: await cacheDirState(dir) }));
  }
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status] += 1;
  const byId = (id: string): DoctorCheck | undefined => checks.find((c) => c.id === id);
  return {
    ok: counts.fail === 0,
    checks,
    counts,
    criu: { ...(criuPath ? { path: criuPath } : {}), ...(criuVersion ? { version: criuVersion.text } : {}) },
    needsCriuInstall: byId('criu')?.status === 'fail' || byId('libcriu')?.status === 'fail',
  };
}
