import { Hook } from 'require-in-the-middle';
import type { Resource } from '../lifecycle/registry.js';
import { diagnosticFilesResource } from '../server/diagnostic-files.js';
import { fetchPoolResource, globalAgentsResource } from '../server/keep-alive-pools.js';
import { sonicBoomResource } from '../server/sonic-boom.js';

/**
 * What the zero-code agent closes around a checkpoint for an app that knows nothing of defrost:
 * the connection pools Node keeps on its own (fetch's global dispatcher, http(s).globalAgent),
 * pino's destinations, V8's diagnostic files. What it cannot know, the audit names.
 */

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
