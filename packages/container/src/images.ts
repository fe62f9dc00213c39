/**
 * Container images of a workspace app, built with image/build.sh the way a user's CI would: the
 * app deployed with its production dependencies (`pnpm deploy --prod`), then the base image
 * (nothing baked in), the app frozen in a build container, and the image with the frozen app
 * baked in; the defrost image is also exported as a directory, for `defrost push`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ContainerTools } from './podman.js';
import { run } from './run.js';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const BUILD_SCRIPT = join(REPO_ROOT, 'packages/container/image/build.sh');

export interface AppImageOptions {
  readonly tools: ContainerTools;
  /** The workspace package to deploy, e.g. @defrost/container or @defrost/blog. */
  readonly workspacePackage: string;
  /** The cold start inside the container, relative to /app (the deployed package). */
  readonly command: readonly string[];
  /** e.g. localhost/defrost-test-app: gives NAME:base and NAME:baked. */
  readonly name: string;
  /** A directory of the caller's: the deployed app and the exported image go there. */
  readonly workDir: string;
  /** The node binary put in the image (the container's Node is always this one). */
  readonly nodeBinary: string;
  readonly env?: readonly string[];
  /** Built directories of the package that `pnpm deploy` leaves out (git-ignored), e.g. dist... */
  readonly builtDirs?: readonly string[];
  /** ...copied from this directory (the package's, e.g. apps/blog). */
  readonly packageDir?: string;
}

export interface AppImages {
  readonly base: string;
  readonly baked: string;
  /** The defrost image the baked one holds, as a directory. */
  readonly imageDir: string;
  /** Everything build.sh printed (the app's own output at checkpoint time included). */
  readonly log: string;
  readonly buildMs: number;
}

/**
 * The environment for `pnpm deploy`: without the npm_* variables that npx, npm and pnpm scripts
 * set for their children, which pnpm reads as its own configuration (a test started through npx
 * made it verify a different lockfile and hang).
 */
export function packageManagerEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/^npm_/i.test(key)));
}

export async function buildAppImages(o: AppImageOptions): Promise<AppImages> {
  const appDir = join(o.workDir, 'app');
  const imageDir = join(o.workDir, 'image');
  // From the store that `pnpm install` filled and verified, without the network (see build.sh).
  await run(
    'pnpm',
    ['--filter', o.workspacePackage, 'deploy', '--prod', '--offline', '--trust-lockfile', appDir],
    {
      cwd: REPO_ROOT,
      env: packageManagerEnv(),
    },
  );
  for (const dir of o.builtDirs ?? [])
    await run('cp', ['-a', join(o.packageDir ?? '', dir), join(appDir, dir)]);
  const base = `${o.name}:base`;
  const baked = `${o.name}:baked`;
  const started = performance.now();
  const args = [BUILD_SCRIPT, '--tag', baked, '--base-tag', base, '--checkpoint', '--export', imageDir];
  args.push('--app', appDir, '--node', o.nodeBinary);
  for (const e of o.env ?? []) args.push('--env', e);
  const { stdout, stderr } = await run('bash', [...args, '--', ...o.command], {
    env: o.tools.env,
    timeoutMs: 300_000,
  });
  return { base, baked, imageDir, log: `${stdout}${stderr}`, buildMs: performance.now() - started };
}
