// Bundles the command line into one file (dist/bin.js, replacing tsc's output of src/bin.ts).
//
// Why: `defrost restore` is on the critical path of every start, and Node spent ~65 ms of it
// resolving and loading ~60 ES modules (commander, core, the commands); one file loads in a
// fraction of that. tsc still emits every module (types, `main.js` for the package's exports).
// koffi stays external: it loads a native library and is only needed by a few commands. undici
// too: only push, pull and `restore REF` load it (~50 ms), `restore DIR` must not pay for it.
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const outfile = new URL('../dist/bin.js', import.meta.url).pathname;
await build({
  entryPoints: [new URL('../src/bin.ts', import.meta.url).pathname],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['koffi', 'undici'],
  // Class names are kept when esbuild renames a clashing identifier: defrost's errors are matched
  // across copies of core by class name (core/src/errors.ts), and messages name them.
  keepNames: true,
  // CommonJS dependencies bundled into an ES module need a `require` for Node's built-ins.
  banner: {
    js: "import { createRequire as __defrostCreateRequire } from 'node:module'; const require = __defrostCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
await chmod(outfile, 0o755);

// The zero-code agent, loaded into apps with `node --import` by `defrost checkpoint` and `defrost
// run`: one file too, next to bin.js, so that the CLI can name it wherever it is installed.
await build({
  entryPoints: [fileURLToPath(import.meta.resolve('@defrost/core/agent'))],
  outfile: new URL('../dist/agent.js', import.meta.url).pathname,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  external: ['koffi', 'undici'],
  // The agent's copy of core meets the app's own (the plugin's) in one process: see bin.js above.
  keepNames: true,
  banner: {
    js: "import { createRequire as __defrostCreateRequire } from 'node:module'; const require = __defrostCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
