/**
 * Podman, buildah and skopeo with a configuration and a storage of the caller's own, in a directory
 * it owns (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF), optionally inside a network namespace
 * (podman through `nsenter --net`, so that netavark's bridge, ip_forward and iptables rules live
 * and die with that namespace). The settings are those measured on this machine class
 * (docs/containers.md): runc (crun fails on hybrid cgroups), default ulimits (runc cannot raise
 * the open-files limit to podman's default), a TEST-NET default subnet, cgroupfs, file events.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RunOptions, type RunResult, run } from './run.js';

export const PODMAN_SUBNET = '198.51.100.0/24';

export function containersConf(dir: string): string {
  return `# Written by @defrost/container for one test run (docs/containers.md).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${join(dir, 'events.log')}"
tmp_dir = "${join(dir, 'tmp')}"
[network]
default_subnet = "${PODMAN_SUBNET}"
network_config_dir = "${join(dir, 'networks')}"
`;
}

export function storageConf(dir: string): string {
  return `[storage]
driver = "overlay"
runroot = "${join(dir, 'run')}"
graphroot = "${join(dir, 'graph')}"
`;
}

export interface ContainerTools {
  readonly dir: string;
  /** CONTAINERS_CONF and CONTAINERS_STORAGE_CONF, for anything else that runs these tools. */
  readonly env: NodeJS.ProcessEnv;
  /** `podman ARGS`, inside the namespace when one was given. */
  podman(args: readonly string[], o?: RunOptions): Promise<RunResult>;
  /** The podman command line with its prefix, for commands a caller starts itself. */
  podmanCommand(args: readonly string[]): string[];
  buildah(args: readonly string[], o?: RunOptions): Promise<RunResult>;
  skopeo(args: readonly string[], o?: RunOptions): Promise<RunResult>;
  /** Removes every container and image, then the directory. */
  remove(): Promise<void>;
}

export async function containerTools(
  dir: string,
  o: { nsenter?: readonly string[] } = {},
): Promise<ContainerTools> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await writeFile(join(dir, 'containers.conf'), containersConf(dir));
  await writeFile(join(dir, 'storage.conf'), storageConf(dir));
  const env = {
    ...process.env,
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
  };
  const prefix = o.nsenter ?? [];
  const podmanCommand = (args: readonly string[]): string[] => [...prefix, 'podman', ...args];
  const tool =
    (file: string) =>
    (args: readonly string[], options: RunOptions = {}): Promise<RunResult> =>
      run(file, args, { env, ...options });
  const podman = (args: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
    const [file, ...rest] = podmanCommand(args);
    return run(file!, rest, { env, ...options });
  };
  return {
    dir,
    env,
    podman,
    podmanCommand,
    buildah: tool('buildah'),
    skopeo: tool('skopeo'),
    async remove() {
      await podman(['rm', '--all', '--force', '--time', '2']).catch(() => undefined);
      await run('buildah', ['rm', '--all'], { env }).catch(() => undefined);
      // Unmounts and deletes the overlay layers; a plain rm would trip over mounted ones.
      await podman(['system', 'reset', '--force']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
