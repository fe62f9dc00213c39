/**
 * A small TypeScript app that uses @defrost/fastify and @defrost/core as their docs say, compiled
 * in a user's project under each module resolution TypeScript has for Node: what `nest new` makes
 * (`module: commonjs`, which resolves like node10), node16, nodenext and bundler. Its
 * `app.defrost.*` calls compile only when the plugin's decorator merged into Fastify's types.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeRun, type Run, run } from './install.js';

export type Resolution = 'node10' | 'node16' | 'nodenext' | 'bundler';
export const RESOLUTIONS: readonly Resolution[] = ['node10', 'node16', 'nodenext', 'bundler'];

const APP = `import Fastify from 'fastify';
import defrost, { type DefrostPluginOptions } from '@defrost/fastify';
import { CheckpointError, register, type Resource } from '@defrost/core';

export async function main(): Promise<string> {
  const app = Fastify();
  const options: DefrostPluginOptions = { warmup: { rounds: 5 } };
  await app.register(defrost, options);
  app.defrost.beforeCheckpoint(() => {}, 'cache');
  app.defrost.afterRestore((ctx) => {
    const reason: string = ctx.reason;
    void reason;
  });
  const resource: Resource = { name: 'typed resource', beforeCheckpoint() {} };
  register(resource)();
  await app.ready();
  const restored: boolean = app.defrost.restored;
  await app.close();
  return \`app ran: restored=\${restored}, CheckpointError is a \${typeof CheckpointError}\`;
}

main().then((line) => console.log(line));
`;

/** Must fail with TS2339 on DefrostDecorator: the decorator has a type, and it is not `any`. */
const MISUSE = `import Fastify from 'fastify';
import defrost from '@defrost/fastify';

const app = Fastify();
void app.register(defrost);
app.defrost.notAMethod();
`;

/** The app as `.ts` (node10, bundler) or as both `.cts` and `.mts` (node16, nodenext). */
function sourceFiles(resolution: Resolution): string[] {
  const extensions = resolution === 'node16' || resolution === 'nodenext' ? ['cts', 'mts'] : ['ts'];
  return extensions.flatMap((ext) => [`app.${ext}`, `misuse.${ext}`]);
}

function tsconfig(resolution: Resolution, checkDeclarations: boolean): Record<string, unknown> {
  const module = { node10: 'commonjs', node16: 'node16', nodenext: 'nodenext', bundler: 'esnext' }[
    resolution
  ];
  return {
    compilerOptions: {
      // `module: commonjs` alone, as in a stock NestJS project: TypeScript then resolves as node10.
      module,
      // As `tsc --init` writes it; without it, pino's own types (fastify's logger) do not compile.
      esModuleInterop: true,
      ...(resolution === 'bundler' ? { moduleResolution: 'bundler', noEmit: true } : {}),
      target: 'es2022',
      strict: true,
      // false: the declaration files are checked too (ours, and fastify's and Node's: slower).
      skipLibCheck: !checkDeclarations,
      types: ['node'],
      outDir: `out-${resolution}`,
    },
    files: sourceFiles(resolution),
  };
}

/**
 * Writes the app into `project`/typescript; returns that directory. `checkDeclarations`: tsc also
 * checks the declaration files (skipLibCheck false), ours included.
 */
export async function writeTypescriptApp(project: string, checkDeclarations: boolean): Promise<string> {
  const dir = join(project, 'typescript');
  await mkdir(dir, { recursive: true });
  for (const ext of ['ts', 'cts', 'mts']) {
    await writeFile(join(dir, `app.${ext}`), APP);
    await writeFile(join(dir, `misuse.${ext}`), MISUSE);
  }
  for (const resolution of RESOLUTIONS) {
    await writeFile(
      join(dir, `tsconfig.${resolution}.json`),
      `${JSON.stringify(tsconfig(resolution, checkDeclarations), null, 2)}\n`,
    );
  }
  return dir;
}

/** The errors tsc must report, and nothing else: one per misuse file. */
export function expectedErrors(resolution: Resolution): string[] {
  return sourceFiles(resolution)
    .filter((f) => f.startsWith('misuse.'))
    .map((f) => `${f}(6,13): error TS2339: Property 'notAMethod' does not exist on type 'DefrostDecorator'.`);
}

/** tsc -p tsconfig.<resolution>.json with the project's own typescript. */
export function compile(dir: string, resolution: Resolution, env: NodeJS.ProcessEnv): Promise<Run> {
  const tsc = join(dir, '../node_modules/typescript/bin/tsc');
  return run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`, '--pretty', 'false'], {
    cwd: dir,
    env,
  });
}

/** The compiled app files that Node runs as they are (bundler output is for a bundler). */
export function compiledEntries(resolution: Resolution): string[] {
  if (resolution === 'bundler') return [];
  if (resolution === 'node10') return [`out-node10/app.js`];
  return [`out-${resolution}/app.cjs`, `out-${resolution}/app.mjs`];
}

/** Runs a compiled entry with the Node under test; throws with its output when it fails. */
export async function runCompiled(dir: string, entry: string, env: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(process.execPath, [entry], { cwd: dir, env, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(describeRun(`node ${entry}`, r));
  return r.stdout.trim();
}
