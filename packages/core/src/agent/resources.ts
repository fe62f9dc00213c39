import http from 'node:http';
import https from 'node:https';
import { Hook } from 'require-in-the-middle';
import type { Resource } from '../lifecycle/registry.js';
import { diagnosticFilesResource } from '../server/diagnostic-files.js';
import { sonicBoomResource } from '../server/sonic-boom.js';

/**
 * What the zero-code agent closes around a checkpoint for an app that knows nothing of defrost:
 * the connection pools Node keeps on its own (fetch's global dispatcher, http(s).globalAgent),
 * pino's destinations, V8's diagnostic files. What it cannot know, the audit names.
 */

// fetch's pool lives under this global symbol (undici's, shared with Node's built-in fetch).
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

interface Closable {
  close(): Promise<void>;
}

/**
 * fetch() keeps connections alive in its global dispatcher. It is closed (in-flight requests
 * finish) and replaced by a fresh one with no connection, so that the app's later fetch() calls
 * work, in the original and in every copy.
 */
export const fetchPoolResource: Resource = {
  name: 'fetch keep-alive connections (the global dispatcher)',
  async beforeCheckpoint() {
    const holder = globalThis as { [GLOBAL_DISPATCHER]?: Closable };
    const dispatcher = holder[GLOBAL_DISPATCHER];
    if (!dispatcher) return;
    await dispatcher.close();
    const { Agent, setGlobalDispatcher } = await import('undici');
    setGlobalDispatcher(new Agent());
  },
};

/** Idle keep-alive sockets of http(s).globalAgent (keep-alive by default since Node 19). */
export const globalAgentsResource: Resource = {
  name: 'http and https global agents (idle keep-alive sockets)',
  beforeCheckpoint() {
    for (const agent of [http.globalAgent, https.globalAgent]) {
      for (const sockets of Object.values(agent.freeSockets))
        for (const socket of sockets ?? []) socket.destroy();
    }
  },
};

/**
 * pino writes through sonic-boom; every instance the app creates is tracked (the module is hooked
 * as it is required, as APM agents do), so that file destinations can be parked for the
 * checkpoint (server/sonic-boom.ts). WeakRefs: tracking must not keep a closed logger alive.
 */
export function trackSonicBoom(): Resource {
  const instances: WeakRef<object>[] = [];
  new Hook(['sonic-boom'], <T>(exports: T): T => {
    const SonicBoom = exports as unknown as new (...args: unknown[]) => object;
    if (typeof SonicBoom !== 'function') return exports;
    const Tracked = function (this: unknown, ...args: unknown[]) {
      const instance = new SonicBoom(...args);
      instances.push(new WeakRef(instance));
      return instance;
    } as unknown as typeof SonicBoom;
    Object.setPrototypeOf(Tracked, SonicBoom);
    Tracked.prototype = SonicBoom.prototype;
    return Tracked as unknown as T;
  });
  const parked: Resource[] = [];
  return {
    name: 'pino destinations (sonic-boom)',
    async beforeCheckpoint(ctx) {
      parked.length = 0;
      for (const ref of instances) {
        const resource = sonicBoomResource(ref.deref());
        if (!resource) continue;
        await resource.beforeCheckpoint?.(ctx);
        parked.push(resource);
      }
    },
    async afterRestore(ctx) {
      for (const resource of parked) await resource.afterRestore?.(ctx);
    },
  };
}

export function zeroCodeResources(log: (message: string) => void): Resource[] {
  return [trackSonicBoom(), fetchPoolResource, globalAgentsResource, diagnosticFilesResource(log)];
}
