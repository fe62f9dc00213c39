/**
 * The audit against the real /proc of real Node processes: each scenario is a child process that
 * audits itself with the built module (dist/audit) and prints its report as JSON.
 * Build first: `pnpm --filter @defrost/core build`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditFinding, AuditReport, ListeningSocket } from '../../src/audit/index.js';
import { withoutIoUring } from '../../src/launch/io-uring-filter.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, '../fixtures/audit-scenario.mjs');
const DIST = join(here, '../../dist/audit');
const SRC = join(here, '../../src/audit');

interface ScenarioOutput {
  pid: number;
  report: AuditReport;
  listening: ListeningSocket[];
  message: string | null;
  extra: Record<string, number>;
}

interface Running {
  child: ChildProcess;
  /** Other processes the scenario started (killed first, then awaited). */
  extraPids: number[];
}

const running: Running[] = [];
let scratch: string;

function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / Z /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return true;
  }
}

async function waitGone(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!processGone(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} did not go away`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(r: Running): Promise<void> {
  const { child } = r;
  for (const pid of r.extraPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  for (const pid of r.extraPids) await waitGone(pid);
}

async function stopAll(): Promise<void> {
  const all = running.splice(0);
  await Promise.all(all.map(stop));
}

const IO_URING_SYSCTL = '/proc/sys/kernel/io_uring_disabled';

/** Runs `fn` with kernel.io_uring_disabled=0, putting back whatever the host had. */
async function withIoUringEnabled(fn: () => Promise<void>): Promise<void> {
  const before = existsSync(IO_URING_SYSCTL) ? readFileSync(IO_URING_SYSCTL, 'utf8').trim() : '0';
  if (before !== '0') writeFileSync(IO_URING_SYSCTL, '0');
  try {
    await fn();
  } finally {
    if (before !== '0') writeFileSync(IO_URING_SYSCTL, before);
  }
}

/**
 * Starts the fixture, waits for its report line. Started as defrost starts apps (without io_uring)
 * unless `plainStart`: then Node opens whatever io_uring rings its libuv opens.
 */
async function runScenario(
  scenario: string,
  options: { arg?: string; env?: Record<string, string>; ipc?: boolean; plainStart?: boolean } = {},
): Promise<ScenarioOutput> {
  const command = [process.execPath, FIXTURE, scenario, ...(options.arg !== undefined ? [options.arg] : [])];
  const launch = options.plainStart ? { file: command[0]!, args: command.slice(1) } : withoutIoUring(command);
  const child = spawn(launch.file, launch.args, {
    cwd: here,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  const r: Running = { child, extraPids: [] };
  running.push(r);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const output = await new Promise<ScenarioOutput>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`scenario ${scenario} gave no report in time; stderr:\n${stderr}`)),
      20_000,
    );
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const nl = stdout.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try {
          resolve(JSON.parse(stdout.slice(0, nl)) as ScenarioOutput);
        } catch (error) {
          reject(error);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(`scenario ${scenario} exited (${code ?? signal}) before its report; stderr:\n${stderr}`),
      );
    });
  });
  if (output.extra.childPid) r.extraPids.push(output.extra.childPid);
  return output;
}

const kinds = (findings: AuditFinding[]): string[] => findings.map((f) => f.kind);
const byFd = (report: AuditReport, fd: number): AuditFinding | undefined =>
  report.findings.find((f) => f.fd === fd);

beforeAll(() => {
  if (!existsSync(join(DIST, 'index.js'))) {
    throw new Error('dist/audit is missing: run `pnpm --filter @defrost/core build` first');
  }
  const stale = readdirSync(SRC)
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => {
      const built = join(DIST, f.replace(/\.ts$/, '.js'));
      return !existsSync(built) || statSync(join(SRC, f)).mtimeMs > statSync(built).mtimeMs;
    });
  if (stale.length > 0) {
    throw new Error(
      `dist/audit is older than src/audit (${stale.join(', ')}): run \`pnpm --filter @defrost/core build\` first`,
    );
  }
  scratch = mkdtempSync(join(tmpdir(), 'defrost-audit-it-'));
});

afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('audit of real Node processes', () => {
  it('a bare server (listening socket, stdio, epoll) is clean', async () => {
    const { report, listening, message, extra } = await runScenario('bare');
    expect(message).toBeNull();
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(listening).toEqual([
      expect.objectContaining({ family: 'tcp4', address: '127.0.0.1', port: extra.port }),
    ]);
    expect(kinds(report.findings.filter((f) => (f.fd ?? 99) <= 2))).toEqual(['stdio', 'stdio', 'stdio']);
    expect(
      report.findings.filter((f) => f.fd !== undefined && f.fd <= 2).every((f) => f.class === 'handled'),
    ).toBe(true);
    const found = new Set(kinds(report.findings));
    for (const kind of ['epoll', 'eventfd', 'pipe', 'tcpListen']) expect(found).toContain(kind);
    // libuv's own pipes come in pairs held by this process
    const internalPipes = report.findings.filter(
      (f) => f.kind === 'pipe' && /both ends/.test(f.origin ?? ''),
    );
    expect(internalPipes.length).toBeGreaterThanOrEqual(2);
    expect(report.findings.some((f) => f.kind === 'ioUring')).toBe(false);
  });

  it('an open keep-alive client connection to itself is named with its peer and the fix', async () => {
    const { report, message, extra } = await runScenario('keepalive');
    const conns = report.errors.filter((f) => f.kind === 'tcpConnection');
    expect(conns).toHaveLength(2);
    const client = conns.find((f) => f.target.endsWith(`-> 127.0.0.1:${extra.port}`));
    const server = conns.find((f) => f.target.startsWith(`127.0.0.1:${extra.port} -> `));
    expect(client?.origin).toMatch(/HTTP client keep-alive connection to this server/);
    expect(client?.fix).toMatch(/await agent\.close\(\)/);
    expect(server?.origin).toMatch(/incoming connection to your server/);
    expect(server?.fix).toMatch(/closeAllConnections/);
    expect(client?.origin).toContain(`its other end is fd ${server?.fd}`);
    expect(message).toContain(
      `fd ${client?.fd}: established TCP socket ${client?.target} (an HTTP client keep-alive`,
    );
    expect(message).toContain(
      `fd ${server?.fd}: established TCP socket ${server?.target} (an incoming connection`,
    );
    expect(message).toMatch(
      /`audit: \{ tcpConnection: 'warn' \}` in the options of @defrost\/fastify or checkpoint\(\), or `--audit tcpConnection=warn` for `defrost checkpoint`/,
    );
  });

  it("a file opened with 'w' is named with its path; with 'a' it is safe", async () => {
    const path = join(scratch, 'out.txt');
    const w = await runScenario('file', { arg: `w:${path}` });
    const wf = byFd(w.report, w.extra.fd!);
    expect(wf).toMatchObject({ kind: 'writableFile', class: 'unsafe' });
    expect(wf?.target).toBe(`${path} (open for writing without O_APPEND, 6 bytes)`);
    expect(w.message).toContain(`fd ${w.extra.fd}: file ${path} (open for writing without O_APPEND`);
    expect(w.message).toMatch(/fix: open the file with flags 'a' \(O_APPEND\)/);
    expect(w.report.errors).toHaveLength(1);
    await stopAll();

    const a = await runScenario('file', { arg: `a:${path}` });
    expect(byFd(a.report, a.extra.fd!)).toMatchObject({ kind: 'appendFile', class: 'safe', target: path });
    expect(a.report.errors).toEqual([]);
    await stopAll();

    const r = await runScenario('file', { arg: `r+:${path}` });
    expect(byFd(r.report, r.extra.fd!)).toMatchObject({ kind: 'writableFile', class: 'unsafe' });
  });

  it('names the io_uring rings of a plain Node start with their real cause and a fix, and finds none under the filter', async () => {
    // On a host that switched io_uring off, switch it on for this test only: the refusal is
    // what such a host's users would never see, and it must still be right.
    await withIoUringEnabled(async () => {
      const { report, message } = await runScenario('uring', { plainStart: true });
      const rings = report.errors.filter((f) => f.kind === 'ioUring');
      // libuv >= 1.51 (Node 22+): one ring per event loop (main, V8 platform worker, inspector).
      expect(rings.length).toBeGreaterThanOrEqual(1);
      const origin = `libuv ${process.versions.uv} (Node ${process.version}) opens one for every event loop, whatever UV_USE_IO_URING says`;
      for (const ring of rings) {
        expect(ring).toMatchObject({ target: 'anon_inode:[io_uring]', origin });
        expect(ring.fix).toMatch(/defrost checkpoint -- COMMAND/);
        expect(ring.fix).toMatch(/kernel\.io_uring_disabled=2/);
      }
      expect(message).toContain(
        `fd ${rings[0]!.fd}: io_uring instance anon_inode:[io_uring] (${origin}): fix: start the app through defrost`,
      );
      await stopAll();

      const filtered = await runScenario('uring', { env: { UV_USE_IO_URING: '1' } });
      expect(filtered.report.findings.some((f) => f.kind === 'ioUring')).toBe(false);
      expect(filtered.report.errors).toEqual([]);
    });
  });

  it('a running child process is named with its PID and command line; its stdio is not', async () => {
    const { report, message, extra } = await runScenario('child');
    const child = report.errors.find((f) => f.kind === 'childProcess');
    expect(child).toMatchObject({ pid: extra.childPid, class: 'unsafe', target: 'sleep 30' });
    expect(report.errors).toHaveLength(1);
    expect(message).toContain(
      `pid ${extra.childPid}: running child process sleep 30 (child_process.spawn/exec): fix: stop it`,
    );
    // spawn's stdio pipes are socketpairs whose other ends the child holds
    const toChild = report.findings.filter(
      (f) => f.kind === 'unixSocket' && f.target.includes(`child process ${extra.childPid}`),
    );
    expect(toChild.length).toBe(2);
  });

  it('fs.watch (inotify) is a warning: it restored fine under CRIU 4.2', async () => {
    const { report, message } = await runScenario('watch', { arg: scratch });
    expect(message).toBeNull();
    expect(report.warnings).toEqual([
      expect.objectContaining({ kind: 'inotify', class: 'safe', target: 'anon_inode:inotify (1 watch)' }),
    ]);
  });

  it('sockets closed while the audit runs are not open resources (pg pool.end() leaves them so)', async () => {
    const out = await runScenario('closing');
    expect(out.extra.sockets).toBe(4);
    // The scenario's server, a child process, is the only thing in the way.
    expect(kinds(out.report.errors)).toEqual(['childProcess']);
  });

  it('UDP sockets are refused (a restored copy re-binds the same port)', async () => {
    const { report, extra } = await runScenario('udp');
    const udp = report.errors.filter((f) => f.kind === 'udp');
    expect(udp.map((f) => f.target)).toEqual([
      `127.0.0.1:${extra.boundPort}`,
      expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${extra.boundPort}$`)),
    ]);
  });

  it('a unix-socket server with a client inside the process is clean and listed', async () => {
    const path = join(scratch, 'app.sock');
    const { report, listening } = await runScenario('unix', { arg: path });
    expect(report.errors).toEqual([]);
    expect(listening).toEqual([expect.objectContaining({ family: 'unix', address: path })]);
    const pair = report.findings.filter((f) => f.kind === 'unixSocket');
    expect(pair).toHaveLength(2);
    for (const end of pair) expect(end.origin).toMatch(/socketpair inside this process/);
  });

  it('the IPC channel to a parent is refused with process.disconnect() as the fix', async () => {
    const { report } = await runScenario('ipc', { ipc: true });
    const ipc = report.errors.filter((f) => f.kind === 'unixConnection');
    expect(ipc).toHaveLength(1);
    expect(ipc[0]!.origin).toMatch(/IPC channel to the parent/);
    expect(ipc[0]!.fix).toMatch(/process\.disconnect\(\)/);
  });
});
