/**
 * The workspace's packages as a user gets them: packed with `pnpm pack` (the only packer that
 * writes real version ranges for `workspace:^`), then installed from the tarballs into a fresh
 * project outside the monorepo with npm, pnpm or yarn classic.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export type PackageManager = 'npm' | 'pnpm' | 'yarn';

/** The package directories in this workspace, by role. */
export const WORKSPACE_PACKAGES = {
  core: fileURLToPath(new URL('../../../core', import.meta.url)),
  fastify: fileURLToPath(new URL('../../../fastify', import.meta.url)),
  cli: fileURLToPath(new URL('../../', import.meta.url)),
} as const;

export type Tarballs = Record<keyof typeof WORKSPACE_PACKAGES, string>;

/** yarn classic, run through npx: Node 25+ ships no corepack, and pnpm refuses yarn as a dependency. */
const YARN = 'yarn@1.22.22';

const own = createRequire(import.meta.url);
/** What the fresh projects install besides defrost: the versions this workspace builds and tests with. */
export const THIRD_PARTY = {
  fastify: (own('fastify/package.json') as { version: string }).version,
  typescript: (own('typescript/package.json') as { version: string }).version,
  '@types/node': (own('@types/node/package.json') as { version: string }).version,
};

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end (or kills it at the timeout); never throws: the caller asserts. */
export function run(
  file: string,
  args: readonly string[],
  o: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: o.cwd, env: o.env, timeout: o.timeoutMs ?? 180_000, maxBuffer: 64 << 20, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr: error && code === null ? `${stderr}\n${error.message}` : stderr });
      },
    );
  });
}

/** `file args` failed: its output, for the assertion message. */
export function describeRun(what: string, r: Run): string {
  return `${what} exited with ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/**
 * The environment of a user's shell: the variables the test runner's own pnpm set (npm_config_*,
 * npm_package_*, ...) and DEFROST_* are left out; the Node under test comes first on PATH; caches
 * (npm's, pnpm's store and metadata, yarn's) go to `caches`: nothing is written to the machine's
 * own, and nothing kept there (yarn serves local tarballs from its cache) installs an older build.
 * The machine's configuration (~/.npmrc: registry, proxy) still applies.
 */
export function userEnv(caches: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|yarn_|defrost_|vitest)/i.test(key) || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
  env.npm_config_cache = join(caches, 'npm');
  env.XDG_CACHE_HOME = join(caches, 'cache');
  env.XDG_DATA_HOME = join(caches, 'data');
  env.XDG_STATE_HOME = join(caches, 'state');
  env.NO_COLOR = '1';
  return env;
}

/** What arethetypeswrong reports on a tarball: where a resolution failed or found wrong types. */
export interface TypesProblem {
  readonly kind: string;
  readonly entrypoint: string;
  readonly resolutionKind: string;
}

/**
 * arethetypeswrong's command line (a devDependency of this package) on a tarball. Its JSON goes
 * to a file: written to a pipe, a large report is cut short when attw exits.
 */
export async function attw(tarball: string, args: readonly string[], env: NodeJS.ProcessEnv) {
  const manifest = own.resolve('@arethetypeswrong/cli/package.json');
  const { bin } = own(manifest) as { bin: { attw: string } };
  const report = `${tarball}.attw.json`;
  const command = [join(dirname(manifest), bin.attw), tarball, '--format', 'json', ...args];
  const out = await open(report, 'w');
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, command, { env, stdio: ['ignore', out.fd, 'inherit'] });
    child.once('error', reject).once('close', resolve);
  }).finally(() => out.close());
  const text = await readFile(report, 'utf8');
  const problems = (JSON.parse(text) as { analysis: { problems: TypesProblem[] } }).analysis.problems;
  return { code, problems };
}

/** `pnpm pack` of each package into `dest`. */
export async function packAll(dest: string): Promise<Tarballs> {
  const tarballs: Partial<Tarballs> = {};
  for (const [role, dir] of Object.entries(WORKSPACE_PACKAGES) as [keyof Tarballs, string][]) {
    const r = await run('pnpm', ['pack', '--pack-destination', dest, '--json'], { cwd: dir });
    if (r.code !== 0) throw new Error(describeRun(`pnpm pack in ${dir}`, r));
    tarballs[role] = (JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as { filename: string }).filename;
  }
  return tarballs as Tarballs;
}

/** package/package.json of a tarball. */
export async function packedManifest(tarball: string): Promise<Record<string, unknown>> {
  const r = await run('tar', ['-xzOf', tarball, 'package/package.json']);
  if (r.code !== 0) throw new Error(describeRun(`tar -xzOf ${tarball}`, r));
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** The entries of a tarball: path (without `package/`) -> mode string (e.g. "-rwxr-xr-x"). */
export async function tarballEntries(tarball: string): Promise<Map<string, string>> {
  const r = await run('tar', ['-tvzf', tarball]);
  if (r.code !== 0) throw new Error(describeRun(`tar -tvzf ${tarball}`, r));
  const entries = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const fields = line.split(/\s+/);
    entries.set(fields.at(-1)!.replace(/^package\//, ''), fields[0]!);
  }
  return entries;
}

/** `file:` specs of the tarballs, relative to the project (as a user writes them). */
function fileSpecs(project: string, tarballs: Tarballs) {
  const spec = (tarball: string) => `file:${relative(project, tarball)}`;
  return { core: spec(tarballs.core), fastify: spec(tarballs.fastify), cli: spec(tarballs.cli) };
}

function manifest(dependencies: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return `${JSON.stringify({ name: 'defrost-user-app', version: '1.0.0', private: true, dependencies, ...extra }, null, 2)}\n`;
}

/**
 * A fresh project in `project` with defrost's three tarballs, fastify and TypeScript installed by
 * `pm`. Throws with the package manager's output when the install fails.
 *
 * npm is given the tarballs on its command line, as a user would type it. pnpm and yarn would
 * look up the plugin's dependency on @defrost/core (`^0.1.0`) in the registry, where this build
 * is not published: an override (pnpm) or resolution (yarn) points it at the core tarball, which
 * is what the registry would serve once it is published.
 */
export async function installWith(
  pm: PackageManager,
  project: string,
  tarballs: Tarballs,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  await mkdir(project, { recursive: true });
  const files = fileSpecs(project, tarballs);
  const ours = { '@defrost/core': files.core, '@defrost/fastify': files.fastify, defrost: files.cli };
  let r: Run;
  if (pm === 'npm') {
    await writeFile(join(project, 'package.json'), manifest({}));
    const specs = [tarballs.core, tarballs.fastify, tarballs.cli].map((t) => relative(project, t));
    const others = Object.entries(THIRD_PARTY).map(([name, version]) => `${name}@${version}`);
    const args = ['install', '--no-audit', '--no-fund', ...specs, ...others];
    r = await run('npm', args, { cwd: project, env });
  } else if (pm === 'pnpm') {
    await writeFile(join(project, 'package.json'), manifest({ ...ours, ...THIRD_PARTY }));
    // koffi's install script is not needed (it ships prebuilt binaries); pnpm asks about it.
    const settings = `overrides:\n  '@defrost/core': '${files.core}'\nallowBuilds:\n  koffi: false\n`;
    await writeFile(join(project, 'pnpm-workspace.yaml'), settings);
    r = await run('pnpm', ['install', '--reporter', 'append-only'], { cwd: project, env });
  } else {
    const resolutions = { '@defrost/core': files.core };
    await writeFile(join(project, 'package.json'), manifest({ ...ours, ...THIRD_PARTY }, { resolutions }));
    const args = ['--yes', YARN, 'install', '--non-interactive', '--no-progress'];
    r = await run('npx', args, { cwd: project, env });
  }
  if (r.code !== 0) throw new Error(describeRun(`${pm} install in ${project}`, r));
}
