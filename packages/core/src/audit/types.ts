/**
 * What the pre-checkpoint audit can find among the open resources of a process.
 *
 * The kind is also the key of the audit policy, so the names are what a user types:
 * `audit: { tcpConnection: 'ignore' }`.
 */
export const AUDIT_KINDS = [
  // handled by defrost: stdio is re-attached by the restorer
  'stdio',
  // safe: CRIU dumps and restores them faithfully
  'epoll',
  'eventfd',
  'signalfd',
  'timerfd',
  'memfd',
  'pipe',
  'statelessDevice',
  'directory',
  'readonlyFile',
  'appendFile',
  'tcpListen',
  'unixListen',
  'tcpSocket',
  'unixSocket',
  'zombie',
  // restores fine (measured), but events while frozen are lost: a warning by default
  'inotify',
  // unsafe: the dump fails, the restore fails, or the restored copy misbehaves
  'ioUring',
  'tcpConnection',
  'tcpClosing',
  'unixConnection',
  'udp',
  'writableFile',
  'deletedFile',
  'device',
  'childProcess',
  'unknown',
] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number];

export type AuditClass = 'safe' | 'handled' | 'unsafe';

export type AuditAction = 'error' | 'warn' | 'ignore';

export type AuditPolicy = Partial<Record<AuditKind, AuditAction>>;

export interface AuditFinding {
  /** The descriptor, for fd findings. */
  fd?: number;
  /** The process, for child-process findings. */
  pid?: number;
  kind: AuditKind;
  class: AuditClass;
  /** Path, peer address (`127.0.0.1:3000 -> 127.0.0.1:51234`), command line... */
  target: string;
  /** What to do about it, for anything that is not safe. */
  fix?: string;
  /** Which code most likely opened it, when that can be told. */
  origin?: string;
}

export interface AuditReport {
  /** Every open descriptor and child process, classified. */
  findings: AuditFinding[];
  /** Findings whose policy is 'error': the checkpoint must not go on. */
  errors: AuditFinding[];
  /** Findings whose policy is 'warn': the checkpoint goes on, the user is told. */
  warnings: AuditFinding[];
}

export interface ListeningSocket {
  fd: number;
  family: 'tcp4' | 'tcp6' | 'unix';
  address: string;
  port?: number;
}
