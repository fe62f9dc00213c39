import http from 'node:http';
import https from 'node:https';
import type { Resource } from '../lifecycle/registry.js';

/**
 * The connection pools Node keeps on its own, closed around every checkpoint by the zero-code
 * agent and by the Fastify plugin alike: an app that calls an API with fetch() or http.get keeps
 * connections alive in them, and a restored copy cannot resume a TCP connection.
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
