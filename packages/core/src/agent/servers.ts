import { subscribe } from 'node:diagnostics_channel';
import type { Server } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * The servers this process listens with, as Node reports them: every `server.listen()` of
 * node:net (and so of http, https and http2, and of every framework built on them) goes through
 * the `net.server.listen` tracing channel, which needs no patching of anything.
 */
export interface ListeningServer {
  readonly server: Server;
  /** TLS (https, or http2 over TLS): warmed up over https. */
  readonly secure: boolean;
}

export class ServerWatch {
  readonly #servers: ListeningServer[] = [];
  readonly #waiters: (() => void)[] = [];
  #lastListenAt = 0;

  constructor() {
    subscribe('tracing:net.server.listen:asyncEnd', (message) => {
      const server = (message as { server?: Server }).server;
      if (!server || this.#servers.some((s) => s.server === server)) return;
      this.#servers.push({ server, secure: server instanceof TlsServer });
      this.#lastListenAt = Date.now();
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** Servers still listening, in the order they started to. */
  get listening(): ListeningServer[] {
    return this.#servers.filter((s) => s.server.listening);
  }

  get lastListenAt(): number {
    return this.#lastListenAt;
  }

  /** Resolves at the next listen (or at once if one happened since `since`). */
  nextListen(since: number): Promise<void> {
    if (this.#lastListenAt > since) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
