#!/usr/bin/env -S node --
// `node --` ends node's own options: Node 20 otherwise also looks at `--env-file` after the
// script name (`defrost restore DIR --env-file F`) and exits 9 when F does not exist.
import { main } from './main.js';
import { printWarning } from './output.js';

const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };

// Node prints process warnings as "(node:PID) DefrostWarning: ..."; core reports image warnings
// that way (permissions, another kernel). Show them as defrost's own lines instead.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name === 'DefrostWarning' || io.env.DEFROST_DEBUG === '1') printWarning(io, warning.message);
});

const code = await main(process.argv.slice(2), io);
// stdout/stderr are synchronous for files, pipes and terminals on Linux: nothing is lost here,
// and no stray handle (a timer, a child's pipe) can keep the process alive past its answer.
process.exit(code);
