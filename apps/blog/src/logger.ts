// pino to a file under the data dir, appended (O_APPEND) and written asynchronously. The defrost plugin takes
// care of this destination around a checkpoint; the blog only opens it, and flushes and closes it on shutdown.
import pino from 'pino';

export interface BlogLogger {
  readonly logger: pino.Logger;
  readonly destination: ReturnType<typeof pino.destination>;
  close(): Promise<void>;
}

export function createLogger(file: string, level: string): BlogLogger {
  const destination = pino.destination({ dest: file, append: true, sync: false, mkdir: true });
  const logger = pino({ level, base: { app: 'blog', pid: process.pid } }, destination);
  let closed: Promise<void> | undefined;
  return {
    logger,
    destination,
    close() {
      closed ??= new Promise<void>((resolve) => {
        destination.once('close', resolve);
        destination.once('error', resolve);
        destination.end();
      });
      return closed;
    },
  };
}
