import type { ListeningServer } from './servers.js';

/** The port a server listens on (undefined: a unix socket). */
export function portOf(s: ListeningServer): number | undefined {
  const address = s.server.address();
  return address && typeof address === 'object' ? address.port : undefined;
}

/**
 * The servers with the one to warm up first: the one on `--warmup-port`, else the last to start
 * listening (an app's own listen usually comes after whatever it set up first: an upstream mock,
 * a metrics endpoint).
 */
export function warmupFirst(
  listening: readonly ListeningServer[],
  port: number | undefined,
  say: (message: string) => void = () => {},
): ListeningServer[] {
  const target =
    port !== undefined ? listening.find((s) => portOf(s) === port) : listening[listening.length - 1];
  if (!target) {
    const ports = listening.map((s) => portOf(s) ?? 'a unix socket').join(', ');
    throw new Error(`--warmup-port ${port}: the app listens on ${ports}, not on ${port}`);
  }
  if (listening.length > 1) {
    say(
      `warming up the server on port ${portOf(target)} (the app listens on ${listening.length} ports; --warmup-port chooses)`,
    );
  }
  return [target, ...listening.filter((s) => s !== target)];
}
