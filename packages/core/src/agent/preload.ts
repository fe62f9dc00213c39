/**
 * `node --import <this file>`: how `defrost checkpoint` and `defrost run` bring the zero-code
 * agent into any Node server. It does nothing unless one of them asked for a checkpoint; the agent
 * runs only in the main thread (a worker thread loads preloads too), per-copy randomness in all.
 */
import { isMainThread } from 'node:worker_threads';
import { processLaunchRequest } from '../server/request.js';
import { checkpointOnDemand, checkpointWhenStarted } from './agent.js';
import { parseAgentConfig } from './config.js';
import { ServerWatch } from './servers.js';

const launch = processLaunchRequest();
if (launch.checkpoint || launch.runDir) {
  // In every thread, before the app's first line: per-copy randomness then reaches what the app
  // keeps from its start (safety/early-entropy.ts).
  await import('../safety/early-entropy.js');
  if (isMainThread) {
    const config = parseAgentConfig(launch.agent);
    const watch = new ServerWatch();
    if (launch.checkpoint) void checkpointWhenStarted(watch, launch, config);
    else checkpointOnDemand(watch, launch, config);
  }
}
