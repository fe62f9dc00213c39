import type { EventEmitter } from 'node:events';

/**
 * Requests that arrive while a restored copy is reopening its resources wait, instead of meeting a
 * half-open app: from before the dump (so that a copy resumes with it in place) until its
 * afterRestore hooks have finished. Connections are accepted and requests parsed as usual; their
 * events are queued and replayed, in order, to the server's own listeners once released.
 *
 * Node cannot stop accepting on a listening socket without closing it (which a copy must not do:
 * the socket is what its clients connect to), so the hold is on the server's request events.
 */
export interface RequestHold {
  /** Gives the servers their listeners back and replays what was queued. Idempotent. */
  release(): void;
  /** How many events were held (and replayed, once released). */
  readonly held: number;
}

/**
 * The events that carry work: http/https 'request' (and 'checkContinue', 'checkExpectation' when
 * the app handles them), 'upgrade' (WebSockets), http2's 'stream'. Only events the server has
 * listeners for are held: Node decides what to do with some of them (an upgrade without a
 * listener is refused) by whether anyone listens.
 */
const HELD_EVENTS = ['request', 'checkContinue', 'checkExpectation', 'upgrade', 'stream'] as const;

type Listener = (...args: unknown[]) => void;

export function holdRequests(servers: readonly EventEmitter[]): RequestHold {
  const queue: { server: EventEmitter; event: string; args: unknown[] }[] = [];
  const restore: (() => void)[] = [];
  let held = 0;
  for (const server of servers) {
    for (const event of HELD_EVENTS) {
      // Raw: `once` listeners keep their wrapper, and so stay one-shot after the hold.
      const listeners = server.rawListeners(event) as Listener[];
      if (listeners.length === 0) continue;
      const gate: Listener = (...args) => {
        held++;
        queue.push({ server, event, args });
      };
      server.removeAllListeners(event);
      server.on(event, gate);
      restore.push(() => {
        server.off(event, gate);
        for (const listener of listeners) server.on(event, listener);
      });
    }
  }
  let released = false;
  return {
    get held() {
      return held;
    },
    release() {
      if (released) return;
      released = true;
      for (const undo of restore) undo();
      for (const { server, event, args } of queue.splice(0)) server.emit(event, ...args);
    },
  };
}
