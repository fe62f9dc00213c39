/**
 * The Podman path, for real: image/build.sh builds the test app's container image from scratch
 * (Node 24, the app, defrost, CRIU, perl, util-linux), freezes the app in a build container and
 * bakes the image in; containers then restore it under Podman with the capabilities of
 * src/capabilities.ts and nothing more, from the baked image and from a registry REF on
 * loopback, and serve the frozen state; without a capability, or without any image, the app
 * starts cold instead. Podman runs inside a network namespace of the test's own (netavark's
 * bridge, ip_forward and iptables rules go with it), with its storage and configuration in the
 * test's directory; the host's state is checked to be as it was at the end.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopAllStarted } from '@defrost/core/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { restoreRunOptions } from '../../src/capabilities.js';
import { cliCommandIn } from '../../src/cli-in-host.js';
import { type HostState, recordHostState, restoreHostState } from '../../src/host-state.js';
import { waitForJson } from '../../src/http.js';
import { type AppImages, buildAppImages, REPO_ROOT } from '../../src/images.js';
import { createTestNetwork, type NetHost, type TestNetwork } from '../../src/network.js';
import { type ContainerTools, containerTools } from '../../src/podman.js';
import { parseUnit, quadletRunOptions } from '../../src/quadlet.js';
import { type LoopbackRegistry, startLoopbackRegistry } from '../../src/registry.js';
import { run } from '../../src/run.js';

interface Count {
  count: number;
  bootId: string;
  restoreId: string | null;
}
interface Runtime {
  node: string;
  seccomp: number;
  capEff: string;
  ioUringRings: number;
}

const NEEDED = [
  '/usr/bin/podman',
  '/usr/bin/buildah',
  '/usr/sbin/runc',
  '/usr/bin/catatonit',
  '/usr/sbin/criu',
];

let hostBefore: HostState;
let work: string;
let net: TestNetwork;
let host: NetHost;
let tools: ContainerTools;
let images: AppImages;
let frozenBootId: string;
const containers = new Set<string>();

beforeAll(async () => {
  const missing = NEEDED.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(', ')}: run scripts/install-container-tools.sh (as root)`);
  }
  hostBefore = await recordHostState();
  work = await mkdtemp(join(tmpdir(), 'defrost-podman-'));
  net = await createTestNetwork(`dfp${process.pid % 100000}`, ['H']);
  host = net.hosts.H!;
  tools = await containerTools(join(work, 'podman'), { nsenter: host.nsenter });
  const node24 = `${execFileSync('bash', [join(REPO_ROOT, 'scripts/node-bin.sh'), '24'], { encoding: 'utf8' }).trim()}/node`;
  images = await buildAppImages({
    tools,
    workspacePackage: '@defrost/container',
    command: ['node', 'app/server.mjs'],
    name: 'localhost/defrost-test-app',
    workDir: join(work, 'build'),
    nodeBinary: node24,
  });
  frozenBootId = /app: boot (\S+) listening/.exec(images.log)?.[1] ?? '';
  expect(frozenBootId, images.log).not.toBe('');
  console.log(`container images built and the app frozen in ${Math.round(images.buildMs)} ms`);
}, 400_000);

afterEach(async () => {
  for (const name of containers)
    await tools.podman(['rm', '--force', '--time', '5', name]).catch(() => undefined);
  containers.clear();
});

afterAll(async () => {
  await stopAllStarted();
  await tools?.remove();
  await net?.remove();
  if (work) await rm(work, { recursive: true, force: true });
  if (hostBefore) expect(await restoreHostState(hostBefore)).toEqual([]);
}, 120_000);

/** `podman run -d OPTIONS IMAGE`; resolves once /count answers from the test's address. */
async function runAndWait(
  image: string,
  options: readonly string[],
  port: number,
): Promise<{ count: Count; firstAnswerMs: number }> {
  const started = performance.now();
  await tools.podman(['run', '--detach', ...options, image]);
  const count = await waitForJson<Count>(`http://${host.address}:${port}/count`, {
    localAddress: net.clientAddress,
    withinMs: 60_000,
  });
  return { count, firstAnswerMs: performance.now() - started };
}

function startContainer(name: string, image: string, options: readonly string[], port: number) {
  containers.add(name);
  return runAndWait(image, ['--name', name, ...options], port);
}

/** The logs of the containers `podman kube play` made (named after the pod and the container). */
async function kubeLogs(): Promise<string> {
  const { stdout } = await tools.podman(['ps', '--all', '--format', '{{.Names}}']);
  const names = stdout.split('\n').filter(Boolean);
  const inspect = async (n: string) =>
    (await tools.podman(['inspect', '--format', '{{.EffectiveCaps}} {{.HostConfig.SecurityOpt}}', n])).stdout;
  return (await Promise.all(names.map(async (n) => `${n}: ${await inspect(n)}\n${await logsOf(n)}`))).join(
    '\n',
  );
}

/**
 * The container's log once it matches: the server can answer before conmon has written the
 * restorer's "restored" line, which the CLI prints after the copy reported ready.
 */
async function logsMatching(name: string, pattern: RegExp, withinMs = 5_000): Promise<string> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const logs = await logsOf(name);
    if (pattern.test(logs) || Date.now() > deadline) return logs;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const logsOf = async (name: string): Promise<string> => {
  const { stdout, stderr } = await tools.podman(['logs', name]);
  return `${stdout}${stderr}`;
};

const runtimeOf = (port: number): Promise<Runtime> =>
  waitForJson<Runtime>(`http://${host.address}:${port}/runtime`, {
    localAddress: net.clientAddress,
    withinMs: 5_000,
  });

describe('a restored server under Podman', () => {
  it('the baked image: restored with the frozen state, Node 24, no io_uring ring, no capability', async () => {
    const publish = ['--publish', `${host.address}:18080:8080`];
    const { count, firstAnswerMs } = await startContainer(
      'baked',
      images.baked,
      [...restoreRunOptions(), ...publish],
      18080,
    );
    expect(count.bootId, await logsOf('baked')).toBe(frozenBootId);
    expect(count.count).toBeGreaterThan(1); // the warm-up's requests were counted before the freeze
    expect(count.restoreId).toMatch(/^[0-9a-f-]{36}$/);
    const restored = /defrost: restored \/var\/lib\/defrost\/image in \d+ ms/;
    expect(await logsMatching('baked', restored)).toMatch(restored);
    const runtime = await runtimeOf(18080);
    expect(runtime.node).toMatch(/^v24\./);
    expect(runtime.seccomp).toBe(2); // defrost's filter, restored with the process
    expect(runtime.ioUringRings).toBe(0);
    expect(runtime.capEff).toBe('0000000000000000'); // the container's capabilities are CRIU's only
    console.log(`podman run of the baked image to its first answer: ${Math.round(firstAnswerMs)} ms`);
  });

  it('a registry REF on loopback: pulled at start, verified, restored', async () => {
    let registry: LoopbackRegistry | undefined;
    try {
      registry = await startLoopbackRegistry(join(work, 'registry'), host.exec, 5000);
      const ref = `${registry.host}/team/app:1`;
      const env = { ...process.env, DEFROST_CACHE_DIR: join(work, 'push-cache') };
      await run(...cliCommandIn(host, ['push', images.imageDir, ref]), { env });
      const options = [...restoreRunOptions(), '--network', 'host', '--env', `DEFROST_IMAGE_REF=${ref}`];
      const { count } = await startContainer('by-ref', images.base, options, 8080);
      const logs = await logsMatching('by-ref', /defrost: restored \S+ in \d+ ms/);
      expect(count.bootId, logs).toBe(frozenBootId);
      expect(count.count).toBeGreaterThan(1);
      expect(logs).toMatch(/defrost: restored \S+ in \d+ ms/);
      expect(logs).not.toMatch(/starting cold/);
    } finally {
      await registry?.stop();
    }
  });

  it('without SYS_TIME the restore is refused, and the app starts cold, filtered and without capabilities', async () => {
    const options = ['--cap-drop=ALL', '--cap-add=SYS_ADMIN,NET_ADMIN,SETPCAP,SETGID,SYS_CHROOT'];
    options.push('--security-opt', 'seccomp=unconfined', '--publish', `${host.address}:18081:8080`);
    const { count } = await startContainer('no-time', images.baked, options, 18081);
    expect(count.count).toBe(1);
    expect(count.bootId).not.toBe(frozenBootId);
    expect(count.restoreId).toBeNull();
    expect(await logsOf('no-time')).toMatch(/cannot restore \/var\/lib\/defrost\/image: .*; starting cold: /);
    const runtime = await runtimeOf(18081);
    expect(runtime.seccomp).toBe(2);
    expect(runtime.ioUringRings).toBe(0);
    expect(runtime.capEff).toBe('0000000000000000');
  });

  it('no image at all (the base image, no REF): a cold start that says why', async () => {
    const options = [...restoreRunOptions(), '--publish', `${host.address}:18082:8080`];
    const { count } = await startContainer('cold', images.base, options, 18082);
    expect(count.count).toBe(1);
    expect(await logsOf('cold')).toMatch(
      /cannot restore \/var\/lib\/defrost\/image: no such directory; starting cold/,
    );
  });

  it('the Quadlet unit of docs/deploy, as podman runs it (its image and port replaced)', async () => {
    const unit = quadletRunOptions(
      parseUnit(await readFile(join(REPO_ROOT, 'docs/deploy/blog.container'), 'utf8')),
    );
    const options = unit.options.map((o) => (o === '8080:8080' ? `${host.address}:18084:8080` : o));
    expect(options).toContain(`${host.address}:18084:8080`);
    containers.add(options[options.indexOf('--name') + 1]!);
    const { count } = await runAndWait(images.baked, options, 18084);
    expect(count.bootId, await logsOf('blog')).toBe(frozenBootId);
  });

  it('the Kubernetes manifest of docs/deploy with `podman kube play` (its image and port replaced)', async () => {
    const docs = parseAllDocuments(
      await readFile(join(REPO_ROOT, 'docs/deploy/kubernetes.yaml'), 'utf8'),
    ).map((d) => d.toJS());
    const deployment = docs.find((d) => d.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    deployment.spec.replicas = 1; // podman starts every replica, on one host port
    // podman 4.3 reads the seccomp profile from the annotation Kubernetes dropped in 1.27, not
    // from securityContext.seccompProfile (which Kubernetes reads); docs/containers.md says so.
    deployment.spec.template.metadata.annotations = {
      'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
    };
    container.image = images.baked;
    container.ports = [{ name: 'http', containerPort: 8080, hostPort: 18085, hostIP: host.address }];
    const file = join(work, 'kube.yaml');
    await writeFile(file, stringify(deployment));
    try {
      await tools.podman(['kube', 'play', file]);
      const count = await waitForJson<Count>(`http://${host.address}:18085/count`, {
        localAddress: net.clientAddress,
        withinMs: 60_000,
      });
      expect(count.bootId, await kubeLogs()).toBe(frozenBootId);
      expect(count.count).toBeGreaterThan(1);
    } finally {
      await tools.podman(['kube', 'down', file]).catch(() => undefined);
    }
  });
});
