/** The contenders, in the order each round runs them: the app cold, defrost, and what users try instead. */
import { join } from 'node:path';
import {
  type Contender,
  coldContender,
  coreApiContender,
  type RestorePath,
  type RestorePathTally,
  restoreCommandContender,
} from '../contenders.js';
import type { ContenderId } from '../model.js';
import { waitForFirstResponse } from '../probes/http.js';
import { type Paths, relativeToRepo } from '../setup.js';
import { type RunContext, startPlain, withServer } from './context.js';
import { FIRST_RESPONSE_TIMEOUT_MS, type Images } from './prepare.js';

export interface LineUp {
  readonly contenders: readonly Contender[];
  /** Which restore path (fast, without Node, or full) each contender's measured starts took. */
  readonly restorePaths: Map<ContenderId, RestorePathTally>;
  countRestorePath(id: ContenderId, path: RestorePath | undefined): void;
  /** Stops the core API contender's long-lived restorer. */
  close(): Promise<void>;
}

export async function lineUp(ctx: RunContext, images: Images): Promise<LineUp> {
  const contenders: Contender[] = [coldStart(ctx), ...restoreCommands(ctx, images)];
  const core = await coreApiContender({
    pc: ctx.io.pc,
    helper: ctx.paths.coreRestorer,
    imageDir: images.imageDir,
    env: ctx.appEnv,
    origin: ctx.origin,
    logFile: ctx.logFile('core-api-restorer'),
  });
  contenders.push(core.contender, await compileCacheStart(ctx), floor(ctx, images));
  const restorePaths = new Map<ContenderId, RestorePathTally>();
  return {
    contenders,
    restorePaths,
    countRestorePath(id, path) {
      if (!path) return;
      const tally = restorePaths.get(id) ?? { fast: 0, full: 0, reasons: new Set<string>() };
      if (path.fast) tally.fast++;
      else {
        tally.full++;
        tally.reasons.add(path.reason ?? '?');
      }
      restorePaths.set(id, tally);
    },
    close: () => core.close(),
  };
}

function coldStart(ctx: RunContext): Contender {
  return coldContender({
    id: 'cold',
    pc: ctx.io.pc,
    entry: ctx.paths.app,
    env: ctx.appEnv,
    origin: ctx.origin,
    command: `node ${ctx.appName}`,
  });
}

/**
 * `defrost restore` as a user runs it: the installed command (packages/cli/bin/defrost), which
 * restores without Node when the image has a launch plan. The first restore of an image (the
 * untimed warm-up round) goes through Node and writes the plan. DEFROST_DEBUG=1 makes it say
 * which path each start took, so the report can tell.
 */
function restoreCommands(ctx: RunContext, images: Images): Contender[] {
  const { paths } = ctx;
  const { imageDir } = images;
  const common = { pc: ctx.io.pc, imageDir, env: { ...ctx.appEnv, DEFROST_DEBUG: '1' }, origin: ctx.origin };
  const defrost = restoreCommandContender({
    id: 'defrost',
    ...common,
    ...restoreVia(ctx.paths, imageDir),
    full: true,
    ...(paths.cli
      ? {}
      : {
          note: 'stand-in for `defrost restore` (packages/cli not built): a fresh node process calling restore() of @defrost/core',
        }),
  });
  if (!paths.cli) return [defrost];
  return [
    defrost,
    // Memory paged in through userfaultfd instead of before the server resumes.
    restoreCommandContender({
      id: 'defrost (lazy pages)',
      ...common,
      ...restoreVia(ctx.paths, imageDir, ['--lazy-pages']),
      full: true,
      note: 'a criu lazy-pages daemon per restore fills memory on demand (userfaultfd)',
    }),
    ...signedRestore(ctx, images),
    // The full path every time: what the native launcher saves.
    restoreCommandContender({
      id: 'defrost (node CLI)',
      ...common,
      env: ctx.appEnv,
      args: [paths.cli, 'restore', imageDir],
      command: `node ${relativeToRepo(paths.cli)} restore ${imageDir}`,
      full: false,
      note: 'the full command line in Node on every start (what `defrost restore` does when it has no launch plan)',
    }),
  ];
}

/**
 * `defrost restore` of the signed image on a host that requires signatures (its key in
 * DEFROST_SIGNING_KEY_FILE): every start checks the signature, and should still take the fast path.
 */
function signedRestore(ctx: RunContext, images: Images): Contender[] {
  if (!images.signed) return [];
  const { imageDir, keyFile } = images.signed;
  const via = restoreVia(ctx.paths, imageDir);
  return [
    restoreCommandContender({
      id: 'defrost (signed image)',
      pc: ctx.io.pc,
      ...via,
      imageDir,
      env: { ...ctx.appEnv, DEFROST_DEBUG: '1', DEFROST_SIGNING_KEY_FILE: keyFile },
      origin: ctx.origin,
      command: `DEFROST_SIGNING_KEY_FILE=${keyFile} ${via.command}`,
      full: false,
      note: 'the app signed at checkpoint (--signing-key-file), restored where the host requires signatures',
    }),
  ];
}

/** The `defrost restore` command line, or the stand-in on @defrost/core when the CLI is not built. */
export function restoreVia(
  paths: Paths,
  dir: string,
  extra: readonly string[] = [],
): { file?: string; args: string[]; command: string } {
  const { defrost, restoreStandIn } = paths;
  return defrost
    ? {
        file: defrost,
        args: ['restore', dir, ...extra],
        command: ['defrost', 'restore', dir, ...extra].join(' '),
      }
    : { args: [restoreStandIn, dir], command: `node ${relativeToRepo(restoreStandIn)} ${dir}` };
}

/** What a Node user would try first instead of defrost: the on-disk compile cache, filled once. */
async function compileCacheStart(ctx: RunContext): Promise<Contender> {
  const cacheDir = join(ctx.work, 'compile-cache');
  const env = { ...ctx.appEnv, NODE_COMPILE_CACHE: cacheDir };
  ctx.io.progress('setup: filling the compile cache with one untimed cold start');
  await withServer(
    ctx,
    () => startPlain(ctx, ctx.paths.app, env, ctx.logFile('compile-cache-fill')),
    (h) => waitForFirstResponse(ctx.origin, '/', { timeoutMs: FIRST_RESPONSE_TIMEOUT_MS, failed: h.failed }),
  );
  return coldContender({
    id: 'cold+compile-cache',
    pc: ctx.io.pc,
    entry: ctx.paths.app,
    env,
    origin: ctx.origin,
    command: `NODE_COMPILE_CACHE=${cacheDir} node ${ctx.appName}`,
    note: 'cache filled by one untimed start in setup',
  });
}

/** The floor: how fast any restore of a Node process can answer here (a trivial server). */
function floor(ctx: RunContext, images: Images): Contender {
  const via = restoreVia(ctx.paths, images.floorDir);
  return restoreCommandContender({
    id: 'floor',
    pc: ctx.io.pc,
    ...via,
    imageDir: images.floorDir,
    env: { ...images.floorEnv, DEFROST_DEBUG: '1' },
    origin: images.floorOrigin,
    command: `${via.command} (image of node ${relativeToRepo(ctx.paths.floorServer)})`,
    full: false,
  });
}
