/**
 * Launch plans: what lets `defrost restore` skip Node on the hot path.
 *
 * Starting Node and loading the command line costs more than CRIU's own restore on small
 * machines (~75 ms of node + CLI, plus ~90 ms more when NODE_EXTRA_CA_CERTS makes Node parse a
 * certificate bundle at startup). After a restore through the full path has verified an image
 * and the copy reported ready, the exact restore command is written here, in defrost's root-only
 * cache, together with the identity (device, inode, size, mtime, ctime) of every file it relied
 * on. The native launcher (packages/cli/native) runs the plan when every identity still matches,
 * and otherwise hands the command to the full path, which checks everything again and writes a
 * new plan. A plan is never the only thing standing between a user and an unchecked image: it
 * only exists for images that passed the full check, and any change to one of their files voids it.
 *
 * Format (text, one record per line, `KEY VALUE` with VALUE running to the end of the line, a
 * backslash written `\\` and a newline `\n` in it; paths are written as they are and plans are
 * simply not written for paths holding a newline or a backslash):
 *
 *   defrost-launch-plan 1            first line: the format
 *   image <realpath of the image>    the plan is for this image directory only
 *   kernel <uname -r>                a reboot into another kernel goes through the full path
 *   criu <path>                      what `criu` resolved to on PATH (must resolve the same)
 *   check <identity> <path>          one per file: image files, manifest, node, criu, action script
 *   kdat <path>                      CRIU's kernel-feature cache: loaded when present, else saved
 *   signing-key <path> | -           the key the image's signature was checked with (its identity
 *                                    is a `check`), or none; the launcher finds the key that
 *                                    applies now (--signing-key-file, DEFROST_SIGNING_KEY_FILE,
 *                                    /etc/defrost/signing-key) and must find the same
 *   cpu <fnv1a64>                    hash of the CPU features line of /proc/cpuinfo (image/cpu.ts)
 *   server-pid <pid>                 the frozen server's PID inside its namespace
 *   eager-arg <arg> / lazy-arg <arg> the restore command, one argument per line, `@WORK@` standing
 *                                    for the copy's private directory
 *   eager-env <K=V> / lazy-env <K=V> variables the command adds to the environment
 *
 * Descriptors (inheritedDescriptors() in criu-restore-command.ts): 0 /dev/null, 1 and 2 CRIU's
 * own output, 3 the server's stdout, 4 its stderr, 5 the settings file, 6 the control pipe's write
 * end, 7 the image directory.
 */
import { readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { release } from 'node:os';
import { basename, join } from 'node:path';
import { cacheDir, fileIdentity, pruneCache, writeCacheFile } from '../cache.js';
import { cpuFeaturesLine } from '../image/cpu.js';
import { type ImageManifest, MANIFEST_FILE } from '../image/manifest.js';
import { ACTION_SCRIPT, inheritedDescriptors, restoreCommand } from './criu-restore-command.js';

export const LAUNCH_PLAN_FORMAT = 'defrost-launch-plan 2';
/** Stands for the copy's private directory in a plan's arguments and variables. */
export const WORK_PLACEHOLDER = '@WORK@';
/** CRIU log level of plans (the same as restore()'s default). */
const PLAN_LOG_LEVEL = 4;

/** FNV-1a, 64 bits: names a plan after its image's real path (the native launcher computes the same). */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

export function launchPlanFile(realImageDir: string, dir = cacheDir()): string {
  return join(dir, `launch-${fnv1a64(realImageDir)}.plan`);
}

export interface LaunchPlanInput {
  /** The image directory as restore() used it (absolute). */
  readonly imageDir: string;
  readonly manifest: ImageManifest;
  /** The CRIU binary restore() resolved on PATH. */
  readonly criuPath: string;
  /** CRIU's kernel-feature cache file (kdat-cache.ts). */
  readonly kdatFile: string;
  /** The node binary whose hash matched the manifest's. */
  readonly nodePath: string;
  /** The key file the signature was checked with (a host policy or --signing-key-file), if any. */
  readonly signingKeyFile?: string | undefined;
}

/** A path goes into a plan as it is (the native launcher compares and opens it verbatim). */
function plainPath(path: string): boolean {
  return !/[\n\r\0\\]/.test(path) && !path.includes(WORK_PLACEHOLDER);
}

/** Arguments and variables may span lines (the restore prelude is a shell script). */
function escapeValue(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

/** The plan's text, or undefined when one of its values cannot be written on one line. */
export async function launchPlanText(
  input: LaunchPlanInput,
  actionScript: string,
): Promise<string | undefined> {
  const { manifest } = input;
  const realImage = await realpath(input.imageDir);
  const realNode = await realpath(input.nodePath);
  // The restored process maps the binary named in the manifest; only that one was hash-checked.
  if (realNode !== (await realpath(manifest.node.execPath).catch(() => ''))) return undefined;
  const inherit = inheritedDescriptors(manifest.stdio);
  if (!inherit) return undefined;
  const command = (lazyPages: boolean) =>
    restoreCommand({
      imageDir: input.imageDir,
      workDir: WORK_PLACEHOLDER,
      actionScript,
      logLevel: PLAN_LOG_LEVEL,
      serverPid: manifest.process.pid,
      inherit,
      criuBinary: input.criuPath,
      lazyPages,
    });
  const checked = [
    input.imageDir,
    join(input.imageDir, MANIFEST_FILE),
    ...Object.keys(manifest.files).map((name) => join(input.imageDir, name)),
    manifest.node.execPath,
    input.criuPath,
    actionScript,
    ...(input.signingKeyFile ? [input.signingKeyFile] : []),
  ];
  const lines = [
    LAUNCH_PLAN_FORMAT,
    `image ${realImage}`,
    `kernel ${release()}`,
    `criu ${input.criuPath}`,
    ...(await Promise.all(checked.map(async (path) => `check ${await fileIdentity(path)} ${path}`))),
    `kdat ${input.kdatFile}`,
    `signing-key ${input.signingKeyFile ?? '-'}`,
    `cpu ${fnv1a64(cpuFeaturesLine(await readFile('/proc/cpuinfo', 'utf8')))}`,
    `server-pid ${manifest.process.pid}`,
  ];
  for (const [variant, lazy] of [
    ['eager', false],
    ['lazy', true],
  ] as const) {
    const c = command(lazy);
    lines.push(...[c.file, ...c.args].map((a) => `${variant}-arg ${escapeValue(a)}`));
    lines.push(...Object.entries(c.env).map(([k, v]) => `${variant}-env ${escapeValue(`${k}=${v}`)}`));
  }
  // The placeholder must mean the private directory only: a path that holds it cannot be planned,
  // nor an --inherit-fd key (the manifest's, so anything: fuzzing found the launcher expanding one).
  const paths = [realImage, input.imageDir, input.criuPath, input.kdatFile, release(), ...checked];
  if (!paths.every(plainPath) || inherit.some(({ key }) => key.includes(WORK_PLACEHOLDER))) return undefined;
  return `${lines.join('\n')}\n`;
}

const ACTION_SCRIPT_NAME = 'restore-action-1.sh';

/** Writes (atomically) the shared action script and the plan; best effort, like every cache. */
export async function writeLaunchPlan(input: LaunchPlanInput, dir = cacheDir()): Promise<boolean> {
  const actionScript = join(dir, ACTION_SCRIPT_NAME);
  try {
    // Rewritten only when it differs: a new file would void every plan that checks the old one.
    if (
      (await readFile(actionScript, 'utf8').catch(() => '')) !== ACTION_SCRIPT &&
      !(await writeCacheFile(ACTION_SCRIPT_NAME, ACTION_SCRIPT, { mode: 0o700, dir }))
    )
      return false;
    const text = await launchPlanText(input, actionScript);
    const file = launchPlanFile(await realpath(input.imageDir), dir);
    if (text === undefined) {
      await rm(file, { force: true });
      return false;
    }
    if (!(await writeCacheFile(basename(file), text, { dir }))) return false;
    await pruneLaunchPlans(dir);
    await pruneCache(dir);
    return true;
  } catch {
    return false;
  }
}

/** Drops the plans of images that no longer exist (deleted images would otherwise leave them forever). */
export async function pruneLaunchPlans(dir = cacheDir()): Promise<number> {
  const names = (await readdir(dir).catch(() => [])).filter((n) => /^launch-[0-9a-f]{16}\.plan$/.test(n));
  let pruned = 0;
  for (const name of names) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => '');
    const image = /^image (.*)$/m.exec(text)?.[1];
    if (
      image !== undefined &&
      (await stat(image).then(
        () => true,
        () => false,
      ))
    )
      continue;
    await rm(join(dir, name), { force: true });
    pruned++;
  }
  return pruned;
}

/** Drops an image's plan (after a failed restore, so the next start does not try it first). */
export async function forgetLaunchPlan(imageDir: string, dir = cacheDir()): Promise<void> {
  const real = await realpath(imageDir).catch(() => undefined);
  if (real) await rm(launchPlanFile(real, dir), { force: true }).catch(() => undefined);
}
