import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { classifySnapshot } from '../../src/audit/classify.js';
import {
  type AuditFinding,
  type AuditReport,
  assertAuditClean,
  auditOpenResources,
  buildReport,
  formatAuditErrors,
  formatFinding,
  listeningSockets,
} from '../../src/audit/index.js';
import { CheckpointError } from '../../src/errors.js';
import { FakeProc, fdinfo, nodeBaselineFds, tcpLine, unixLine } from '../fixtures/audit-fake-proc.js';

let proc: FakeProc;
beforeEach(() => {
  proc = new FakeProc();
});
afterEach(() => {
  proc.cleanup();
});

const PID = 4242;
// 127.0.0.1:3000 listening; a keep-alive client 127.0.0.1:51234 -> 127.0.0.1:3000 and its accepted side.
const LISTEN_3000 = tcpLine(0, '0100007F:0BB8', '00000000:0000', '0A', 5001);
const CLIENT = tcpLine(1, '0100007F:C822', '0100007F:0BB8', '01', 5002);
const ACCEPTED = tcpLine(2, '0100007F:0BB8', '0100007F:C822', '01', 5003);

const audit = (options: Parameters<typeof auditOpenResources>[0] = {}): Promise<AuditReport> =>
  auditOpenResources({ procRoot: proc.root, ...options });

const byFd = (report: AuditReport, fd: number): AuditFinding => {
  const f = report.findings.find((x) => x.fd === fd);
  if (!f) throw new Error(`no finding for fd ${fd}`);
  return f;
};

describe('a bare Node server', () => {
  it('is clean: stdio handled, libuv internals and the listening socket safe', async () => {
    proc
      .self({ pid: PID, fds: [...nodeBaselineFds(), { fd: 19, link: 'socket:[5001]' }] })
      .net({ tcp: [LISTEN_3000] });
    const report = await audit();
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.findings).toHaveLength(12);
    expect(report.findings.filter((f) => f.class === 'handled').map((f) => f.fd)).toEqual([0, 1, 2]);
    expect(byFd(report, 0)).toMatchObject({ kind: 'stdio', target: '/dev/null' });
    expect(byFd(report, 3).kind).toBe('epoll');
    expect(byFd(report, 9).kind).toBe('epoll');
    expect(byFd(report, 4)).toMatchObject({ kind: 'pipe', class: 'safe', target: 'pipe:[21580] <-> fd 5' });
    expect(byFd(report, 4).origin).toMatch(/both ends held by this process/);
    expect(byFd(report, 8).kind).toBe('eventfd');
    expect(byFd(report, 10)).toMatchObject({ kind: 'statelessDevice', class: 'safe' });
    expect(byFd(report, 19)).toMatchObject({ kind: 'tcpListen', class: 'safe', target: '127.0.0.1:3000' });
    expect(listeningSockets(report)).toEqual([{ fd: 19, family: 'tcp4', address: '127.0.0.1', port: 3000 }]);
    expect(() => assertAuditClean(report)).not.toThrow();
  });

  it('lists IPv6 and unix listeners for the manifest', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 19, link: 'socket:[6001]' },
          { fd: 20, link: 'socket:[6002]' },
          { fd: 21, link: 'socket:[6003]' },
        ],
      })
      .net({
        tcp6: [
          tcpLine(
            0,
            '00000000000000000000000000000000:1F90',
            '00000000000000000000000000000000:0000',
            '0A',
            6001,
          ),
        ],
        tcp: [tcpLine(0, '00000000:0050', '00000000:0000', '0A', 6002)],
        unix: [unixLine(6003, '00010000', '0001', '01', '/run/app.sock')],
      });
    const report = await audit();
    expect(listeningSockets(report)).toEqual([
      { fd: 19, family: 'tcp6', address: '::', port: 8080 },
      { fd: 20, family: 'tcp4', address: '0.0.0.0', port: 80 },
      { fd: 21, family: 'unix', address: '/run/app.sock' },
    ]);
    expect(report.errors).toEqual([]);
  });
});

describe('TCP connections', () => {
  it('names both ends of a keep-alive connection to our own server, with origin and fix', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 19, link: 'socket:[5001]' },
          { fd: 23, link: 'socket:[5002]' },
          { fd: 24, link: 'socket:[5003]' },
        ],
      })
      .net({ tcp: [LISTEN_3000, CLIENT, ACCEPTED] });
    const report = await audit();
    expect(report.errors.map((f) => f.fd)).toEqual([23, 24]);
    const client = byFd(report, 23);
    expect(client).toMatchObject({
      kind: 'tcpConnection',
      class: 'unsafe',
      target: '127.0.0.1:51234 -> 127.0.0.1:3000',
    });
    expect(client.origin).toMatch(/^an HTTP client keep-alive connection to this server \(undici\/fetch/);
    expect(client.origin).toMatch(/its other end is fd 24/);
    expect(client.fix).toMatch(/await agent\.close\(\)/);
    expect(client.fix).toMatch(/server\.closeAllConnections\(\)/);
    const accepted = byFd(report, 24);
    expect(accepted.target).toBe('127.0.0.1:3000 -> 127.0.0.1:51234');
    expect(accepted.origin).toMatch(/^an incoming connection to your server/);
    expect(accepted.fix).toMatch(/server\.closeAllConnections\(\)/);
    expect(formatFinding(client)).toMatch(
      /^fd 23: established TCP socket 127\.0\.0\.1:51234 -> 127\.0\.0\.1:3000 \(an HTTP client keep-alive connection .*\): fix: close the client side/,
    );
  });

  it('names outgoing connections and half-closed states', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 30, link: 'socket:[7001]' },
          { fd: 31, link: 'socket:[7002]' },
          { fd: 32, link: 'socket:[7003]' },
        ],
      })
      .net({
        // 10.0.0.5:40000 -> 93.184.216.34:443, 127.0.0.1:40001 -> 127.0.0.1:5432 (CLOSE_WAIT), bound only
        tcp: [
          tcpLine(0, '0500000A:9C40', '22D8B85D:01BB', '01', 7001),
          tcpLine(1, '0100007F:9C41', '0100007F:1538', '08', 7002),
          tcpLine(2, '0100007F:9C42', '00000000:0000', '07', 7003),
        ],
      });
    const report = await audit();
    expect(byFd(report, 30)).toMatchObject({ target: '10.0.0.5:40000 -> 93.184.216.34:443' });
    expect(byFd(report, 30).origin).toMatch(/outgoing connection to 93\.184\.216\.34:443/);
    expect(byFd(report, 31).target).toBe('127.0.0.1:40001 -> 127.0.0.1:5432 [CLOSE_WAIT]');
    expect(byFd(report, 31).origin).toMatch(/local service on port 5432/);
    expect(formatFinding(byFd(report, 31))).toMatch(/^fd 31: TCP socket 127\.0\.0\.1:40001 -> /);
    expect(byFd(report, 32)).toMatchObject({ kind: 'tcpSocket', class: 'safe' });
    expect(report.errors.map((f) => f.fd)).toEqual([30, 31]);
  });

  it('names connections this process has shut down (FIN sent) as closing, not as open', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 40, link: 'socket:[7101]' },
          { fd: 41, link: 'socket:[7102]' },
          { fd: 42, link: 'socket:[7103]' },
        ],
      })
      .net({
        // pg's pool.end(): FIN_WAIT1, then FIN_WAIT2; LAST_ACK: the peer closed first, then we did
        tcp: [
          tcpLine(0, '0100007F:9C50', '0100007F:1538', '04', 7101),
          tcpLine(1, '0100007F:9C51', '0100007F:1538', '05', 7102),
          tcpLine(2, '0100007F:9C52', '0100007F:1538', '09', 7103),
        ],
      });
    const report = await audit();
    for (const fd of [40, 41, 42])
      expect(byFd(report, fd)).toMatchObject({ kind: 'tcpClosing', class: 'unsafe' });
    expect(byFd(report, 40).target).toBe('127.0.0.1:40016 -> 127.0.0.1:5432 [FIN_WAIT1]');
    expect(byFd(report, 40).origin).toMatch(/local service on port 5432 .*, being closed by this process$/);
    expect(byFd(report, 40).fix).toMatch(/defrost waits up to 2 s/);
  });

  it('recognizes IPv4-mapped connections on an IPv6 wildcard listener', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 19, link: 'socket:[8001]' },
          { fd: 20, link: 'socket:[8002]' },
        ],
      })
      .net({
        tcp6: [
          tcpLine(
            0,
            '00000000000000000000000000000000:0BB8',
            '00000000000000000000000000000000:0000',
            '0A',
            8001,
          ),
          tcpLine(
            1,
            '0000000000000000FFFF00000100007F:0BB8',
            '0000000000000000FFFF00000100007F:C822',
            '01',
            8002,
          ),
        ],
      });
    const report = await audit();
    expect(byFd(report, 20).target).toBe('[::ffff:127.0.0.1]:3000 -> [::ffff:127.0.0.1]:51234');
    expect(byFd(report, 20).origin).toMatch(/incoming connection to your server/);
  });
});

describe('files', () => {
  it("refuses files open for writing without O_APPEND; 'a' and read-only are safe", async () => {
    const w = proc.file('data.bin', 'x'.repeat(73));
    const a = proc.file('app.log');
    const r = proc.file('config.json', '{}');
    const rw = proc.file('db.sqlite');
    proc.self({
      pid: PID,
      fds: [
        { fd: 20, link: w, fdinfo: fdinfo('0100001') }, // fs.openSync(p, 'w')
        { fd: 21, link: a, fdinfo: fdinfo('0102001') }, // fs.openSync(p, 'a')
        { fd: 22, link: r, fdinfo: fdinfo('0100000') },
        { fd: 23, link: rw, fdinfo: fdinfo('0100002') }, // 'r+'
        { fd: 24, link: proc.files, fdinfo: fdinfo('0200000') },
        { fd: 25, link: '/memfd:v8 (deleted)', fdinfo: fdinfo('0100002') },
      ],
    });
    const report = await audit();
    expect(byFd(report, 20)).toMatchObject({
      kind: 'writableFile',
      class: 'unsafe',
      target: `${w} (open for writing without O_APPEND, 73 bytes)`,
    });
    expect(byFd(report, 20).fix).toMatch(/open the file with flags 'a' \(O_APPEND\)/);
    expect(byFd(report, 20).fix).toMatch(/restore fails/);
    expect(byFd(report, 21)).toMatchObject({ kind: 'appendFile', class: 'safe', target: a });
    expect(byFd(report, 22)).toMatchObject({ kind: 'readonlyFile', class: 'safe' });
    expect(byFd(report, 23)).toMatchObject({ kind: 'writableFile', class: 'unsafe' });
    expect(byFd(report, 24)).toMatchObject({ kind: 'directory', class: 'safe' });
    expect(byFd(report, 25)).toMatchObject({ kind: 'memfd', class: 'safe' });
    expect(report.errors.map((f) => f.fd)).toEqual([20, 23]);
  });

  it('knows perf maps and log files', async () => {
    proc.self({
      pid: PID,
      cmdline: ['node', '--perf-basic-prof', 'server.js'],
      fds: [
        { fd: 20, link: `/tmp/perf-${PID}.map`, fdinfo: fdinfo('0100001') },
        { fd: 21, link: '/var/log/app/server.log', fdinfo: fdinfo('0100001') },
      ],
    });
    const report = await audit();
    expect(byFd(report, 20).origin).toBe(`/tmp/perf-${PID}.map from --perf-basic-prof`);
    expect(byFd(report, 20).fix).toMatch(/without --perf-basic-prof/);
    expect(byFd(report, 21).origin).toMatch(/pino\.destination\(\{ append: false \}\)/);
    expect(byFd(report, 21).fix).toMatch(/reopen/);
  });

  it('refuses deleted files beyond the ghost limit', async () => {
    const big = proc.file('blob.bin (deleted)', 'x'.repeat(2 << 20));
    const small = proc.file('small.bin (deleted)', 'x');
    proc.self({
      pid: PID,
      fds: [
        { fd: 20, link: big, fdinfo: fdinfo('0100000') },
        { fd: 21, link: small, fdinfo: fdinfo('0100000') },
      ],
    });
    const report = await audit();
    expect(byFd(report, 20)).toMatchObject({ kind: 'deletedFile', class: 'unsafe' });
    expect(byFd(report, 20).fix).toMatch(/ghost-limit/);
    expect(byFd(report, 21)).toMatchObject({ kind: 'readonlyFile', class: 'safe' });
  });

  it('tells stateless devices from others', async () => {
    proc.self({
      pid: PID,
      fds: [
        { fd: 20, link: '/dev/urandom', fdinfo: fdinfo('0100000') },
        { fd: 21, link: '/dev/zero', fdinfo: fdinfo('0100000') },
        { fd: 22, link: '/dev/kvm', fdinfo: fdinfo('0100002') },
      ],
    });
    const report = await audit();
    expect(byFd(report, 20).kind).toBe('statelessDevice');
    expect(byFd(report, 21).kind).toBe('statelessDevice');
    expect(byFd(report, 22)).toMatchObject({ kind: 'device', class: 'unsafe' });
  });
});

describe('anonymous inodes', () => {
  it('refuses io_uring with a fix that works on every Node: start through defrost', async () => {
    proc.self({
      pid: PID,
      environ: { UV_USE_IO_URING: '1' },
      fds: [
        { fd: 13, link: 'anon_inode:[io_uring]', fdinfo: fdinfo('02000002', 'SqMask:\t0x3f\nSqHead:\t0\n') },
        { fd: 14, link: 'anon_inode:[signalfd]', fdinfo: fdinfo('02004002', 'sigmask:\t0000000000004000\n') },
        { fd: 15, link: 'anon_inode:[timerfd]', fdinfo: fdinfo('02004002', 'clockid: 1\nticks: 0\n') },
      ],
    });
    const report = await audit();
    expect(byFd(report, 13)).toMatchObject({
      kind: 'ioUring',
      class: 'unsafe',
      target: 'anon_inode:[io_uring]',
      origin: 'libuv (UV_USE_IO_URING=1)',
    });
    expect(byFd(report, 13).fix).toMatch(/start the app through defrost \(`defrost checkpoint -- COMMAND`/);
    expect(byFd(report, 13).fix).toMatch(/sysctl kernel\.io_uring_disabled=2/);
    expect(byFd(report, 14).kind).toBe('signalfd');
    expect(byFd(report, 15).kind).toBe('timerfd');
    expect(report.errors.map((f) => f.fd)).toEqual([13]);
  });

  it('recognizes anon inodes by fdinfo when the name is unfamiliar', async () => {
    proc.self({
      pid: PID,
      fds: [{ fd: 13, link: 'anon_inode:[io_uring_new]', fdinfo: fdinfo('02000002', 'SqMask:\t0x3f\n') }],
    });
    const report = await audit();
    expect(byFd(report, 13)).toMatchObject({ kind: 'ioUring' });
    expect(byFd(report, 13).origin).toBe('libuv or a native addon');
  });

  it("names libuv >= 1.51's rings as opened for every event loop, whatever UV_USE_IO_URING says", () => {
    const ring = { fd: 4, link: 'anon_inode:[io_uring]' };
    const snapshot = (uv: string) => ({
      pid: PID,
      fds: [ring],
      inet: [],
      unix: [],
      unixPeers: undefined,
      children: [],
      environ: { UV_USE_IO_URING: '0' },
      cmdline: ['node', 'app.js'],
      runtime: { node: 'v24.22.3', uv },
    });
    expect(classifySnapshot(snapshot('1.52.1')).find((f) => f.fd === 4)?.origin).toBe(
      'libuv 1.52.1 (Node v24.22.3) opens one for every event loop, whatever UV_USE_IO_URING says',
    );
    expect(classifySnapshot(snapshot('1.46.0')).find((f) => f.fd === 4)?.origin).toBe(
      'libuv (UV_USE_IO_URING=0)',
    );
  });

  it('makes inotify (fs.watch) a warning, not an error', async () => {
    proc.self({
      pid: PID,
      fds: [
        {
          fd: 20,
          link: 'anon_inode:inotify',
          fdinfo: fdinfo('02004000', 'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:fc6 ignored_mask:0\n'),
        },
      ],
    });
    const report = await audit();
    expect(byFd(report, 20)).toMatchObject({ kind: 'inotify', target: 'anon_inode:inotify (1 watch)' });
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((f) => f.fd)).toEqual([20]);
    expect(() => assertAuditClean(report)).not.toThrow();
  });

  it('refuses what it does not know', async () => {
    proc.self({
      pid: PID,
      fds: [
        { fd: 20, link: 'anon_inode:[pidfd]' },
        { fd: 21, link: 'net:[4026531840]' },
        { fd: 22, link: 'socket:[9999]' },
      ],
    });
    proc.net({});
    const report = await audit();
    expect(report.errors.map((f) => [f.fd, f.kind])).toEqual([
      [20, 'unknown'],
      [21, 'unknown'],
      [22, 'unknown'],
    ]);
    expect(byFd(report, 22).target).toMatch(/not in \/proc\/net/);
  });
});

describe('UDP', () => {
  it('refuses bound and connected dgram sockets', async () => {
    proc
      .self({
        pid: PID,
        fds: [
          { fd: 20, link: 'socket:[21358]' },
          { fd: 21, link: 'socket:[21359]' },
        ],
      })
      .net({
        udp: [tcpLine(11511, '0100007F:E967', '00000000:0000', '07', 21358)],
        udp6: [
          tcpLine(
            5184,
            '00000000000000000000000001000000:90B0',
            '00000000000000000000000001000000:0035',
            '01',
            21359,
          ),
        ],
      });
    const report = await audit();
    expect(byFd(report, 20)).toMatchObject({ kind: 'udp', class: 'unsafe', target: '127.0.0.1:59751' });
    expect(byFd(report, 20).fix).toMatch(/Address already in use/);
    expect(byFd(report, 20).fix).toMatch(/reuseAddr: true/);
    expect(byFd(report, 21).target).toBe('[::1]:37040 -> [::1]:53');
    expect(byFd(report, 21).origin).toMatch(/DNS/);
  });
});

describe('unix sockets', () => {
  const setup = (environ: Record<string, string> = {}): void => {
    proc
      .self({
        pid: PID,
        environ,
        fds: [
          { fd: 3, link: 'socket:[100]' }, // IPC channel to the parent (NODE_CHANNEL_FD=3)
          { fd: 20, link: 'socket:[101]' }, // listening /run/app.sock
          { fd: 21, link: 'socket:[102]' }, // accepted from an outside client
          { fd: 22, link: 'socket:[103]' }, // socketpair end
          { fd: 23, link: 'socket:[104]' }, // socketpair other end
          { fd: 24, link: 'socket:[105]' }, // client of /run/postgresql/.s.PGSQL.5432
          { fd: 25, link: 'socket:[106]' }, // peer closed
          { fd: 26, link: 'socket:[107]' }, // unconnected dgram
        ],
      })
      .net({
        unix: [
          unixLine(100, '00000000', '0001', '03'),
          unixLine(101, '00010000', '0001', '01', '/run/app.sock'),
          unixLine(102, '00000000', '0001', '03', '/run/app.sock'),
          unixLine(103, '00000000', '0001', '03'),
          unixLine(104, '00000000', '0001', '03'),
          unixLine(105, '00000000', '0001', '03'),
          unixLine(106, '00000000', '0001', '03'),
          unixLine(107, '00000000', '0002', '01', '/run/dgram.sock'),
          unixLine(200, '00000000', '0001', '03'),
          unixLine(201, '00000000', '0001', '03'),
          unixLine(300, '00000000', '0001', '03', '/run/postgresql/.s.PGSQL.5432'),
        ],
      });
  };
  const peers = new Map([
    [100, 200],
    [102, 201],
    [103, 104],
    [104, 103],
    [105, 300],
    [106, 0],
  ]);

  it('tells internal socketpairs and closed peers from connections that leave the process', async () => {
    setup({ NODE_CHANNEL_FD: '3' });
    const report = await audit({ resolveUnixPeers: async () => peers });
    expect(byFd(report, 3)).toMatchObject({ kind: 'unixConnection', class: 'unsafe' });
    expect(byFd(report, 3).origin).toMatch(/IPC channel to the parent/);
    expect(byFd(report, 20)).toMatchObject({ kind: 'unixListen', class: 'safe', target: '/run/app.sock' });
    expect(byFd(report, 21)).toMatchObject({ kind: 'unixConnection', class: 'unsafe' });
    expect(byFd(report, 21).origin).toBe('an incoming connection to your server on /run/app.sock');
    expect(byFd(report, 22)).toMatchObject({
      kind: 'unixSocket',
      class: 'safe',
      target: 'stream (unnamed) <-> fd 23',
    });
    expect(byFd(report, 24)).toMatchObject({ kind: 'unixConnection', class: 'unsafe' });
    expect(byFd(report, 24).target).toMatch(/-> \/run\/postgresql\/\.s\.PGSQL\.5432/);
    expect(byFd(report, 24).fix).toMatch(/--ext-unix-sk/);
    expect(byFd(report, 25)).toMatchObject({ kind: 'unixSocket', class: 'safe' });
    expect(byFd(report, 25).target).toMatch(/peer closed/);
    expect(byFd(report, 26)).toMatchObject({ kind: 'unixSocket', class: 'safe' });
    expect(listeningSockets(report)).toEqual([{ fd: 20, family: 'unix', address: '/run/app.sock' }]);
    expect(report.errors.map((f) => f.fd)).toEqual([3, 21, 24]);
  });

  it('names the IPC channel to the parent', async () => {
    proc
      .self({ pid: PID, environ: { NODE_CHANNEL_FD: '7' }, fds: [{ fd: 7, link: 'socket:[100]' }] })
      .net({ unix: [unixLine(100, '00000000', '0001', '03'), unixLine(200, '00000000', '0001', '03')] });
    const report = await audit({ resolveUnixPeers: async () => new Map([[100, 200]]) });
    expect(byFd(report, 7).origin).toMatch(/IPC channel to the parent/);
    expect(byFd(report, 7).fix).toMatch(/process\.disconnect\(\)/);
  });

  it('counts a connected socket as unsafe when peers cannot be resolved', async () => {
    setup();
    const report = await audit(); // a fake tree: no `ss`
    expect(byFd(report, 22)).toMatchObject({ kind: 'unixConnection', class: 'unsafe' });
    expect(byFd(report, 22).target).toMatch(/peer unknown/);
    expect(byFd(report, 22).fix).toMatch(/ss/);
  });
});

describe('child processes', () => {
  it('names running children with PID and command line; zombies and their sockets are safe', async () => {
    proc
      .self({
        pid: PID,
        children: [5000, 5001],
        fds: [
          { fd: 20, link: 'socket:[400]' },
          { fd: 21, link: 'pipe:[401]', fdinfo: fdinfo('02000001') },
        ],
      })
      .process({
        pid: 5000,
        ppid: PID,
        comm: 'sleep',
        cmdline: ['sleep', '30'],
        children: [5002],
        fds: [
          { fd: 1, link: 'socket:[402]' },
          { fd: 0, link: 'pipe:[401]', fdinfo: fdinfo('00') },
        ],
      })
      .process({ pid: 5001, ppid: PID, comm: 'node', state: 'Z', cmdline: [] })
      .process({ pid: 5002, ppid: 5000, comm: 'sh', cmdline: ['sh', '-c', 'echo "hi there"'] })
      .net({ unix: [unixLine(400, '00000000', '0001', '03'), unixLine(402, '00000000', '0001', '03')] });
    const report = await audit({ resolveUnixPeers: async () => new Map([[400, 402]]) });
    const children = report.findings.filter((f) => f.pid !== undefined);
    expect(children).toEqual([
      expect.objectContaining({ pid: 5000, kind: 'childProcess', class: 'unsafe', target: 'sleep 30' }),
      expect.objectContaining({ pid: 5001, kind: 'zombie', class: 'safe' }),
      expect.objectContaining({
        pid: 5002,
        kind: 'childProcess',
        target: `sh -c 'echo "hi there"' (child of 5000)`,
      }),
    ]);
    expect(children[0]!.fix).toMatch(/child\.kill\(\)/);
    expect(children[0]!.fix).toMatch(/childProcess: 'ignore'/);
    expect(byFd(report, 20)).toMatchObject({ kind: 'unixSocket', class: 'safe' });
    expect(byFd(report, 20).target).toMatch(/child process 5000 \(sleep 30\)/);
    expect(byFd(report, 21)).toMatchObject({ kind: 'pipe', class: 'safe' });
    expect(byFd(report, 21).target).toMatch(/shared with child process 5000/);
    expect(formatFinding(children[0]!)).toMatch(
      /^pid 5000: running child process sleep 30 \(child_process\.spawn\/exec\): fix: /,
    );
    expect(report.errors.map((f) => f.pid)).toEqual([5000, 5002]);
  });
});

describe('child processes without CONFIG_PROC_CHILDREN', () => {
  it('finds children by their parent PID in /proc/<pid>/stat', async () => {
    proc
      .self({ pid: PID })
      .process({ pid: 5000, ppid: PID, comm: 'sleep', cmdline: ['sleep', '30'] })
      .process({ pid: 5001, ppid: 1, comm: 'other', cmdline: ['other'] });
    rmSync(join(proc.root, 'self', 'task', String(PID), 'children'));
    const report = await audit();
    expect(report.errors).toEqual([
      expect.objectContaining({ pid: 5000, kind: 'childProcess', target: 'sleep 30' }),
    ]);
  });
});

describe('auditing another process by PID', () => {
  it('reads /proc/<pid> instead of /proc/self', async () => {
    proc.process({ pid: 777, fds: [{ fd: 5, link: 'socket:[5002]' }] }).net({ tcp: [CLIENT] }, '777');
    const report = await audit({ pid: 777 });
    expect(byFd(report, 5)).toMatchObject({
      kind: 'tcpConnection',
      target: '127.0.0.1:51234 -> 127.0.0.1:3000',
    });
  });

  it('says clearly when there is no such process', async () => {
    await expect(audit({ pid: 999_999 })).rejects.toThrow(/cannot list open descriptors/);
  });
});

describe('policy and the refusal message', () => {
  const setupMixed = (): void => {
    const w = proc.file('out.txt');
    proc
      .self({
        pid: PID,
        children: [5000],
        fds: [
          { fd: 13, link: 'anon_inode:[io_uring]' },
          { fd: 19, link: 'socket:[5001]' },
          { fd: 23, link: 'socket:[5002]' },
          { fd: 24, link: 'socket:[5003]' },
          { fd: 30, link: w, fdinfo: fdinfo('0100001') },
        ],
      })
      .process({ pid: 5000, ppid: PID, comm: 'sleep', cmdline: ['sleep', '30'] })
      .net({ tcp: [LISTEN_3000, CLIENT, ACCEPTED] });
  };

  it('lists every error finding, one line each, and how to accept the risk', async () => {
    setupMixed();
    const report = await audit();
    expect(report.errors.map((f) => f.fd ?? f.pid)).toEqual([13, 23, 24, 30, 5000]);
    let error: unknown;
    try {
      assertAuditClean(report);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    const e = error as CheckpointError;
    expect(e.step).toBe('audit');
    expect(e.code).toBe('checkpoint-audit');
    const lines = e.message.split('\n');
    expect(lines[0]).toBe(
      'cannot checkpoint: 5 open resources would make the CRIU dump fail or the restored copy misbehave:',
    );
    expect(lines.slice(1, 6).map((l) => l.split(':')[0])).toEqual([
      '  fd 13',
      '  fd 23',
      '  fd 24',
      '  fd 30',
      '  pid 5000',
    ]);
    expect(lines[2]).toMatch(
      /^ {2}fd 23: established TCP socket 127\.0\.0\.1:51234 -> 127\.0\.0\.1:3000 \(an HTTP client keep-alive connection.*\): fix: /,
    );
    expect(lines[1]).toMatch(/fix: start the app through defrost/);
    expect(lines[4]).toMatch(/out\.txt \(open for writing without O_APPEND, 0 bytes\)/);
    expect(lines[6]).toMatch(
      /`audit: \{ ioUring: 'warn', tcpConnection: 'warn', writableFile: 'warn', childProcess: 'warn' \}` in the options of @defrost\/fastify or checkpoint\(\), or `--audit ioUring=warn --audit tcpConnection=warn --audit writableFile=warn --audit childProcess=warn` for `defrost checkpoint`/,
    );
    expect(lines).toHaveLength(7);
    expect(e.message).toBe(formatAuditErrors(report.errors));
  });

  it("moves kinds to warnings with 'warn' and drops them with 'ignore'", async () => {
    setupMixed();
    const report = await audit({
      policy: { tcpConnection: 'warn', childProcess: 'ignore', ioUring: 'ignore', writableFile: 'warn' },
    });
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((f) => f.fd ?? f.pid)).toEqual([23, 24, 30]);
    expect(report.findings).toHaveLength(6);
    expect(() => assertAuditClean(report)).not.toThrow();
  });

  it('can make a safe kind an error', () => {
    const findings: AuditFinding[] = [{ fd: 5, kind: 'pipe', class: 'safe', target: 'pipe:[1]' }];
    expect(buildReport(findings).errors).toEqual([]);
    expect(buildReport(findings, { pipe: 'error' }).errors).toEqual(findings);
  });

  it('formats safe findings without a fix and singular counts', () => {
    expect(
      formatFinding({
        fd: 3,
        kind: 'epoll',
        class: 'safe',
        target: 'anon_inode:[eventpoll]',
        origin: 'libuv',
      }),
    ).toBe('fd 3: epoll instance anon_inode:[eventpoll] (libuv)');
    expect(
      formatAuditErrors([
        { fd: 9, kind: 'udp', class: 'unsafe', target: '0.0.0.0:53', fix: 'close it' },
      ]).split('\n'),
    ).toEqual([
      'cannot checkpoint: 1 open resource would make the CRIU dump fail or the restored copy misbehave:',
      '  fd 9: UDP socket 0.0.0.0:53: fix: close it',
      "To accept the risk instead, set the audit policy for the kind ('warn' or 'ignore'): `audit: { udp: 'warn' }` in the options of @defrost/fastify or checkpoint(), or `--audit udp=warn` for `defrost checkpoint`.",
    ]);
  });
});
