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

type Run = (file: string, args: readonly string[], extraEnv?: NodeJS.ProcessEnv) => Promise<CommandResult>;

interface CriuFound {
  readonly path: string | undefined;
  readonly versionOutput: CommandResult | undefined;
  readonly version: CriuVersion | undefined;
}

export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const run: Run = (file, args, extraEnv = {}) =>
    runCommand(file, args, { env: { ...env, ...extraEnv }, timeoutMs });
  const criu = await findCriu(options, env, run);
  const checks = [...(await machineChecks(options, env, run, criu)), ...(await fastRestoreChecks(options))];
  const counts = { pass: 0, warn: 0, fail: 0 };
  for (const c of checks) counts[c.status] += 1;
  const failed = (id: string): boolean => checks.find((c) => c.id === id)?.status === 'fail';
  return {
    ok: counts.fail === 0,
    checks,
    counts,
    criu: {
      ...(criu.path ? { path: criu.path } : {}),
      ...(criu.version ? { version: criu.version.text } : {}),
    },
    needsCriuInstall: failed('criu') || failed('libcriu'),
  };
}

async function findCriu(options: DoctorOptions, env: NodeJS.ProcessEnv, run: Run): Promise<CriuFound> {
  const path = options.criuBinary
    ? ((await findOnPath(options.criuBinary, env.PATH)) ?? options.criuBinary)
    : await findOnPath('criu', env.PATH);
  const versionOutput = path ? await run(path, ['--version']) : undefined;
  const version = versionOutput?.code === 0 ? parseCriuVersion(versionOutput.stdout) : undefined;
  return { path, versionOutput, version };
}

/** Everything the checks look at, gathered at once (probes, files, programs on PATH). */
async function gatherFacts(options: DoctorOptions, env: NodeJS.ProcessEnv, run: Run, criu: CriuFound) {
  const paths: DoctorPaths = { ...DEFAULT_PATHS, ...options.paths };
  const execPath = options.execPath ?? process.execPath;
  const toolsFound = Promise.all([
    findOnPath('setpriv', env.PATH),
    findOnPath('unshare', env.PATH),
    findOnPath('perl', env.PATH),
    // The node that `defrost checkpoint -- node app.js` would run, which may not be this one.
    findOnPath('node', env.PATH).then((node) => probeIoUring(node ?? execPath, run, paths.ioUringSysctl)),
  ]);
  const [criuCheck, uffdFeature, gcProbe, procStatus, mounts, uffdSysctl, thp, kdat, kdatTmp, range] =
    await Promise.all([
      criu.path ? run(criu.path, ['check']) : undefined,
      criu.path && criu.version ? run(criu.path, ['check', '--feature', 'uffd-noncoop']) : undefined,
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
    ]);
  const [setpriv, unshare, perl, ioUring] = await toolsFound;
  // `defrost restore` keeps CRIU's kernel-feature cache itself (restore/kdat-cache.ts).
  const restoreKdatCacheDir = options.restoreKdatCacheDir ?? cacheDir();
  const restoreCache = { dir: restoreKdatCacheDir, files: await countKdatFiles(restoreKdatCacheDir) };
  return {
    paths,
    execPath,
    probes: { criuCheck, uffdFeature, gcProbe, ioUring },
    files: { procStatus, mounts, uffdSysctl, thp, kdat, kdatTmp, range },
    tools: { setpriv, unshare, perl },
    restoreCache,
  };
}

async function machineChecks(
  options: DoctorOptions,
  env: NodeJS.ProcessEnv,
  run: Run,
  criu: CriuFound,
): Promise<DoctorCheck[]> {
  const { paths, execPath, probes, files, tools, restoreCache } = await gatherFacts(options, env, run, criu);
  const kernel = options.kernel ?? release();
  const euid = options.euid ?? process.geteuid?.();
  const soname = options.libcriuSoname ?? LIBCRIU_SONAME;
  const libcriu = libcriuProbe(soname);
  return [
    checkKernel(options.platform ?? process.platform, kernel, osArch()),
    checkCriuVersion(criu.path, criu.versionOutput, criu.version, kernel, env.PATH ?? ''),
    checkLibcriu(soname, libcriu.loaded, libcriu.error),
    checkCapabilities(euid, files.procStatus),
    checkCriuCheck(criu.path, probes.criuCheck),
    checkRestoreTools(tools),
    checkKdatCache(files.mounts, files.kdat, files.kdatTmp, paths.kdat, restoreCache),
    checkUserfaultfd(files.uffdSysctl, probes.uffdFeature, euid),
    checkThp(files.thp),
    checkIoUring(probes.ioUring),
    checkNodeVersion(options.nodeVersion ?? process.version, files.range, execPath),
    checkExposeGc(probes.gcProbe),
  ];
}

/** The CLI's native launcher, when the caller has one to report on. */
async function fastRestoreChecks(options: DoctorOptions): Promise<DoctorCheck[]> {
  if (options.fastRestoreBinary === undefined) return [];
  const binary = options.fastRestoreBinary;
  const executable = await access(binary, constants.X_OK).then(
    () => true,
    () => false,
  );
  const dir = cacheDir();
  return [checkFastRestore({ path: binary, executable }, { dir, state: await cacheDirState(dir) })];
}
