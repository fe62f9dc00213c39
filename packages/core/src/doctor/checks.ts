/**
 * The doctor's checks as pure functions of what was probed: each takes facts (file contents,
 * command outputs, versions) and returns one DoctorCheck. Probing lives in ./index.ts.
 */
import {
  type CriuVersion,
  compareVersions,
  criuRequirementMessage,
  INSTALL_HINT,
  MIN_CRIU,
} from '../criu/version.js';
import { parseVersionTriple, satisfiesRange } from './semver.js';
import type { DoctorCheck } from './types.js';

/** The command that installs CRIU >= 4.2 (from the repository root). */
export const INSTALL_COMMAND = 'sudo bash scripts/install-criu.sh';

/** Outcome of running an external command; never thrown. */
export interface CommandResult {
  /** Exit code; null when the command could not start or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it did not run or finish (ENOENT, timeout, ...). */
  readonly error?: string;
}

function lastLines(text: string, n: number): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean)
    .slice(-n);
}

// ---------------------------------------------------------------------------------------------
// Platform and kernel

export function checkKernel(platform: string, kernel: string, arch: string): DoctorCheck {
  const base = { id: 'kernel', title: 'Linux kernel' } as const;
  if (platform !== 'linux') {
    return {
      ...base,
      status: 'fail',
      detail: `this is ${platform}; defrost needs Linux (CRIU checkpoints Linux processes only)`,
      fix: 'run defrost on Linux (a VM or a privileged container works)',
    };
  }
  const v = parseVersionTriple(kernel);
  // Restored processes run in a new time namespace (Linux >= 5.6), so their clocks stay sane.
  if (v && (v[0] < 5 || (v[0] === 5 && v[1] < 6))) {
    return {
      ...base,
      status: 'warn',
      detail: `Linux ${kernel} (${arch}) is older than 5.6: no time namespaces, so restored processes see clocks jump; defrost is tested on 6.x`,
      fix: 'use a Linux >= 5.6 kernel',
    };
  }
  const note =
    v && (v[0] > 6 || (v[0] === 6 && v[1] >= 16)) ? `; kernels >= 6.16 need CRIU >= ${MIN_CRIU.text}` : '';
  return { ...base, status: 'pass', detail: `Linux ${kernel} (${arch})${note}` };
}

// ---------------------------------------------------------------------------------------------
// CRIU binary

export function checkCriuVersion(
  path: string | undefined,
  versionOutput: CommandResult | undefined,
  version: CriuVersion | undefined,
  kernel: string,
  searchedPath: string,
): DoctorCheck {
  const base = { id: 'criu', title: `CRIU >= ${MIN_CRIU.text}` } as const;
  if (!path) {
    return {
      ...base,
      status: 'fail',
      detail: `${criuRequirementMessage(undefined, kernel)}: no \`criu\` on PATH (${searchedPath || 'PATH is empty'})`,
      fix: `${INSTALL_HINT}; if criu is installed in /usr/sbin, add that to PATH`,
    };
  }
  if (!version) {
    const said = versionOutput
      ? (versionOutput.error ?? lastLines(`${versionOutput.stdout}\n${versionOutput.stderr}`, 2).join(' / '))
      : '';
    return {
      ...base,
      status: 'fail',
      detail: `${criuRequirementMessage(undefined, kernel)}: \`${path} --version\` gave no version (${said || 'no output'})`,
      fix: INSTALL_HINT,
    };
  }
  if (compareVersions(version, MIN_CRIU) < 0) {
    return {
      ...base,
      status: 'fail',
      detail: `${criuRequirementMessage(version, kernel)} at ${path}`,
      fix: INSTALL_HINT,
    };
  }
  return { ...base, status: 'pass', detail: `CRIU ${version.text} at ${path}` };
}

export function checkLibcriu(
  soname: string,
  loaded: { version: string } | undefined,
  error: Error | undefined,
): DoctorCheck {
  const base = { id: 'libcriu', title: `${soname} loadable` } as const;
  if (loaded) {
    return { ...base, status: 'pass', detail: `${soname} loaded (library version ${loaded.version})` };
  }
  const hint = (error as { hint?: string } | undefined)?.hint;
  // DefrostError messages carry "\n  fix: ..." already; keep the first line as the detail.
  const message = (error?.message ?? 'unknown error').split('\n')[0];
  return {
    ...base,
    status: 'fail',
    detail: `${message}; checkpoints dump through libcriu`,
    fix: hint ?? INSTALL_HINT,
  };
}

// ---------------------------------------------------------------------------------------------
// Privileges

export const CAP_SYS_ADMIN = 21;
export const CAP_SYS_PTRACE = 19;
export const CAP_CHECKPOINT_RESTORE = 40;

/** The CapEff mask from /proc/self/status, or undefined. */
export function parseCapEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

function hasCap(mask: bigint, bit: number): boolean {
  return ((mask >> BigInt(bit)) & 1n) === 1n;
}

export function checkCapabilities(euid: number | undefined, procStatus: string | undefined): DoctorCheck {
  const base = { id: 'capabilities', title: 'root or CAP_CHECKPOINT_RESTORE' } as const;
  const mask = procStatus === undefined ? undefined : parseCapEff(procStatus);
  if (mask === undefined) {
    return {
      ...base,
      status: euid === 0 ? 'warn' : 'fail',
      detail: `cannot read CapEff from /proc/self/status${euid === 0 ? '; running as root' : ''}`,
      fix: 'run defrost as root (sudo)',
    };
  }
  const cr = hasCap(mask, CAP_CHECKPOINT_RESTORE);
  const ptrace = hasCap(mask, CAP_SYS_PTRACE);
  const admin = hasCap(mask, CAP_SYS_ADMIN);
  const capText = `CapEff ${mask.toString(16).padStart(16, '0')}: CAP_CHECKPOINT_RESTORE ${cr ? 'yes' : 'no'}, CAP_SYS_PTRACE ${ptrace ? 'yes' : 'no'}, CAP_SYS_ADMIN ${admin ? 'yes' : 'no'}`;
  if (euid === 0 && (admin || (cr && ptrace))) {
    return { ...base, status: 'pass', detail: `running as root (${capText})` };
  }
  const missing = [...(cr ? [] : ['CAP_CHECKPOINT_RESTORE']), ...(ptrace ? [] : ['CAP_SYS_PTRACE'])];
  if (euid === 0) {
    return {
      ...base,
      status: 'fail',
      detail: `root, but without ${missing.join(' and ') || 'CAP_SYS_ADMIN'} (${capText}); a container may have dropped them`,
      fix: 'run the container privileged, or add --cap-add CHECKPOINT_RESTORE --cap-add SYS_PTRACE --cap-add SYS_ADMIN',
    };
  }
  if (cr && ptrace) {
    return {
      ...base,
      status: 'warn',
      detail: `not root, but has CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE (${capText}); CRIU then works in its limited --unprivileged mode, and \`defrost restore\` creates PID namespaces, which also needs CAP_SYS_ADMIN`,
      fix: 'run defrost as root (sudo) for restores',
    };
  }
  return {
    ...base,
    status: 'fail',
    detail: `not root (euid ${euid ?? 'unknown'}) and missing ${missing.join(' and ')} (${capText}); CRIU cannot dump or restore processes`,
    fix: 'run defrost as root (sudo)',
  };
}

// ---------------------------------------------------------------------------------------------
// `criu check`

export function checkCriuCheck(criuPath: string | undefined, result: CommandResult | undefined): DoctorCheck {
  const base = { id: 'criu-check', title: '`criu check`' } as const;
  if (!criuPath || !result) {
    return {
      ...base,
      status: 'fail',
      detail: 'not run: no criu binary (see the CRIU check above)',
      fix: INSTALL_HINT,
    };
  }
  const output = `${result.stdout}\n${result.stderr}`;
  const warnings = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(Warn|Error)\b/.test(l));
  const shown = warnings.length > 0 ? `; ${warnings.slice(0, 6).join('; ')}` : '';
  if (result.code === 0 && /^Looks good\.\s*$/m.test(output)) {
    return {
      ...base,
      status: warnings.length > 0 ? 'warn' : 'pass',
      detail: `"Looks good."${shown}`,
      ...(warnings.length > 0
        ? { fix: 'the warnings name kernel features CRIU lacks here; dumps may still work' }
        : {}),
    };
  }
  if (result.code === 0 && /Looks good but/.test(output)) {
    return {
      ...base,
      status: 'warn',
      detail: `"Looks good but some kernel features are missing"${shown}`,
      fix: 'dumps of ordinary Node servers usually work; if one fails, the warning names the missing feature',
    };
  }
  const tail = result.error ?? lastLines(output, 4).join(' / ');
  return {
    ...base,
    status: 'fail',
    detail: `\`${criuPath} check\` failed (exit ${result.code ?? 'none'}): ${tail || 'no output'}`,
    fix: `an old CRIU fails on new kernels (e.g. 3.17: "Unexpected rt vDSO area bounds"): ${INSTALL_HINT}; otherwise run \`sudo criu check -v4\` for details`,
  };
}

// ---------------------------------------------------------------------------------------------
// Kernel-feature cache

export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly type: string;
}

/** /proc/self/mounts: "source target type options 0 0", octal escapes (\040) for spaces. */
export function parseMounts(text: string): MountEntry[] {
  const decode = (s: string): string =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length >= 3)
    .map(([source, target, type]) => ({ source: decode(source!), target: decode(target!), type: type! }));
}

/** The file system type at a mount point, or the one of the closest mounted parent. */
export function fsTypeAt(mounts: readonly MountEntry[], path: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    const covers = m.target === '/' || path === m.target || path.startsWith(`${m.target}/`);
    // Later entries stack on earlier ones: >= keeps the last mount at the longest target.
    if (covers && (!best || m.target.length >= best.target.length)) best = m;
  }
  return best;
}

export function checkKdatCache(
  mounts: string | undefined,
  kdat: { exists: boolean; size?: number },
  stale: { exists: boolean; size?: number },
  kdatPath: string,
  /** Where `defrost restore` keeps its own copy of the cache, when it does (see DoctorOptions). */
  restoreCache?: { dir: string; files: number },
): DoctorCheck {
  const base = { id: 'kdat-cache', title: 'CRIU kernel-feature cache (/run on tmpfs)' } as const;
  const runDir = kdatPath.slice(0, kdatPath.lastIndexOf('/')) || '/';
  if (mounts === undefined) {
    return {
      ...base,
      status: 'warn',
      detail: 'cannot read /proc/self/mounts to tell whether /run is a tmpfs',
    };
  }
  const at = fsTypeAt(parseMounts(mounts), runDir);
  const cost =
    'so every `criu restore` probes the kernel again, which adds tens of milliseconds to each restore (45-60 ms on the machines defrost is tested on: docs/criu-and-node.md); defrost restore does not work around this';
  const staleNote =
    stale.exists && stale.size === 0
      ? `; also, a stale 0-byte ${kdatPath}.tmp would stop CRIU from saving the cache even on a tmpfs (rm it)`
      : '';
  if (at?.type !== 'tmpfs' && restoreCache) {
    return {
      ...base,
      status: 'pass',
      detail: `${runDir} is not a tmpfs, so CRIU alone would probe the kernel on every run (tens of milliseconds each time); defrost restore keeps its own copy of the cache in ${restoreCache.dir} (${restoreCache.files > 0 ? `${restoreCache.files} cached` : 'written by the next restore'})`,
    };
  }
  if (at?.type !== 'tmpfs') {
    return {
      ...base,
      status: 'warn',
      detail: `${runDir} is not a tmpfs (it is on ${at ? `${at.type} mounted at ${at.target}` : 'an unknown file system'}); CRIU ${MIN_CRIU.text} keeps its kernel-feature cache ${kdatPath} only on a tmpfs, ${cost}${staleNote}`,
      fix: `have ${runDir} mounted as a tmpfs at boot (systemd does this by default; containers: \`--tmpfs ${runDir}\`; or an /etc/fstab line \`tmpfs ${runDir} tmpfs mode=755,nosuid,nodev 0 0\`)`,
    };
  }
  if (stale.exists && stale.size === 0 && !kdat.exists) {
    return {
      ...base,
      status: 'warn',
      detail: `${runDir} is a tmpfs, but a stale 0-byte ${kdatPath}.tmp makes CRIU give up saving its cache silently, ${cost}`,
      fix: `rm ${kdatPath}.tmp`,
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `${runDir} is a tmpfs; ${kdat.exists ? `${kdatPath} is cached (${kdat.size ?? 0} bytes)` : `CRIU writes ${kdatPath} on its next run`}`,
  };
}

// ---------------------------------------------------------------------------------------------
// userfaultfd, THP

export function checkUserfaultfd(
  sysctl: string | undefined,
  criuFeature: CommandResult | undefined,
  euid: number | undefined,
): DoctorCheck {
  const base = { id: 'userfaultfd', title: 'userfaultfd (lazy-pages restore)' } as const;
  const why = 'lazy pages (optional) let a restore start before all memory is loaded';
  const criuSays = criuFeature
    ? `${criuFeature.stdout}${criuFeature.stderr}`.trim().split('\n')[0]
    : undefined;
  const criuOk = criuFeature?.code === 0 && /is supported/.test(criuFeature.stdout + criuFeature.stderr);
  if (sysctl === undefined && !criuOk) {
    return {
      ...base,
      status: 'warn',
      detail: `no /proc/sys/vm/unprivileged_userfaultfd: this kernel lacks userfaultfd (CONFIG_USERFAULTFD)${criuSays ? `; criu: ${criuSays}` : ''}; ${why}`,
      fix: 'nothing needed for eager restores; for lazy pages use a kernel built with CONFIG_USERFAULTFD',
    };
  }
  const value = sysctl?.trim();
  const unprivileged = value === '1';
  const root = euid === 0;
  const sysText = value === undefined ? '' : `vm.unprivileged_userfaultfd=${value}`;
  if (criuFeature && !criuOk) {
    return {
      ...base,
      status: 'warn',
      detail: `\`criu check --feature uffd-noncoop\`: ${criuSays || `exit ${criuFeature.code}`}${sysText ? ` (${sysText})` : ''}; ${why}`,
      fix: 'nothing needed for eager restores; lazy pages need a kernel with non-cooperative userfaultfd (>= 4.11)',
    };
  }
  if (!root && !unprivileged) {
    return {
      ...base,
      status: 'warn',
      detail: `userfaultfd exists, but ${sysText} and this is not root; ${why}`,
      fix: 'restore as root, or `sysctl vm.unprivileged_userfaultfd=1`',
    };
  }
  const via = criuOk ? `criu: ${criuSays}` : 'not confirmed with CRIU (no usable criu)';
  return { ...base, status: criuOk ? 'pass' : 'warn', detail: `${via}${sysText ? `; ${sysText}` : ''}` };
}

export function checkThp(enabled: string | undefined): DoctorCheck {
  const base = { id: 'thp', title: 'transparent huge pages' } as const;
  if (enabled === undefined) {
    return { ...base, status: 'pass', detail: 'not available on this kernel (nothing to do)' };
  }
  const mode = /\[(\w+)\]/.exec(enabled)?.[1] ?? enabled.trim();
  const note =
    mode === 'always'
      ? 'fine: on the machines defrost is tested on, small apps restored ~25% faster with it (docs/criu-and-node.md)'
      : 'fine; on the machines defrost is tested on, `always` made small apps restore faster and gave 1-3% throughput (echo always > /sys/kernel/mm/transparent_hugepage/enabled; docs/criu-and-node.md)';
  return { ...base, status: 'pass', detail: `mode ${mode}: ${note}` };
}

// ---------------------------------------------------------------------------------------------
// Node

/** What a probe of a node binary saw: io_uring rings at start, plainly and under defrost's filter. */
export interface IoUringProbe {
  /** The node that was probed (the one on PATH, which `defrost checkpoint -- node ...` runs). */
  readonly node: string;
  readonly nodeVersion?: string;
  readonly uvVersion?: string;
  /** Rings a plain start opens; undefined when the probe failed (then `error`). */
  readonly plainRings?: number;
  readonly filteredRings?: number;
  /** kernel.io_uring_disabled (0 allowed, 1 privileged only, 2 off); undefined when unknown. */
  readonly sysctl?: string;
  readonly error?: string;
}

export function checkIoUring(probe: IoUringProbe): DoctorCheck {
  const base = { id: 'io-uring', title: 'io_uring (CRIU cannot dump it)' } as const;
  if (probe.plainRings === undefined || probe.filteredRings === undefined) {
    return {
      ...base,
      status: 'warn',
      detail: `could not probe ${probe.node}: ${probe.error ?? 'no answer'}`,
      fix: 'check that node runs and that perl is installed (defrost starts apps through it)',
    };
  }
  const who = `Node ${probe.nodeVersion} (libuv ${probe.uvVersion}, ${probe.node})`;
  if (probe.filteredRings > 0) {
    return {
      ...base,
      status: 'fail',
      detail: `${who} still opens ${probe.filteredRings} io_uring ring(s) under defrost's seccomp filter, so no app it runs can be frozen`,
      fix: 'report this with `defrost doctor --json`; meanwhile switch io_uring off for the host: sysctl kernel.io_uring_disabled=2',
    };
  }
  if (probe.plainRings === 0) {
    const why =
      probe.sysctl === '2'
        ? 'io_uring is switched off on this host (kernel.io_uring_disabled=2)'
        : 'its libuv opens none at start';
    return { ...base, status: 'pass', detail: `${who} opens no io_uring ring: ${why}` };
  }
  return {
    ...base,
    status: 'pass',
    detail:
      `${who} opens ${probe.plainRings} io_uring ring(s) at start (one per event loop, whatever UV_USE_IO_URING says), ` +
      'which CRIU cannot dump. defrost starts the apps it freezes (and the cold starts restore falls back to) ' +
      `under a seccomp filter that makes io_uring_setup fail, and libuv then uses epoll: ${probe.filteredRings} rings under it. ` +
      'A server started another way cannot be frozen: start it through `defrost checkpoint` or `defrost run`, or set kernel.io_uring_disabled=2',
  };
}

export function checkNodeVersion(
  nodeVersion: string,
  range: string | undefined,
  execPath: string,
): DoctorCheck {
  const base = { id: 'node', title: 'Node.js version' } as const;
  const binary = `an image restores only with this exact node binary (${execPath})`;
  if (!range) {
    return {
      ...base,
      status: 'warn',
      detail: `Node ${nodeVersion}; the tested range (package.json engines) could not be read; ${binary}`,
    };
  }
  const ok = satisfiesRange(nodeVersion, range);
  if (ok === undefined) {
    return {
      ...base,
      status: 'warn',
      detail: `Node ${nodeVersion}; cannot compare with the tested range "${range}"`,
    };
  }
  if (!ok) {
    return {
      ...base,
      status: 'warn',
      detail: `Node ${nodeVersion} is outside the tested range ${range} (package.json engines); it may work, but CRIU's interplay with V8 and libuv was measured on the tested range only`,
      fix: `use a Node version matching ${range}`,
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `Node ${nodeVersion} is in the tested range ${range}; ${binary}`,
  };
}

export function checkExposeGc(result: CommandResult | undefined): DoctorCheck {
  const base = { id: 'expose-gc', title: '--expose-gc in NODE_OPTIONS' } as const;
  if (result?.code === 0 && result.stdout.trim() === 'function') {
    return {
      ...base,
      status: 'pass',
      detail:
        'node accepts --expose-gc in NODE_OPTIONS; `defrost checkpoint` passes it so garbage is collected before the freeze (smaller image, faster restore)',
    };
  }
  const said = result
    ? (result.error ?? lastLines(`${result.stdout}\n${result.stderr}`, 2).join(' / '))
    : 'not run';
  return {
    ...base,
    status: 'warn',
    detail: `node did not expose gc with NODE_OPTIONS=--expose-gc (${said || `exit ${result?.code}`}); the plugin falls back to a run-time flag, with a warning`,
    fix: 'start the server as `node --expose-gc app.js`',
  };
}

export function checkRestoreTools(
  found: Readonly<Record<'setpriv' | 'unshare' | 'perl', string | undefined>>,
): DoctorCheck {
  const base = {
    id: 'restore-tools',
    title: 'setpriv, unshare and perl (used to start and restore apps)',
  } as const;
  const missing = Object.entries(found)
    .filter(([, path]) => !path)
    .map(([name]) => name);
  if (missing.length > 0) {
    return {
      ...base,
      status: 'fail',
      detail: `missing on PATH: ${missing.join(', ')}; \`defrost restore\` runs criu under \`setpriv --pdeathsig KILL unshare --pid --fork --mount-proc\` with a perl reaper, and apps start through perl (the io_uring filter)`,
      fix: 'sudo apt-get install util-linux perl-base (setpriv and unshare are in util-linux)',
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `setpriv at ${found.setpriv}, unshare at ${found.unshare}, perl at ${found.perl}`,
  };
}

export function checkFastRestore(
  binary: { readonly path: string; readonly executable: boolean },
  cache: { readonly dir: string; readonly state: 'trusted' | 'missing' | 'untrusted' },
): DoctorCheck {
  const base = { id: 'fast-restore', title: 'native fast path of `defrost restore`' } as const;
  if (!binary.executable) {
    return {
      ...base,
      status: 'warn',
      detail: `${binary.path} was not built: every restore starts Node and loads the command line first, which costs tens of milliseconds (docs/architecture.md, "The fast path of defrost restore")`,
      fix: 'install a C compiler (`sudo apt-get install gcc`) and rebuild the CLI (`pnpm --filter defrost build`)',
    };
  }
  if (cache.state === 'untrusted') {
    return {
      ...base,
      status: 'warn',
      detail: `${cache.dir} is not owned by this user or is writable by others: launch plans (and the verified-image cache) are not used, every restore goes through Node and hashes the image`,
      fix: `sudo chown "$(id -u)" ${cache.dir} && sudo chmod 0700 ${cache.dir} (or delete it: it is only a cache)`,
    };
  }
  return {
    ...base,
    status: 'pass',
    detail: `${binary.path}: an image restored once restores without Node while it is unchanged (launch plans in ${cache.dir})`,
  };
}
