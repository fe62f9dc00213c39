/**
 * The libcriu options defrost uses, as one typed object, and their mapping onto libcriu's
 * setter functions. Kept apart from the FFI so the mapping is unit-testable without CRIU.
 */

export type CriuLogLevel = 0 | 1 | 2 | 3 | 4;
export type CriuNetworkLock = 'iptables' | 'nftables' | 'skip';

export interface CriuInheritFd {
  /** The descriptor in the calling process. */
  readonly fd: number;
  /** The key CRIU matches against the dumped file, e.g. "tmp/x/stdout" or "pipe:[123]". */
  readonly key: string;
}

export interface CriuOptions {
  /** Directory that receives the image files; opened by the caller. */
  readonly imagesDirFd: number;
  /** Log file name, relative to the images directory. */
  readonly logFile?: string;
  readonly logLevel?: CriuLogLevel;
  /** Keep the dumped process running after the dump (checkpoint-and-continue). */
  readonly leaveRunning?: boolean;
  /** Allow a process whose session/process group leader is outside the dumped tree. */
  readonly shellJob?: boolean;
  readonly tcpEstablished?: boolean;
  readonly tcpClose?: boolean;
  readonly extUnixSk?: boolean;
  readonly fileLocks?: boolean;
  readonly networkLock?: CriuNetworkLock;
  /** Talk to a running `criu service` instead of forking a `criu swrk` child. */
  readonly serviceAddress?: string;
  readonly inheritFds?: readonly CriuInheritFd[];
  /** Allow ghost (deleted but open) files up to this size. */
  readonly ghostLimit?: number;
}

/** libcriu's enum criu_network_lock_method. */
const NETWORK_LOCK: Record<CriuNetworkLock, number> = { iptables: 1, nftables: 2, skip: 3 };

/** One setter call: the C function name and its arguments. */
export type CriuSetterCall = readonly [name: string, ...args: readonly (number | boolean | string)[]];

/** Maps options to libcriu setter calls, in a stable order. */
export function criuSetterCalls(options: CriuOptions): CriuSetterCall[] {
  const calls: CriuSetterCall[] = [];
  // The service address must be known before any request is built.
  if (options.serviceAddress !== undefined) calls.push(['criu_set_service_address', options.serviceAddress]);
  calls.push(['criu_set_images_dir_fd', options.imagesDirFd]);
  if (options.logFile !== undefined) calls.push(['criu_set_log_file', options.logFile]);
  if (options.logLevel !== undefined) calls.push(['criu_set_log_level', options.logLevel]);
  const flags: [keyof CriuOptions, string][] = [
    ['leaveRunning', 'criu_set_leave_running'],
    ['shellJob', 'criu_set_shell_job'],
    ['tcpEstablished', 'criu_set_tcp_established'],
    ['tcpClose', 'criu_set_tcp_close'],
    ['extUnixSk', 'criu_set_ext_unix_sk'],
    ['fileLocks', 'criu_set_file_locks'],
  ];
  for (const [key, setter] of flags) {
    const value = options[key];
    if (typeof value === 'boolean') calls.push([setter, value]);
  }
  if (options.networkLock !== undefined)
    calls.push(['criu_set_network_lock', NETWORK_LOCK[options.networkLock]]);
  if (options.ghostLimit !== undefined) calls.push(['criu_set_ghost_limit', options.ghostLimit]);
  for (const { fd, key } of options.inheritFds ?? []) calls.push(['criu_add_inherit_fd', fd, key]);
  return calls;
}
