/**
 * The three packages as a user installs them: packed with `pnpm pack`, their types checked with
 * arethetypeswrong, installed into fresh projects outside the monorepo with npm, pnpm and yarn
 * classic; there, used from CommonJS (`require` and `import()`) and from ESM, compiled by
 * TypeScript under node10 (`module: commonjs`), node16, nodenext and bundler resolution, and (npm)
 * a CommonJS Fastify app checkpointed and restored with node_modules/.bin/defrost.
 *
 * Network: the fresh projects install fastify and typescript from the npm registry, into caches
 * of the test's own, empty at the start and removed at the end: yarn classic serves a local
 * tarball from its cache by name and version, so a cache kept from an earlier run would install
 * the earlier build. About 60 packages per package manager; the whole file takes about a minute.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, killLeftovers, runCli, startCli, stopAll, waitGone } from '../helpers/cli.js';
import { freePort, getJson } from '../helpers/http.js';
import {
  attw,
  describeRun,
  installWith,
  type PackageManager,
  packAll,
  packedManifest,
  run,
  type Tarballs,
  tarballEntries,
  userEnv,
} from '../helpers/install.js';
import {
  compile,
  compiledEntries,
  expectedErrors,
  RESOLUTIONS,
  runCompiled,
  writeTypescriptApp,
} from '../helpers/typescript-app.js';

const INSTALL_TIMEOUT_MS = 240_000;

let work: string;
let tarballs: Tarballs;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-install-test-'));
  env = userEnv(join(work, 'caches'));
  await mkdir(join(work, 'tarballs'));
  tarballs = await packAll(join(work, 'tarballs'));
}, 120_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('name real version ranges of each other, no workspace: protocol', async () => {
    const core = await packedManifest(tarballs.core);
    const coreRange = `^${core.version}`;
    for (const tarball of Object.values(tarballs)) {
      const m = await packedManifest(tarball);
      const ranges = {
        ...(m.dependencies ?? {}),
        ...(m.peerDependencies ?? {}),
        ...(m.devDependencies ?? {}),
      };
      expect(Object.entries(ranges).filter(([, r]) => String(r).startsWith('workspace:'))).toEqual([]);
    }
    expect((await packedManifest(tarballs.fastify)).dependencies).toMatchObject({
      '@defrost/core': coreRange,
    });
    expect((await packedManifest(tarballs.cli)).dependencies).toMatchObject({ '@defrost/core': coreRange });
  });

  it('keep the engines of the workspace', async () => {
    for (const tarball of Object.values(tarballs)) {
      expect((await packedManifest(tarball)).engines).toEqual({ node: '^22.23.5 || ^24.22.3 || ^26.12.1' });
    }
  });

  it('the CLI holds what `defrost` runs, executable, and depends on what its bundle leaves out', async () => {
    const entries = await tarballEntries(tarballs.cli);
    expect(entries.get('bin/defrost')).toBe('-rwxr-xr-x');
    expect(entries.get('dist/defrost-fast-restore')).toBe('-rwxr-xr-x');
    expect(entries.has('dist/bin.js')).toBe(true);
    expect(entries.has('dist/agent.js')).toBe(true);
    // The bundles (bin.js, agent.js) leave koffi and undici outside (scripts/bundle.mjs), and the
    // doctor reads @defrost/core's package.json.
    expect(Object.keys((await packedManifest(tarballs.cli)).dependencies as object)).toEqual(
      expect.arrayContaining(['koffi', 'undici', '@defrost/core']),
    );
  });

  it('core and the plugin ship both builds, each with its types', async () => {
    for (const tarball of [tarballs.core, tarballs.fastify]) {
      const entries = await tarballEntries(tarball);
      for (const file of ['index.js', 'index.d.ts', 'index.cjs', 'index.d.cts'])
        expect(entries.has(`dist/${file}`), `${tarball}: dist/${file}`).toBe(true);
    }
  });

  it('arethetypeswrong: no problem in the plugin; in core, only the ESM-only agent', async () => {
    expect(await attw(tarballs.fastify, [], env)).toEqual({ code: 0, problems: [] });
    // @defrost/core/agent is a preload script for `node --import`, ES modules only: nothing to require.
    expect((await attw(tarballs.core, [], env)).problems).toEqual([
      { kind: 'NoResolution', entrypoint: './agent', resolutionKind: 'node10' },
      { kind: 'NoResolution', entrypoint: './agent', resolutionKind: 'node16-cjs' },
    ]);
  });

  it('arethetypeswrong: the CLI module is ESM-only, and nothing else is wrong', async () => {
    // `defrost` is a command; its module (the command-line program) is for ES modules only.
    expect(await attw(tarballs.cli, ['--profile', 'esm-only'], env)).toEqual({
      code: 0,
      problems: [
        { kind: 'NoResolution', entrypoint: '.', resolutionKind: 'node10' },
        { kind: 'CJSResolvesToESM', entrypoint: '.', resolutionKind: 'node16-cjs' },
      ],
    });
  });
});

const MANAGERS: readonly PackageManager[] = ['npm', 'pnpm', 'yarn'];

describe.each(MANAGERS)('installed with %s into a fresh project', (pm) => {
  let project: string;
  let typescriptDir: string;

  beforeAll(async () => {
    project = join(work, `app-${pm}`);
    await installWith(pm, project, tarballs, env);
    // Our declaration files are checked once (with npm's install): the layouts of pnpm and yarn
    // change how they are found, not what they say; checking fastify's and Node's types takes time.
    typescriptDir = await writeTypescriptApp(project, pm === 'npm');
  }, INSTALL_TIMEOUT_MS);

  it('require() and import() give the plugin; both builds share one registry and error classes', async () => {
    await copyFile(join(FIXTURES, 'installed/check-modules.cjs'), join(project, 'check-modules.cjs'));
    const r = await run(process.execPath, ['check-modules.cjs'], { cwd: project, env });
    expect(r.code, describeRun('node check-modules.cjs', r)).toBe(0);
    const facts = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(facts).toMatchObject({
      requirePlugin: 'function',
      requireDefaultIsPlugin: true,
      importPlugin: 'function',
      importNamedIsDefault: true,
      pluginName: '@defrost/fastify',
      decorated: [
        'require().defrost: function',
        'require().default: function',
        'require() itself: function',
        'import().default: function',
      ],
      internalRequire: 'function',
      testingRequire: 'function',
      twoBuilds: true,
      registrySharedAcrossBuilds: true,
      cjsErrorIsEsmCheckpointError: true,
      cjsErrorIsEsmDefrostError: true,
      esmErrorIsCjsRestoreError: true,
      esmErrorIsCjsCheckpointError: false,
      libcriuFromCommonJs: true,
    });
    expect(facts.coreRequire).toEqual(facts.coreImport);
    expect(facts.coreRequire).toEqual(expect.arrayContaining(['register', 'checkpoint', 'restore']));
  });

  it.each(RESOLUTIONS)('TypeScript (%s) compiles the app; the decorator has its type', async (resolution) => {
    const r = await compile(typescriptDir, resolution, env);
    const errors = r.stdout.trim().split('\n').filter(Boolean);
    expect(errors, describeRun(`tsc -p tsconfig.${resolution}.json`, r)).toEqual(expectedErrors(resolution));
    for (const entry of compiledEntries(resolution)) {
      expect(await runCompiled(typescriptDir, entry, env)).toBe(
        'app ran: restored=false, CheckpointError is a function',
      );
    }
  });

  it('node_modules/.bin/defrost runs, with the native fast path of restore', async () => {
    const bin = join(project, 'node_modules/.bin/defrost');
    const cache = join(project, 'defrost-cache');
    await mkdir(cache, { mode: 0o700 });
    const version = await runCli(['--version'], { command: bin, cleanEnv: true, env: { ...env } });
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe((await packedManifest(tarballs.cli)).version);
    const doctor = await runCli(['doctor', '--json'], {
      command: bin,
      cleanEnv: true,
      env: { ...env, DEFROST_CACHE_DIR: cache },
    });
    const checks = (JSON.parse(doctor.stdout) as { checks: { id: string; status: string; detail: string }[] })
      .checks;
    const fast = checks.find((c) => c.id === 'fast-restore');
    expect(fast?.status, fast?.detail).toBe('pass');
    expect(fast?.detail).toContain(join('node_modules', 'defrost', 'dist', 'defrost-fast-restore'));
  });
});

describe('checkpoint and restore of an app in the npm project', () => {
  const restoredPids = new Set<number>();
  let project: string;
  let bin: string;
  let cliEnv: Record<string, string | undefined>;
  let image: string;
  let port: number;
  let bootId: string;

  beforeAll(async () => {
    project = join(work, 'app-npm');
    bin = join(project, 'node_modules/.bin/defrost');
    image = join(project, `image-${randomBytes(4).toString('hex')}`);
    port = await freePort();
    await copyFile(join(FIXTURES, 'installed/app.cjs'), join(project, 'app.cjs'));
    const cache = join(project, 'restore-cache');
    await mkdir(cache, { mode: 0o700 });
    cliEnv = { ...env, APP_PORT: String(port), DEFROST_CACHE_DIR: cache };
  });
  afterEach(async () => {
    await stopAll();
    await killLeftovers(restoredPids);
  });

  it('defrost checkpoint -- node app.cjs writes an image', async () => {
    const r = await runCli(['checkpoint', '--image', image, '--', 'node', 'app.cjs'], {
      command: bin,
      cleanEnv: true,
      env: cliEnv,
      cwd: project,
    });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    bootId = /app: boot (\S+)/.exec(r.stdout)?.[1] ?? '';
    expect(bootId).not.toBe('');
    expect(r.stdout).toMatch(new RegExp(`image\\s+${image}`));
  });

  /** Restores the image, checks that it serves with its state, stops it by PID; the path taken. */
  async function restoreAndServe(): Promise<string> {
    const cli = startCli(['restore', image], {
      command: bin,
      cleanEnv: true,
      env: { ...cliEnv, DEFROST_DEBUG: '1' },
      cwd: project,
    });
    const ready = await cli.waitFor(/defrost: restored .* in \d+ ms \(pid (\d+)\)/);
    const serverPid = Number(ready[1]);
    restoredPids.add(serverPid);
    const seen = await getJson<{ count: number; bootId: string; restored: boolean; reopened: number }>(
      port,
      '/count',
    );
    expect(seen).toMatchObject({ bootId, restored: true, reopened: 1 });
    expect(seen.count).toBeGreaterThan(20);
    cli.child.kill('SIGTERM');
    await cli.exited;
    expect(await waitGone(serverPid)).toBe(true);
    return [...cli.stderr().matchAll(/defrost: debug: ((?:fast|full) path)/g)].at(-1)?.[1] ?? '(none)';
  }

  it('defrost restore serves the frozen app; a second restore takes the native fast path', async () => {
    expect(bootId, 'the checkpoint test must pass first').toBeTruthy();
    expect(await restoreAndServe()).toBe('full path');
    expect(await restoreAndServe()).toBe('fast path');
  });
});
