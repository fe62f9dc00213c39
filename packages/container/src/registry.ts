/**
 * docker-registry on the loopback of a network namespace: what a registry "on loopback" is for a
 * container with `--network host` in that namespace. (@defrost/core/testing's startRegistry
 * waits for its registry from the test process, which cannot reach a namespace's loopback.)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopPid } from '@defrost/core/internal';
import { REGISTRY_BINARY, type Spawned, spawnTracked } from '@defrost/core/testing';
import { run } from './run.js';

export interface LoopbackRegistry {
  readonly host: string;
  readonly process: Spawned;
  stop(): Promise<void>;
}

export async function startLoopbackRegistry(
  dir: string,
  exec: readonly string[],
  port: number,
): Promise<LoopbackRegistry> {
  const storage = join(dir, 'storage');
  await mkdir(storage, { recursive: true });
  const config = join(dir, 'config.yml');
  const host = `127.0.0.1:${port}`;
  await writeFile(
    config,
    [
      'version: 0.1',
      'log: { level: warn, accesslog: { disabled: true } }',
      `storage: { filesystem: { rootdirectory: ${JSON.stringify(storage)} } }`,
      `http: { addr: ${JSON.stringify(host)}, secret: ${JSON.stringify(`test-${process.pid}`)} }`,
      '',
    ].join('\n'),
  );
  const [file, ...args] = [...exec, REGISTRY_BINARY, 'serve', config];
  const registry = await spawnTracked(file!, args, {}, { launch: 'plain' });
  const probe = `fetch('http://${host}/v2/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await run(exec[0]!, [...exec.slice(1), process.execPath, '-e', probe]).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      await stopPid(registry.pid);
      throw new Error(
        `docker-registry did not answer on ${host} inside the namespace:\n${registry.stderr()}`,
      );
    }
    await sleep(50);
  }
  return { host, process: registry, stop: () => stopPid(registry.pid) };
}
