/**
 * One example app frozen once per test file: `defrost checkpoint` of the app as it is, and a cold
 * start of the same app for comparison. A file's tests then restore copies of that one image.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopPid, waitForPidGone } from '@defrost/core/internal';
import { freePort, spawnTracked, stopAllStarted } from '@defrost/core/testing';
import { afterAll, beforeAll, expect } from 'vitest';
import { type CheckpointRun, checkpoint, EXAMPLES, restoreCopy } from './defrost.js';
import { type Answer, get, waitUntilServing } from './http.js';

export interface Route {
  readonly path: string;
  readonly headers?: Record<string, string>;
}

export interface FrozenAppSpec {
  /** The app's entry, relative to apps/examples (run as `node ENTRY`). */
  readonly entry: string;
  /** Flags of `defrost checkpoint` (the warm-up...). */
  readonly flags?: readonly string[] | (() => readonly string[]);
  /** The app's environment besides PORT (read once the file's beforeAll hooks before this ran). */
  readonly env?: () => Record<string, string>;
  /** Routes that answer the same in a cold start and in every copy (nothing per process). */
  readonly sameAsCold: readonly Route[];
}

export interface FrozenApp {
  /** The port the frozen app listened on: every copy comes back on it. */
  readonly port: number;
  readonly image: string;
  /** A scratch directory of this file, removed at the end. */
  readonly work: string;
  readonly run: CheckpointRun;
  /** The boot id the app printed at start (`(boot UUID)`), if it prints one. */
  readonly bootId: string | undefined;
  /** What the cold start answered on each of `sameAsCold`. */
  readonly cold: ReadonlyMap<string, Answer>;
  /** Asserts that the server on `port` answers every route of `sameAsCold` as the cold start did. */
  expectSameAsCold(port?: number): Promise<void>;
  /** Restores a copy, runs `use` against it, and stops it by PID (also when `use` throws). */
  withCopy<T>(use: (port: number) => Promise<T>): Promise<T>;
}

const key = (route: Route): string => `${route.path} ${JSON.stringify(route.headers ?? {})}`;

async function answers(port: number, routes: readonly Route[]): Promise<Map<string, Answer>> {
  const seen = new Map<string, Answer>();
  for (const route of routes)
    seen.set(key(route), await get(port, route.path, { headers: route.headers ?? {} }));
  return seen;
}

/** Starts the app cold (plain node, no defrost) and records its answers. */
async function coldAnswers(spec: FrozenAppSpec, env: Record<string, string>): Promise<Map<string, Answer>> {
  const port = await freePort();
  const cold = await spawnTracked(
    process.execPath,
    [join(EXAMPLES, spec.entry)],
    { ...env, PORT: String(port) },
    { launch: 'plain' },
  );
  try {
    await waitUntilServing(port, spec.sameAsCold[0]?.path ?? '/').catch((error: Error) => {
      const output = `stdout:\n${cold.lines.join('\n')}\nstderr:\n${cold.stderr()}`;
      throw new Error(`the cold start of ${spec.entry} does not serve: ${error.message}\n${output}`);
    });
    return await answers(port, spec.sameAsCold);
  } finally {
    await stopPid(cold.pid, 5_000);
    await waitForPidGone(cold.pid, 10_000);
  }
}

export function useFrozenApp(spec: FrozenAppSpec): FrozenApp {
  const app = {} as {
    -readonly [K in keyof FrozenApp]: FrozenApp[K];
  };
  beforeAll(async () => {
    app.work = await mkdtemp(join(tmpdir(), 'defrost-examples-'));
    app.image = join(app.work, 'image');
    app.port = await freePort();
    const env = { ...spec.env?.(), PORT: String(app.port) };
    const flags = typeof spec.flags === 'function' ? spec.flags() : (spec.flags ?? []);
    app.run = await checkpoint({
      image: app.image,
      command: [process.execPath, join(EXAMPLES, spec.entry)],
      flags,
      env,
    });
    app.bootId = /\(boot ([0-9a-f-]{36})\)/.exec(app.run.stdout)?.[1];
    app.cold = await coldAnswers(spec, env);
  }, 240_000);
  afterAll(async () => {
    await stopAllStarted();
    if (app.work) await rm(app.work, { recursive: true, force: true });
  });

  app.expectSameAsCold = async (port = app.port) => {
    const restored = await answers(port, spec.sameAsCold);
    for (const route of spec.sameAsCold) {
      expect(restored.get(key(route)), `${route.path} ${JSON.stringify(route.headers ?? {})}`).toEqual(
        app.cold.get(key(route)),
      );
    }
  };
  app.withCopy = async (use) => {
    expect(app.run.code, app.run.output).toBe(0);
    const copy = await restoreCopy(app.image);
    try {
      return await use(app.port);
    } finally {
      await copy.stop();
    }
  };
  return app;
}
