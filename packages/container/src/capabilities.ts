/**
 * What a container that restores a defrost image needs, found by removing one at a time from a
 * set that worked (docs/containers.md has each one's reason and the error without it). The test
 * under Podman runs with exactly these, the Kubernetes manifest and the Quadlet unit in
 * docs/deploy grant exactly these (a unit test checks both).
 */
export const RESTORE_CAPABILITIES = [
  'SYS_ADMIN',
  'NET_ADMIN',
  'SYS_TIME',
  'SETPCAP',
  'SETGID',
  'SYS_CHROOT',
] as const;

/** podman run options: no capability but those, and no seccomp profile (CRIU's ptrace and splice). */
export function restoreRunOptions(): string[] {
  return [
    '--cap-drop=ALL',
    `--cap-add=${RESTORE_CAPABILITIES.join(',')}`,
    '--security-opt',
    'seccomp=unconfined',
  ];
}
