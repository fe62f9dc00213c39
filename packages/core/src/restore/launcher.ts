import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireCriuBinary } from '../criu/version.js';
import { CriuUnavailableError, type DefrostError, RestoreError } from '../errors.js';
import { currentHostFacts, type ImageManifest, verifyImage } from '../image/index.js';
import { resolveSigningKey } from '../image/signing-key.js';
import { emitProcessWarning } from '../image/warning.js';
import { findOnPath } from '../process/find-executable.js';
import { signalPid, stopPid, waitForPidGone } from '../process/pid.js';
import { childrenOf } from '../process/tree.js';
import { type LaunchedCopy, launchCopy } from './copy.js';
import { inheritedDescriptors } from './criu-restore-command.js';
import { kdatCachePaths } from './kdat-cache.js';
import { writeLaunchPlan } from './launch-plan.js';

export interface RestoreOptions {
  /** Environment applied in the restored process before its afterRestore hooks. */
  readonly env?: Readonly<Record<string, string>>;
  /** Port to listen on after restore (the Fastify plugin re-listens there). */
  readonly port?: number;
  /** Index of this copy when several are restored at once. */
  readonly copy?: number;
  /** Key the image must be signed with (HMAC); an unsigned or differently signed image is refused.
   * Default: the host's key (DEFROST_SIGNING_KEY_FILE, or /etc/defrost/signing-key when it exists:
   * image/signing-key.ts), which then makes a signature required; none when the host has none. */
  readonly signingKey?: Buffer | string;
  /** The key as a file (image/signing-key.ts): what a launch plan can record and check. */
  readonly signingKeyFile?: string;
  readonly requireSignature?: boolean;
  /** Descriptors the restored server writes to (default: this process's stdout and stderr). */
  readonly stdout?: number;
  readonly stderr?: number;
  /** How long to wait for the restored server to report ready (default 30 s). */
  readonly readyTimeoutMs?: number;
  readonly logLevel?: number;
  readonly criuBinary?: string;
  /** Skip hash verification (only for callers that verified the image themselves). */
  readonly skipVerify?: boolean;
  /** Keep CRIU's kernel-feature cache between restores (default true; see kdat-cache.ts). */
  readonly kdatCache?: boolean;
  /** Fill memory on demand through userfaultfd (a `criu lazy-pages` daemon per restore); falls
   * back to an eager restore when the daemon or the lazy restore fails. */
  readonly lazyPages?: boolean;
  /** Notices that do not stop the restore (e.g. a fallback to eager paging). */
  readonly onWarning?: (message: string) => void;
  /** Test seam: the binary started as the lazy-pages daemon (default: the criu binary). */
  readonly lazyPagesDaemon?: string;
  /**
   * Once the copy is ready, write this image's launch plan (launch-plan.ts) so that the next
   * `defrost restore` of it can skip Node. Only done for restores with every default (no signing
   * key, no custom CRIU or descriptors) whose checks raised no warning.
   */
  readonly recordLaunchPlan?: boolean;
}

export interface RestoreTimings {
  /** Finding CRIU, reading and verifying the image. */
  readonly checksMs: number;
  /** From spawning the restore to the server reporting ready. */
  readonly launchToReadyMs: number;
  /** CRIU's own time from its start to "Restore finished successfully" (its log). */
  readonly criuMs: number | undefined;
  /** Whether memory was restored lazily (false also after a fallback to eager). */
  readonly lazyPages: boolean;
}

export interface ServerExit {
  /** Exit status as a shell reports it (128+N for signal N). */
  readonly status: number;
}

export interface RestoredServer {
  readonly manifest: ImageManifest;
  readonly restoreId: string;
  /** PID of the restored server as this machine sees it (it has another one inside its namespace). */
  readonly pid: number;
  /** PID of the launcher process (unshare) that holds the copy's namespace. */
  readonly launcherPid: number;
  /** From calling restore() to the server reporting ready (after its afterRestore hooks). */
  readonly readyMs: number;
  /** Time spent by the server's afterRestore hooks, as it reported. */
  readonly hooksMs: number;
  /** Where the time went: checks before CRIU, CRIU's own restore (from its log), and the rest. */
  readonly timings: RestoreTimings;
  /** Resolves when the server (and its namespace) has ended. */
  readonly exited: Promise<ServerExit>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (graceful), then SIGKILL after graceMs; resolves once everything is gone. */
  stop(graceMs?: number): Promise<ServerExit>;
}

/**
 * Whether a restore with these options is the one a launch plan replays: every default, and a
 * signing key only as a file (the plan records which one, the native launcher checks it).
 */
function plannable(o: RestoreOptions): boolean {
  return (
    o.signingKey === undefined &&
    !o.skipVerify &&
    o.criuBinary === undefined &&
    (o.logLevel ?? 4) === 4 &&
    o.kdatCache !== false &&
    o.lazyPagesDaemon === undefined &&
    o.readyTimeoutMs === undefined &&
    o.stdout === undefined &&
    o.stderr === undefined
  );
}

/** The PID a process has in its innermost namespace (last field of NSpid in /proc/PID/status). */
async function innermostPid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const line = /^NSpid:\s*(.+)$/m.exec(status)?.[1];
  return line ? Number(line.trim().split(/\s+/).at(-1)) : undefined;
}

/**
 * The restored server among the launcher's descendants (unshare -> the namespace's shell -> the
 * reaper -> the server), found by the PID it had when frozen: other processes live there too
 * (a lazy-pages daemon).
 */
async function serverPidOf(launcherPid: number, frozenPid: number): Promise<number | undefined> {
  const queue = await childrenOf(launcherPid);
  for (let visited = 0; queue.length > 0 && visited < 64; visited++) {
    const pid = queue.shift()!;
    if ((await innermostPid(pid)) === frozenPid) return pid;
    queue.push(...(await childrenOf(pid)));
  }
  return undefined;
}

/** The programs every restore runs (criu-restore-command.ts), found on PATH before anything starts. */
const RESTORE_TOOLS = ['setpriv', 'unshare', 'perl'] as const;

async function requireRestoreTools(): Promise<void> {
  const found = await Promise.all(RESTORE_TOOLS.map((tool) => findOnPath(tool)));
  const missing = RESTORE_TOOLS.filter((_, i) => found[i] === undefined);
  if (missing.length === 0) return;
  const cause = new CriuUnavailableError(
    'restore-tools-missing',
    `${missing.join(', ')} missing on PATH: a restore runs criu under \`setpriv --pdeathsig KILL unshare --pid --fork --mount-proc\` with a perl reaper`,
    {
      hint: 'install them (Debian and Ubuntu: apt-get install util-linux perl-base); `defrost doctor` checks them',
    },
  );
  throw new RestoreError(cause.message, { step: 'tools', cause });
}

/**
 * Restores one copy of an image, supervised: verifies the image first (hashes, signature,
 * compatibility), restores it in a fresh PID namespace with this process's stdout/stderr,
 * hands over restore-time settings, and resolves once the server reports ready.
 */
export async function restore(imageDir: string, options: RestoreOptions = {}): Promise<RestoredServer> {
  const started = performance.now();
  const startedAtEpochMs = Date.now();
  const dir = resolve(imageDir);
  const criu = await requireCriuBinary(options.criuBinary).catch((cause: DefrostError) => {
    throw new RestoreError(cause.message, { step: 'criu', cause });
  });
  await requireRestoreTools();
  const checked = await checkImage(dir, options, criu.version.text);
  const checksMs = performance.now() - started;
  const kdat = options.kdatCache === false ? undefined : await kdatCachePaths(criu.version.text);
  const launched = await launchWithFallback(options, (lazyPages) =>
    launchCopy({
      dir,
      inherit: checked.inherit,
      serverPid: checked.manifest.process.pid,
      criuPath: criu.path,
      kdat,
      lazyPages,
      startedAtEpochMs,
      env: options.env ?? {},
      port: options.port,
      copy: options.copy ?? 0,
      stdout: options.stdout ?? 1,
      stderr: options.stderr ?? 2,
      logLevel: options.logLevel ?? 4,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      lazyPagesDaemon: options.lazyPagesDaemon,
    }),
  );
  const readyMs = performance.now() - started;
  const kdatFile = kdat?.load ?? kdat?.save;
  if (options.recordLaunchPlan && !checked.warned && kdatFile && plannable(options)) {
    await writeLaunchPlan({
      imageDir: dir,
      manifest: checked.manifest,
      criuPath: criu.path,
      kdatFile,
      nodePath: process.execPath,
      signingKeyFile: checked.keyFile,
    });
  }
  const { launchToReadyMs, criuMs, lazyPages } = launched;
  return restoredServer(checked.manifest, launched, readyMs, {
    checksMs,
    launchToReadyMs,
    criuMs,
    lazyPages,
  });
}

interface CheckedImage {
  readonly manifest: ImageManifest;
  readonly inherit: NonNullable<ReturnType<typeof inheritedDescriptors>>;
  /** Whether a check warned (such a restore leaves no launch plan, whose launcher cannot warn). */
  readonly warned: boolean;
  /** The key file the signature was checked with, when it came from a file. */
  readonly keyFile: string | undefined;
}

/** Verifies the image against this host: hashes, signature, compatibility. */
async function checkImage(dir: string, options: RestoreOptions, criuVersion: string): Promise<CheckedImage> {
  let warned = false;
  // A key given as bytes, else the key file given, else the host's (which makes it required).
  const keyFile =
    options.signingKey === undefined ? await resolveSigningKey(options.signingKeyFile) : undefined;
  const signingKey = options.signingKey ?? keyFile?.key;
  const manifest = await verifyImage(dir, {
    ...(signingKey !== undefined ? { signingKey } : {}),
    requireSignature: (options.requireSignature ?? false) || keyFile !== undefined,
    host: { ...(await currentHostFacts()), criuVersion },
    skipHashes: options.skipVerify ?? false,
    onWarning: (w) => {
      warned = true;
      emitProcessWarning(w);
    },
  });
  const inherit = inheritedDescriptors(manifest.stdio);
  if (!inherit) {
    throw new RestoreError(
      `image ${dir} was made by an older defrost (no imagesDirKey in its manifest); rebuild it`,
      { step: 'verify' },
    );
  }
  return { manifest, inherit, warned, keyFile: keyFile?.keyFile };
}

/** A lazy-pages restore that fails before the copy ran is retried eagerly. */
async function launchWithFallback(
  options: RestoreOptions,
  launch: (lazyPages: boolean) => Promise<LaunchedCopy>,
): Promise<LaunchedCopy> {
  if (!options.lazyPages) return launch(false);
  try {
    return await launch(true);
  } catch (error) {
    // Nothing of the copy ran yet (it never reported ready): restoring eagerly is safe.
    if (!(error instanceof RestoreError) || error.step === 'hooks') throw error;
    options.onWarning?.(`lazy-pages restore failed, restoring eagerly instead: ${error.message}`);
    return launch(false);
  }
}

async function restoredServer(
  manifest: ImageManifest,
  launched: LaunchedCopy,
  readyMs: number,
  timings: RestoreTimings,
): Promise<RestoredServer> {
  const { child, exited, launcherPid, restoreId, hooksMs } = launched;
  const pid = await serverPidOf(launcherPid, manifest.process.pid);
  if (pid === undefined) {
    await stopPid(launcherPid, 1_000);
    throw new RestoreError('restored server vanished right after reporting ready', { step: 'ready' });
  }
  return {
    manifest,
    restoreId,
    pid,
    launcherPid,
    readyMs,
    hooksMs,
    timings,
    exited,
    signal: (signal) => {
      signalPid(pid, signal);
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        signalPid(pid, 'SIGTERM');
        const done = await Promise.race([exited, sleep(graceMs, undefined, { ref: false })]);
        if (!done) {
          signalPid(pid, 'SIGKILL');
          signalPid(launcherPid, 'SIGKILL');
        }
      }
      const exit = await exited;
      await waitForPidGone(pid, 10_000);
      await waitForPidGone(launcherPid, 10_000);
      return exit;
    },
  };
}
