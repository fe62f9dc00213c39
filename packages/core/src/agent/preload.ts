/**
 * `node --import <this file>`: how `defrost checkpoint` and `defrost run` bring the zero-code
 * agent into any Node server. It does nothing unless one of them asked for a checkpoint, and only
 * in the main thread (a worker thread loads preloads too).
 */
import { isMainThread } from 'node:worker_threads';
import { processLaunchRequest } from '../server/request.js';
import { checkpointOnDemand, checkpointWhenStarted } from './agent.js';
import { parseAgentConfig } from './config.js';
import { ServerWatch } from './servers.js';

if (isMainThread) {
  const launch = processLaunchRequest();
  if (launch.checkpoint || launch.runDir) {
    const config = parseAgentConfig(launch.agent);
    const watch = new ServerWatch();
    if (launch.checkpoint) void checkpointWhenStarted(watch, launch, config);
    else checkpointOnDemand(watch, launch, config);
  }
}
