import { readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Resource, register } from '../lifecycle/registry.js';
import { type ProgressEvent, progressReporter } from '../progress.js';
import { drainConnections } from '../server/connections.js';
import { relisten } from '../server/relisten.js';
import { type CheckpointRequest, checkpointDriver, type LaunchRequest } from '../server/request.js';
import { checkpointServers } from '../server/sequence.js';
import { warmupPlan } from '../warmup/plan.js';
import type { AgentConfig } from './config.js';
import { claimRequest, requestClaimed } from './ownership.js';
import { zeroCodeResources } from './resources.js';
import type { ListeningServer, ServerWatch } from './servers.js';
import { warmupFirst } from './targets.js';

/**
 * The zero-code agent: `defrost checkpoint -- node server.js` loads it into any Node server
 * (`node --import`), and it checkpoints that server as the Fastify plugin would: once the app
 * listens, it warms the first server up over HTTP, closes what it knows (its own client, idle
 * keep-alive connections, fetch's and http's pools, pino's destinations) and runs the same
 * sequence (server/sequence.ts). An app that registers @defrost/fastify is left to the plugin.
 */

/** Quiet time after the last listen before the app counts as started (it may open more servers). */
const SETTLE_MS = 300;
const WAITING_REPORT_MS = 2_000;

// The command line shows the progress; the agent's own details only with DEFROST_DEBUG=1.
const debug = process.env.DEFROST_DEBUG === '1';
const log = {
  info: (message: string) => {
    if (debug) process.stderr.write(`defrost: ${message}\n`);
  },
  warn: (message: string) => process.stderr.write(`defrost: warning: ${message}\n`),
};

/**
 * Resolves with the listening servers once the app has listened and then stayed quiet a moment;
 * undefined when another process of the command claimed the request meanwhile (this one may be
 * npm or a shell in front of the app, which never listen).
 */
async function startedServers(
  watch: ServerWatch,
  timeoutMs: number,
  report: (e: ProgressEvent) => void,
  progressFile: string | undefined,
): Promise<ListeningServer[] | undefined> {
  const started = Date.now();
  while (watch.listening.length === 0) {
    if (await requestClaimed(progressFile)) return undefined;
    const waited = Date.now() - started;
    if (waited >= timeoutMs) {
      throw new Error(
        `the app did not listen within ${Math.round(timeoutMs / 1000)} s: defrost checkpoints a server once it listens on a TCP port. Does the command start a server? A slow start needs a larger --listen-timeout`,
      );
    }
    report({ step: 'waiting', for: 'the app to listen', waitedMs: waited });
    // Unref'd: waiting must never keep alive a process that is done (a script, a shell's node).
    const pause = sleep(Math.min(WAITING_REPORT_MS, timeoutMs - waited), undefined, { ref: false });
    await Promise.race([watch.nextListen(watch.lastListenAt), pause]);
  }
  while (Date.now() - watch.lastListenAt < SETTLE_MS) {
    await sleep(SETTLE_MS - (Date.now() - watch.lastListenAt), undefined, { ref: false });
  }
  return watch.listening;
}

/** The servers' connections, drained before the dump; after a restore, the first moves to --port. */
function connectionsResource(servers: readonly ListeningServer[], drainTimeoutMs: number): Resource {
  return {
    name: 'server connections',
    async beforeCheckpoint() {
      await Promise.all(
        servers.map(({ server }) => drainConnections(server, drainTimeoutMs, '--drain-timeout')),
      );
    },
    async afterRestore(ctx) {
      if (ctx.settings?.port !== undefined) await relisten(servers[0]!.server, ctx.settings.port);
    },
  };
}

let resourcesRegistered = false;

/** One checkpoint of the app's servers; resolves once written (original) or restored (copy). */
export async function checkpointApp(
  listening: readonly ListeningServer[],
  request: CheckpointRequest & { readonly progressFile: string | undefined },
  launch: Pick<LaunchRequest, 'shrinkHeap' | 'rehearse'>,
  config: AgentConfig,
): Promise<void> {
  const report = progressReporter(request.progressFile);
  const servers = warmupFirst(listening, config.warmupPort, log.info);
  if (!resourcesRegistered) {
    resourcesRegistered = true;
    for (const resource of [
      connectionsResource(servers, config.drainTimeoutMs),
      ...zeroCodeResources(log.info),
    ])
      register(resource);
  }
  const outcome = await checkpointServers({
    servers: servers.map((s) => s.server),
    secure: servers[0]!.secure,
    imageDir: request.imageDir,
    mode: request.mode,
    force: request.force,
    warmup: config.warmup === false ? undefined : warmupPlan(config.warmup, [{ method: 'GET', url: '/' }]),
    shrinkHeap: launch.shrinkHeap,
    rehearse: launch.rehearse,
    drainTimeoutMs: config.drainTimeoutMs,
    optionNames: { drainTimeout: '--drain-timeout' },
    audit: config.audit,
    log,
    report,
  });
  if (outcome.restored) {
    log.info(
      `restored in ${outcome.context.restoreDurationMs} ms (image of ${outcome.context.imageCreatedAt})`,
    );
    return;
  }
  report({
    step: 'checkpointed',
    imageDir: request.imageDir,
    durationMs: Math.round(outcome.durationMs),
    totalBytes: outcome.manifest.totalBytes,
    files: Object.keys(outcome.manifest.files).length,
  });
  // This process was started (or asked) only to build the image: the agent ends it.
  if (request.mode === 'exit') process.exit(0);
}

/** `defrost checkpoint -- COMMAND`: checkpoint once the app has started, unless a plugin drives. */
export async function checkpointWhenStarted(
  watch: ServerWatch,
  launch: LaunchRequest,
  config: AgentConfig,
): Promise<void> {
  const request = { ...launch.checkpoint!, progressFile: launch.progressFile };
  const report = progressReporter(launch.progressFile);
  try {
    const servers = await startedServers(watch, config.listenTimeoutMs, report, launch.progressFile);
    if (!servers || checkpointDriver()) return; // @defrost/fastify is registered: the checkpoint is its own
    if (!(await claimRequest(launch.progressFile))) return; // another process of the command has it
    await checkpointApp(servers, request, launch, config);
  } catch (error) {
    log.warn(`checkpoint failed: ${(error as Error).message}`);
    report({ step: 'failed', message: (error as Error).message });
  }
}

/** What `defrost checkpoint --pid` writes for a server started by `defrost run`. */
interface OnDemandRequest extends CheckpointRequest {
  readonly progressFile: string;
}

/**
 * `defrost run -- COMMAND`: on SIGUSR2 (sent by `defrost checkpoint --pid`), checkpoint the
 * running server as asked in the run directory's request file, without restarting it.
 */
export function checkpointOnDemand(watch: ServerWatch, launch: LaunchRequest, config: AgentConfig): void {
  let busy = false;
  process.on('SIGUSR2', () => {
    if (busy) return;
    busy = true;
    void (async () => {
      const file = `${launch.runDir}/request.json`;
      const request = await readFile(file, 'utf8')
        .then((text) => JSON.parse(text) as OnDemandRequest)
        .catch(() => undefined);
      await rm(file, { force: true });
      if (!request) return log.warn(`SIGUSR2 without a checkpoint request in ${file}: ignored`);
      try {
        if (watch.listening.length === 0) throw new Error('the app listens on no TCP port (yet)');
        await checkpointApp(watch.listening, request, launch, config);
      } catch (error) {
        progressReporter(request.progressFile)({ step: 'failed', message: (error as Error).message });
      }
    })().finally(() => {
      busy = false;
    });
  });
}
