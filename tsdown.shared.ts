/**
 * The build of the library packages (@defrost/core, @defrost/fastify): each module of src/ once as
 * an ES module (.js, .d.ts) and once as CommonJS (.cjs, .d.cts), for apps that `require()` them and
 * for TypeScript projects on `module: commonjs` (as `nest new` makes them).
 *
 * Why tsdown: it is rolldown (already in the lockfile through vitest) with the declaration
 * bundler of the same team; one config gives both formats, a `.d.cts` per `.d.ts` (what
 * TypeScript's node16/nodenext resolution needs for `require`), and CommonJS shims of
 * `import.meta.url` (core loads koffi with `createRequire(import.meta.url)`). Hand-written tsc
 * passes would need a second tsconfig, a renaming step for .cjs/.d.cts and the shim by hand.
 *
 * Every module of src/ is an entry and `unbundle` keeps it a file of its own: dist/ mirrors src/
 * module by module, as tsc's output did (type-only modules too), so paths such as
 * dist/audit/index.js stay valid and stack traces name the real module.
 */
// Types only: tsdown is a dependency of each package, not of the repository root.
import type { UserConfig } from 'tsdown';

const common: UserConfig = {
  // rootDir src/, no tests: the same program tsc built before.
  tsconfig: 'tsconfig.build.json',
  platform: 'node',
  // The lowest Node of `engines`.
  target: 'node22',
  unbundle: true,
  // .js and .d.ts for ESM (the packages are "type": "module"), .cjs and .d.cts for CommonJS.
  fixedExtension: false,
  dts: true,
  sourcemap: true,
  clean: true,
  // Node supports require(esm) on every version of `engines`, but Jest, ts-node's CommonJS mode
  // and older bundlers do not: the CommonJS build is wanted, not a legacy left-over.
  // No timing report: on a busy 2-core machine it warns about the declaration plugin's share.
  checks: { legacyCjs: false, bundlerTimings: false },
  // Nothing from node_modules may end up in the output: an import of a package that is not a
  // dependency (say, a devDependency) fails the build instead of being copied in.
  deps: { onlyBundle: [] },
  // A default export is `exports.default` in CommonJS, as TypeScript's own interop expects (the
  // plugin's entry has a default export and named ones): never `module.exports = ...`.
  cjsDefault: false,
  outputOptions: { exports: 'named' },
  logLevel: 'warn',
};

/**
 * `esmOnly`: modules (paths relative to the package, e.g. 'src/agent.ts') built as ES modules
 * only, e.g. a preload script for `node --import` that uses top-level await. Their package.json
 * `exports` entry has an `import` condition only.
 */
export function libraryBuild(o: { esmOnly?: readonly string[] } = {}): UserConfig[] {
  const all = 'src/**/*.ts';
  return [
    { ...common, format: 'esm', entry: [all] },
    { ...common, format: 'cjs', entry: [all, ...(o.esmOnly ?? []).map((file) => `!${file}`)] },
  ];
}
