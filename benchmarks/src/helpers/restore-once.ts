/**
 * Stand-in for `defrost restore DIR` while packages/cli is not built: a fresh Node process that
 * loads @defrost/core, restores the image (verification, criu, hooks) and supervises the restored
 * server like the CLI: SIGTERM/SIGINT forwarded, its exit status passed on, and the same
 * "defrost: restored DIR in N ms (pid P)" line on stderr.
 */
import { restore } from '@defrost/core/internal';

const imageDir = process.argv[2];
if (!imageDir) {
  console.error('usage: restore-once IMAGE_DIR');
  process.exit(2);
}
try {
  const server = await restore(imageDir);
  console.error(`defrost: restored ${imageDir} in ${Math.round(server.readyMs)} ms (pid ${server.pid})`);
  const forward = (): void => void server.stop(10_000);
  process.once('SIGTERM', forward);
  process.once('SIGINT', forward);
  const exit = await server.exited;
  process.exitCode = exit.status;
} catch (error) {
  console.error(`defrost: restore failed: ${(error as Error).message}`);
  process.exitCode = 1;
}
