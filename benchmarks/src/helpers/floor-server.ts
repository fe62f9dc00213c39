/**
 * The floor: the most trivial Node HTTP server there is, checkpointed and restored like the app.
 * It answers every request with a 2-byte 200. When asked for a checkpoint (DEFROST_CHECKPOINT_IMAGE,
 * as `defrost checkpoint` asks), it freezes itself through @defrost/core once it listens.
 */
import { createServer } from 'node:http';
import { checkpoint, lifecycle, progressReporter } from '@defrost/core/internal';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST || '127.0.0.1';
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});

// What `defrost checkpoint` waits for (the Fastify plugin reports the same way).
const progress = progressReporter(process.env.DEFROST_PROGRESS_FILE);

const stop = (): void => {
  server.close(() => {
    process.exitCode = 0;
  });
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

server.listen(port, host, () => {
  const imageDir = process.env.DEFROST_CHECKPOINT_IMAGE;
  if (!imageDir) return;
  lifecycle.register({ name: 'floor connections', beforeCheckpoint: () => server.closeAllConnections() });
  checkpoint({ imageDir, mode: 'exit' }).then(
    (result) => {
      if (result.restored) return;
      progress({
        step: 'checkpointed',
        imageDir,
        durationMs: Math.round(result.durationMs),
        totalBytes: result.manifest.totalBytes,
        files: Object.keys(result.manifest.files).length,
      });
      process.exit(0);
    },
    (error: Error) => {
      progress({ step: 'failed', message: error.message });
      console.error(`floor: checkpoint failed: ${error.message}`);
      process.exit(1);
    },
  );
});
