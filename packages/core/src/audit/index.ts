/**
 * The pre-checkpoint audit: classify every open descriptor and child process of a process, so that
 * a freeze that would fail or restore wrongly is refused up front with one clear message.
 */
import { classifySnapshot } from './classify.js';
import { readProcSnapshot } from './proc.js';
import { buildReport } from './report.js';
import type { AuditPolicy, AuditReport } from './types.js';

export { isIncomingConnection } from './classify.js';
export {
  actionFor,
  assertAuditClean,
  buildReport,
  DEFAULT_POLICY,
  formatAuditErrors,
  formatFinding,
  listeningSockets,
} from './report.js';
export type {
  AuditAction,
  AuditClass,
  AuditFinding,
  AuditKind,
  AuditPolicy,
  AuditReport,
  ListeningSocket,
} from './types.js';
export { AUDIT_KINDS } from './types.js';

export interface AuditOptions {
  /** Per kind: 'error' stops the checkpoint, 'warn' lets it go on and reports, 'ignore' says nothing. */
  policy?: AuditPolicy;
  /** Where procfs is mounted; tests point it at a fake tree. Default '/proc'. */
  procRoot?: string;
  /** The process to audit. Default 'self'. */
  pid?: number | 'self';
  /**
   * Resolves the peers of connected unix sockets (inode -> peer inode, 0 when the peer is gone).
   * Default: `ss -xanH` when reading the real /proc; without it such sockets count as unsafe.
   */
  resolveUnixPeers?: () => Promise<Map<number, number> | undefined>;
}

/** Reads /proc and classifies every open descriptor and child process of the process. */
export async function auditOpenResources(options: AuditOptions = {}): Promise<AuditReport> {
  const snapshot = await readProcSnapshot({
    procRoot: options.procRoot ?? '/proc',
    pid: options.pid ?? 'self',
    ...(options.resolveUnixPeers ? { resolveUnixPeers: options.resolveUnixPeers } : {}),
  });
  return buildReport(classifySnapshot(snapshot), options.policy);
}
