import { CheckpointError } from '../errors.js';
import type {
  AuditAction,
  AuditFinding,
  AuditKind,
  AuditPolicy,
  AuditReport,
  ListeningSocket,
} from './types.js';

/**
 * What happens to a finding when the policy does not name its kind: every unsafe kind stops the
 * checkpoint; inotify (restores fine, but events while frozen are lost) is a warning; the rest passes.
 */
export const DEFAULT_POLICY: Readonly<Record<AuditKind, AuditAction>> = {
  stdio: 'ignore',
  epoll: 'ignore',
  eventfd: 'ignore',
  signalfd: 'ignore',
  timerfd: 'ignore',
  memfd: 'ignore',
  pipe: 'ignore',
  statelessDevice: 'ignore',
  directory: 'ignore',
  readonlyFile: 'ignore',
  appendFile: 'ignore',
  tcpListen: 'ignore',
  unixListen: 'ignore',
  tcpSocket: 'ignore',
  unixSocket: 'ignore',
  zombie: 'ignore',
  inotify: 'warn',
  ioUring: 'error',
  tcpConnection: 'error',
  tcpClosing: 'error',
  unixConnection: 'error',
  udp: 'error',
  writableFile: 'error',
  deletedFile: 'error',
  device: 'error',
  childProcess: 'error',
  unknown: 'error',
};

export function actionFor(finding: AuditFinding, policy: AuditPolicy = {}): AuditAction {
  return (
    policy[finding.kind] ?? DEFAULT_POLICY[finding.kind] ?? (finding.class === 'unsafe' ? 'error' : 'ignore')
  );
}

/** Splits classified findings into errors and warnings according to the policy. */
export function buildReport(findings: AuditFinding[], policy: AuditPolicy = {}): AuditReport {
  const errors: AuditFinding[] = [];
  const warnings: AuditFinding[] = [];
  for (const f of findings) {
    const action = actionFor(f, policy);
    if (action === 'error') errors.push(f);
    else if (action === 'warn') warnings.push(f);
  }
  return { findings, errors, warnings };
}

const LABELS: Record<AuditKind, string> = {
  stdio: 'stdio',
  epoll: 'epoll instance',
  eventfd: 'eventfd',
  signalfd: 'signalfd',
  timerfd: 'timerfd',
  memfd: 'memfd',
  pipe: 'pipe',
  statelessDevice: 'device',
  directory: 'directory',
  readonlyFile: 'read-only file',
  appendFile: 'file open for appending',
  tcpListen: 'listening TCP socket',
  unixListen: 'listening unix socket',
  tcpSocket: 'TCP socket',
  unixSocket: 'unix socket',
  zombie: 'exited child process',
  inotify: 'inotify instance',
  ioUring: 'io_uring instance',
  tcpConnection: 'established TCP socket',
  tcpClosing: 'closing TCP socket',
  unixConnection: 'connected unix socket',
  udp: 'UDP socket',
  writableFile: 'file',
  deletedFile: 'deleted file',
  device: 'device',
  childProcess: 'running child process',
  unknown: 'unrecognized descriptor',
};

function label(f: AuditFinding): string {
  if (f.kind === 'tcpConnection' && / \[[A-Z_0-9 x]+\]$/.test(f.target)) return 'TCP socket';
  return LABELS[f.kind] ?? f.kind;
}

/**
 * One line per finding:
 * `fd 23: established TCP socket 127.0.0.1:41234 -> 127.0.0.1:3000 (an HTTP client keep-alive connection ...): fix: ...`
 */
export function formatFinding(f: AuditFinding): string {
  const who = f.fd !== undefined ? `fd ${f.fd}` : f.pid !== undefined ? `pid ${f.pid}` : 'process';
  const origin = f.origin ? ` (${f.origin})` : '';
  const fix = f.fix ? `: fix: ${f.fix}` : '';
  return `${who}: ${label(f)} ${f.target}${origin}${fix}`;
}

/** The message of the error that refuses a checkpoint: every error finding, then how to accept the risk. */
export function formatAuditErrors(errors: readonly AuditFinding[]): string {
  const kinds = [...new Set(errors.map((f) => f.kind))];
  const example = kinds.map((k) => `${k}: 'warn'`).join(', ');
  const n = errors.length;
  return [
    `cannot checkpoint: ${n} open resource${n === 1 ? '' : 's'} would make the CRIU dump fail or the restored copy misbehave:`,
    ...errors.map((f) => `  ${formatFinding(f)}`),
    `To accept the risk instead, set the audit policy for the kind ('warn' or 'ignore'): ` +
      `\`audit: { ${example} }\` in the options of @defrost/fastify or checkpoint(), or ` +
      `\`${kinds.map((k) => `--audit ${k}=warn`).join(' ')}\` for \`defrost checkpoint\`.`,
  ].join('\n');
}

/** Throws a CheckpointError (step 'audit') naming every error finding; does nothing when there is none. */
export function assertAuditClean(report: AuditReport): void {
  if (report.errors.length === 0) return;
  throw new CheckpointError(formatAuditErrors(report.errors), { step: 'audit', details: report.errors });
}

const TCP_ENDPOINT = /^(?:\[([^\]]+)\]|([^\s:]+)):(\d+)$/;

/** The listening sockets of the report, for the image manifest and SO_REUSEPORT. */
export function listeningSockets(report: AuditReport): ListeningSocket[] {
  const out: ListeningSocket[] = [];
  for (const f of report.findings) {
    if (f.fd === undefined) continue;
    if (f.kind === 'tcpListen') {
      const m = TCP_ENDPOINT.exec(f.target);
      if (!m) continue;
      const v6 = m[1] !== undefined;
      out.push({ fd: f.fd, family: v6 ? 'tcp6' : 'tcp4', address: (m[1] ?? m[2])!, port: Number(m[3]) });
    } else if (f.kind === 'unixListen') {
      out.push({ fd: f.fd, family: 'unix', address: f.target });
    }
  }
  return out;
}
