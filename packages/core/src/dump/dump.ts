import { closeSync, constants, openSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { auditOpenResources, formatAuditErrors, type ListeningSocket } from '../audit/index.js';
import { type Libcriu, loadLibcriu } from '../criu/libcriu.js';
import { readLogExcerpt } from '../criu/log.js';
import type { CriuLogLevel } from '../criu/options.js';
import { type CriuService, criuServiceForDump } from '../criu/service.js';
import { asCheckpointError, CheckpointError } from '../errors.js';
import {
  assertImageTarget,
  createStagingDir,
  currentHostFacts,
  discardStaging,
  type HostFacts,
  type ImageManifest,
  type ManifestFacts,
  rememberVerified,
  sealImage,
} from '../image/index.js';
import { loadLibc, SO_REUSEPORT, SOL_SOCKET } from '../native/libc.js';
import { MIB } from '../units.js';
import { type RestoreSettings, readRestoreSettings, sendControlEvent } from './control.js';
import { installPlaceholders, type Placeholders } from './placeholders.js';

export interface DumpOptions {
  /** Where the image goes. Written to a sibling first and renamed into place only when complete. */
  readonly imageDir: string;
  /** Replace an existing image (atomically) instead of refusing. */
  readonly force?: boolean;
  /** CRIU's log verbosity for the dump (0-4); the log is kept in the image as dump.log. */
  readonly logLevel?: CriuLogLevel;
  /** Sign the manifest (HMAC-SHA256) so that only holders of the key can restore the image. */
  readonly signingKey?: Buffer | string;
  readonly keyId?: string;
  /** Listening sockets to record in the manifest; SO_REUSEPORT is set on them unless `reusePort` is false. */
  readonly listening?: readonly ListeningSocket[];
  readonly reusePort?: boolean;
  /** Opaque summary of the warm-up, stored in the manifest. */
  readonly warmup?: unknown;
  readonly criuBinary?: string;
  /** A running `criu service` to dump through (default: DEFROST_CRIU_SERVICE, set by the launcher
   * that started this app; without one, a private service is started for the dump). */
  readonly criuServiceAddress?: string;
}

/** The restored copy's view of its restore. */
export interface RestoreSession {
  readonly settings: RestoreSettings;
  readonly imageCreatedAt: string;
  /** Wall-clock milliseconds from the restorer starting to this process running again. */
  readonly resumedAfterMs: number;
  /** Tells the restorer the copy is ready to serve (call after afterRestore hooks). */
  ready(hooksMs: number): void;
  /** Tells the restorer the copy cannot serve; it will report the message and fail. */
  fail(message: string): void;
}

export type DumpResult =
  | { readonly restored: false; readonly manifest: ImageManifest; readonly durationMs: number }
  | { readonly restored: true; readonly session: RestoreSession };

/** Less room than any Node process's image needs: the file system is full for this purpose. */
const FULL_BELOW_BYTES = MIB;

async function almostFull(dir: string): Promise<boolean> {
  const fs = await statfs(dir).catch(() => undefined);
  return fs !== undefined && fs.bavail * fs.bsize < FULL_BELOW_BYTES;
}

/** Why CRIU failed, for the user: a full disk, or the resources that cannot be frozen. */
async function dumpFailure(result: number, stagingDir: string, imageDir: string): Promise<CheckpointError> {
  const log = await readLogExcerpt(`${stagingDir}/dump.log`);
  // A full disk may leave no room for CRIU's own line saying so: the space left tells as well.
  const full =
    log.lines.some((line) => line.includes('No space left on device')) || (await almostFull(stagingDir));
  await discardStaging(stagingDir);
  // CRIU's log says what kind of resource failed, not which one: name the culprits.
  const audit = await auditOpenResources().catch(() => undefined);
  const culprits = audit && audit.errors.length > 0 ? `\n${formatAuditErrors(audit.errors)}` : '';
  return new CheckpointError(
    full
      ? `no space left for the image on the file system of ${dirname(imageDir)} (${await freeSpace(dirname(imageDir))}); nothing was written: free some space or write the image elsewhere`
      : `CRIU could not dump this process (criu_dump returned ${result})${culprits}`,
    { step: 'dump', criuCode: result, log: { logFile: undefined, lines: log.lines } },
  );
}

/** "1.2 MiB free of 4.0 MiB"-style, for a message; never throws. */
async function freeSpace(dir: string): Promise<string> {
  const fs = await statfs(dir).catch(() => undefined);
  if (!fs) return 'free space unknown';
  const mib = (blocks: number) => `${((blocks * fs.bsize) / MIB).toFixed(1)} MiB`;
  return `${mib(fs.bavail)} free of ${mib(fs.blocks)}`;
}

function setReusePort(listening: readonly ListeningSocket[]): void {
  const libc = loadLibc();
  for (const socket of listening) {
    if (socket.family === 'unix') continue;
    if (libc.setsockoptInt(socket.fd, SOL_SOCKET, SO_REUSEPORT, 1) !== 0) {
      throw new CheckpointError(
        `cannot set SO_REUSEPORT on listening fd ${socket.fd} (errno ${libc.errno()})`,
        {
          step: 'prepare',
        },
      );
    }
  }
}

function restoredSession(placeholders: Placeholders, imageCreatedAt: string): RestoreSession {
  const settings = readRestoreSettings(placeholders.controlInFd);
  const resumedAfterMs = Date.now() - settings.startedAtEpochMs;
  let done = false;
  const finish = (send: () => void): void => {
    if (done) return;
    done = true;
    try {
      send();
    } finally {
      placeholders.closeControl();
    }
  };
  return {
    settings,
    imageCreatedAt,
    resumedAfterMs,
    ready: (hooksMs) =>
      finish(() =>
        sendControlEvent(placeholders.controlOutFd, { event: 'ready', pid: process.pid, hooksMs }),
      ),
    fail: (message) =>
      finish(() => sendControlEvent(placeholders.controlOutFd, { event: 'failed', message })),
  };
}

interface DumpPreparation {
  readonly libcriu: Libcriu;
  readonly host: HostFacts;
  readonly createdAt: string;
  readonly stagingDir: string;
  readonly service: CriuService;
  readonly imagesDirFd: number;
  readonly placeholders: Placeholders;
}

/** Everything up to CRIU's dump. On failure, all of it is undone before the error is thrown. */
async function prepareDump(options: DumpOptions): Promise<DumpPreparation> {
  const libcriu = (() => {
    try {
      return loadLibcriu();
    } catch (cause) {
      throw new CheckpointError((cause as Error).message, { step: 'criu', cause });
    }
  })();
  // Refuse an existing image before dumping anything (sealing checks again, atomically).
  await assertImageTarget(options.imageDir, { force: options.force ?? false });
  const host = await currentHostFacts();
  const createdAt = new Date().toISOString();
  const stagingDir = await createStagingDir(options.imageDir);
  const service = await criuServiceForDump({
    address: options.criuServiceAddress,
    criuBinary: options.criuBinary,
  }).catch(async (error: unknown) => {
    await discardStaging(stagingDir);
    throw error;
  });
  let imagesDirFd = -1;
  let placeholders: Placeholders | undefined;
  try {
    if (options.reusePort !== false && options.listening) setReusePort(options.listening);
    imagesDirFd = openSync(stagingDir, constants.O_RDONLY | constants.O_DIRECTORY);
    libcriu.configure({
      serviceAddress: service.address,
      imagesDirFd,
      logFile: 'dump.log',
      logLevel: options.logLevel ?? 4,
      leaveRunning: true,
      shellJob: true,
    });
    placeholders = await installPlaceholders();
    // Memory freed by the beforeCheckpoint hooks (database caches, buffers) often stays in glibc's
    // heap; every page of it would be written to the image and read back at every restore.
    loadLibc().mallocTrim();
    return { libcriu, host, createdAt, stagingDir, service, imagesDirFd, placeholders };
  } catch (error) {
    placeholders?.restoreOriginalStdio();
    placeholders?.closeControl();
    if (imagesDirFd >= 0) closeSync(imagesDirFd);
    await service.stop();
    await discardStaging(stagingDir);
    throw asCheckpointError(error, 'checkpoint failed before CRIU ran');
  }
}

/** Undoes prepareDump: stdio back, control channel closed, CRIU stopped, nothing left on disk. */
async function abandonDump(prepared: DumpPreparation): Promise<void> {
  prepared.placeholders.restoreOriginalStdio();
  prepared.placeholders.closeControl();
  closeSync(prepared.imagesDirFd);
  await prepared.service.stop();
  await discardStaging(prepared.stagingDir);
}

/**
 * Does everything a checkpoint does up to CRIU's dump, then undoes it: nothing is written and the
 * process goes on as before. See `rehearseCheckpoint` for why that is worth doing.
 */
export async function rehearseDump(options: DumpOptions): Promise<void> {
  await abandonDump(await prepareDump(options));
}

/**
 * Dumps the calling process with CRIU and keeps it running.
 *
 * Resolves `{ restored: false }` in the original once the image is sealed, and
 * `{ restored: true }` in every copy restored from it. The original is always left running:
 * the image is sealed (hashed, manifest written, renamed into place) by the original after the
 * dump, and a caller that only wanted the image exits afterwards. On failure nothing that looks
 * like an image is left behind and the process goes on as before.
 */
export async function dumpSelf(options: DumpOptions): Promise<DumpResult> {
  const started = performance.now();
  const prepared = await prepareDump(options);
  const { libcriu, host, createdAt, stagingDir, service, imagesDirFd, placeholders } = prepared;
  let result: number;
  try {
    // From here until dump() returns, stdio goes to placeholder files: nothing may be logged.
    result = libcriu.dump();
  } catch (error) {
    await abandonDump(prepared);
    throw asCheckpointError(error, 'checkpoint failed before CRIU ran');
  }
  closeSync(imagesDirFd);

  if (result === 1) return { restored: true, session: restoredSession(placeholders, createdAt) };

  placeholders.restoreOriginalStdio();
  placeholders.closeControl();
  await service.stop();
  if (result < 0) throw await dumpFailure(result, stagingDir, options.imageDir);

  const durationMs = performance.now() - started;
  const facts: ManifestFacts = {
    node: {
      version: process.version,
      execPath: process.execPath,
      binarySha256: host.nodeBinarySha256,
      arch: process.arch,
      platform: process.platform,
    },
    kernel: host.kernel,
    ...(host.cpuFeatures ? { cpu: { features: host.cpuFeatures } } : {}),
    criu: { version: libcriu.version.text },
    process: { pid: process.pid, argv: process.argv, execArgv: process.execArgv, cwd: process.cwd() },
    listening: (options.listening ?? []).map((s) => ({ ...s })),
    stdio: { ...placeholders.keys, imagesDirKey: stagingDir.replace(/^\/+/, '') },
    ...(options.warmup !== undefined ? { warmup: options.warmup } : {}),
    checkpoint: { durationMs: Math.round(durationMs), createdAt },
  };
  try {
    const manifest = await sealImage({
      stagingDir,
      imageDir: options.imageDir,
      facts,
      ...(options.signingKey !== undefined ? { signingKey: options.signingKey } : {}),
      ...(options.keyId !== undefined ? { keyId: options.keyId } : {}),
      force: options.force ?? false,
    });
    // Sealing just hashed every file: the first restore need not do it again.
    await rememberVerified(options.imageDir, manifest);
    return { restored: false, manifest, durationMs };
  } catch (error) {
    await discardStaging(stagingDir);
    throw error;
  }
}
