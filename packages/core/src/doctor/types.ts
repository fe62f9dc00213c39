export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One finding of `runDoctor`: what was looked at, what was found, and how to fix it. */
export interface DoctorCheck {
  /** Stable identifier, e.g. "criu", "capabilities", "kdat-cache". */
  readonly id: string;
  /** Short human title, e.g. "CRIU version". */
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found, in a sentence or two (names versions, paths, values). */
  readonly detail: string;
  /** What to do about a warn or fail (a command when there is one). */
  readonly fix?: string;
}

export interface DoctorReport {
  /** No check failed (warnings allowed). */
  readonly ok: boolean;
  readonly checks: readonly DoctorCheck[];
  readonly counts: { readonly pass: number; readonly warn: number; readonly fail: number };
  /** The CRIU binary that was found (on PATH) and its version, if any. */
  readonly criu: { readonly path?: string; readonly version?: string };
  /** True when CRIU or libcriu is missing or older than needed: `scripts/install-criu.sh` fixes it. */
  readonly needsCriuInstall: boolean;
}

/** Files the doctor reads; overridable so tests can fake the kernel boundary. */
export interface DoctorPaths {
  /** /proc/self/status (CapEff). */
  readonly procStatus: string;
  /** /proc/self/mounts (is /run a tmpfs?). */
  readonly mounts: string;
  /** /proc/sys/vm/unprivileged_userfaultfd. */
  readonly unprivilegedUffd: string;
  /** /sys/kernel/mm/transparent_hugepage/enabled. */
  readonly thp: string;
  /** Where CRIU 4.2 keeps its kernel-feature cache (hard-coded in CRIU): /run/criu.kdat. */
  readonly kdat: string;
  /** kernel.io_uring_disabled (Linux >= 6.6). */
  readonly ioUringSysctl: string;
  /** package.json whose engines.node is the tested Node range (default: @defrost/core's). */
  readonly packageJson: string;
}

export interface DoctorOptions {
  /**
   * Environment: PATH is where `criu`, `unshare` and `perl` are looked up (tests put fake
   * binaries first, or leave criu out; `node` there is the one probed for io_uring); NODE_OPTIONS
   * is inspected.
   * Default: process.env.
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Use this criu instead of looking it up on PATH. */
  readonly criuBinary?: string;
  /** Default libcriu.so.2. */
  readonly libcriuSoname?: string;
  /** Default process.version / process.execPath / os.release() / process.platform / process.geteuid(). */
  readonly nodeVersion?: string;
  readonly execPath?: string;
  readonly kernel?: string;
  readonly platform?: NodeJS.Platform;
  readonly euid?: number;
  readonly paths?: Partial<DoctorPaths>;
  /**
   * The directory where `defrost restore` keeps its own copy of CRIU's kernel-feature cache, for
   * restores on machines whose /run is not a tmpfs. Leave it unset while the restore launcher
   * keeps none: the doctor then says what every restore pays instead.
   */
  readonly restoreKdatCacheDir?: string;
  /**
   * The native fast path of `defrost restore` (the CLI's dist/defrost-fast-restore), to report
   * whether it was built. Unset (API users): no such check.
   */
  readonly fastRestoreBinary?: string;
  /** Per external command (default 30 s: `criu check` can take a while on a busy machine). */
  readonly timeoutMs?: number;
}
