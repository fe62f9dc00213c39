/**
 * The pre-started process behind the `defrost (core API)` contender: it has already loaded
 * @defrost/core when the bench asks it (over IPC) to restore, so its numbers leave out what the
 * CLI pays for its own start. One restored server at a time.
 */
import { type RestoredServer, restore } from '@defrost/core/internal';

export type RestorerRequest = { type: 'restore'; imageDir: string } | { type: 'stop' };
export type RestorerReply =
  | {
      type: 'restored';
      pid: number;
      launcherPid: number;
      readyMs: number;
      hooksMs: number;
      checksMs?: number;
    }
  | { type: 'stopped'; status: number }
  | { type: 'exited'; status: number }
  | { type: 'error'; message: string };

let current: RestoredServer | undefined;
const send = (reply: RestorerReply): void => {
  process.send?.(reply);
};

process.on('message', (request: RestorerRequest) => {
  if (request.type === 'restore') {
    if (current) return send({ type: 'error', message: 'a restored server is still running' });
    restore(request.imageDir).then(
      (server) => {
        current = server;
        void server.exited.then((exit) => {
          if (current === server) {
            current = undefined;
            send({ type: 'exited', status: exit.status });
          }
        });
        // `timings` is newer than the rest of RestoredServer: read it defensively.
        const timings = (server as { timings?: { checksMs?: number } }).timings;
        send({
          type: 'restored',
          pid: server.pid,
          launcherPid: server.launcherPid,
          readyMs: server.readyMs,
          hooksMs: server.hooksMs,
          ...(timings?.checksMs !== undefined ? { checksMs: timings.checksMs } : {}),
        });
      },
      (error: Error) => send({ type: 'error', message: error.message }),
    );
  } else if (request.type === 'stop') {
    const server = current;
    current = undefined;
    if (!server) return send({ type: 'stopped', status: -1 });
    server.stop(10_000).then(
      (exit) => send({ type: 'stopped', status: exit.status }),
      (error: Error) => send({ type: 'error', message: error.message }),
    );
  }
});

const shutdown = (): void => {
  const server = current;
  current = undefined;
  void (server ? server.stop(3_000) : Promise.resolve()).finally(() => process.exit(0));
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.on('disconnect', shutdown);
send({ type: 'stopped', status: 0 });
