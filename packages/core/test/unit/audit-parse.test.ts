import { describe, expect, it } from 'vitest';
import {
  decodeHexIPv4,
  decodeHexIPv6,
  describeFlags,
  formatEndpoint,
  formatIPv6,
  isAppend,
  isLoopbackAddress,
  isWritable,
  parseChildren,
  parseCmdline,
  parseEnviron,
  parseFdinfo,
  parseInetTable,
  parseProcStat,
  parseSsUnix,
  parseUnixTable,
  tcpStateName,
} from '../../src/audit/parse.js';

// Text captured from Node v20.20.2 processes on Linux 6.18.
const EPOLL_FDINFO = `pos:\t0
flags:\t02000002
mnt_id:\t17
ino:\t1038
tfd:       15 events:       19 data:                f  pos:0 ino:544f sdev:f
tfd:       17 events:       19 data:               11  pos:0 ino:40e sdev:10
`;
const INOTIFY_FDINFO = `pos:\t0
flags:\t02004000
mnt_id:\t17
ino:\t1038
inotify wd:1 ino:3f7e8 sdev:fe00000 mask:fc6 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f7030000000000
inotify wd:2 ino:3f7e9 sdev:fe00000 mask:fc6 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e9f7030000000000
`;
const IO_URING_FDINFO = `pos:\t0
flags:\t02000002
mnt_id:\t17
ino:\t21088
SqMask:\t0x3f
SqHead:\t0
SqTail:\t0
SqThread:\t11701
UserFiles:\t0
`;
const EVENTFD_FDINFO = `pos:\t0
flags:\t02004002
mnt_id:\t17
ino:\t1038
eventfd-count:                0
eventfd-id: 5
eventfd-semaphore: 0
`;

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:800D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 21445 1 00000000451ad808 100 0 0 10 0
   1: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1444 1 00000000702910f5 100 0 0 10 0
   2: 0100007F:800D 0100007F:DE9C 01 00000000:00000000 00:00000000 00000000     0        0 21447 2 00000000c3edd971 20 4 31 11 -1
   3: 0100007F:DE9C 0100007F:800D 01 00000000:00000000 02:00000062 00000000     0        0 21446 3 0000000019062f53 20 4 30 11 -1
   4: 0100007F:8B55 0100007F:906C 06 00000000:00000000 03:00001742 00000000     0        0 0 3 000000005fe3db86
`;
const UDP6 = `   sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 5184: 00000000000000000000000001000000:90B0 00000000000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 21359 2 0000000090736d33 0
`;
const UNIX = `Num       RefCount Protocol Flags    Type St Inode Path
000000003c4bc57a: 00000003 00000000 00000000 0001 03   249
00000000a1b2c3d4: 00000002 00000000 00010000 0001 01 24001 /tmp/app.sock
00000000a1b2c3d5: 00000003 00000000 00000000 0001 03 24002 /tmp/app.sock
00000000a1b2c3d6: 00000002 00000000 00010000 0005 01 24003 @abstract-name
00000000a1b2c3d7: 00000002 00000000 00000000 0002 01 24004 /run/my dir/with space.sock
`;

describe('parseFdinfo', () => {
  it('reads flags in octal, pos and fields', () => {
    const info = parseFdinfo(EVENTFD_FDINFO);
    expect(info.flags).toBe(0o2004002);
    expect(info.pos).toBe(0);
    expect(info.fields['eventfd-count']).toBe('0');
    expect(info.epollTargets).toEqual([]);
  });

  it('collects epoll targets and inotify watches', () => {
    expect(parseFdinfo(EPOLL_FDINFO).epollTargets).toEqual([15, 17]);
    const inotify = parseFdinfo(INOTIFY_FDINFO);
    expect(inotify.inotifyWatches).toBe(2);
    expect(inotify.fields['inotify wd']).toBeUndefined();
  });

  it('keeps io_uring fields', () => {
    expect(parseFdinfo(IO_URING_FDINFO).fields.SqMask).toBe('0x3f');
  });

  it('survives empty and odd text', () => {
    const info = parseFdinfo('');
    expect(info.flags).toBeUndefined();
    expect(parseFdinfo('flags:\tzz\n').flags).toBeUndefined();
  });
});

describe('open flags', () => {
  it('tells writable and append', () => {
    expect(isWritable(0o100000)).toBe(false); // O_RDONLY|O_LARGEFILE
    expect(isWritable(0o2100001)).toBe(true); // O_WRONLY|O_LARGEFILE|O_CLOEXEC
    expect(isWritable(0o2)).toBe(true);
    expect(isWritable(0o10000000)).toBe(false); // O_PATH
    expect(isAppend(0o102001)).toBe(true);
    expect(isAppend(0o100001)).toBe(false);
    expect(describeFlags(0o102001)).toBe('O_WRONLY|O_APPEND');
    expect(describeFlags(0o2)).toBe('O_RDWR');
  });
});

describe('addresses', () => {
  it('decodes little-endian IPv4 words', () => {
    expect(decodeHexIPv4('0100007F')).toBe('127.0.0.1');
    expect(decodeHexIPv4('00000000')).toBe('0.0.0.0');
    expect(decodeHexIPv4('0A00A8C0')).toBe('192.168.0.10');
    expect(decodeHexIPv4('7F000001', false)).toBe('127.0.0.1');
    expect(() => decodeHexIPv4('0100007')).toThrow();
  });

  it('decodes IPv6 as four little-endian words', () => {
    expect(decodeHexIPv6('00000000000000000000000001000000')).toBe('::1');
    expect(decodeHexIPv6('00000000000000000000000000000000')).toBe('::');
    expect(decodeHexIPv6('0000000000000000FFFF00000100007F')).toBe('::ffff:127.0.0.1');
    expect(decodeHexIPv6('000080FE000000000000000001000000')).toBe('fe80::1');
    expect(decodeHexIPv6('000080FE00000000FF000002FE030004')).toBe('fe80::200:ff:400:3fe');
    expect(decodeHexIPv6('B80D0120000000000000000001000000')).toBe('2001:db8::1');
    expect(decodeHexIPv6('20010DB8000000000000000000000001', false)).toBe('2001:db8::1');
  });

  it('formats IPv6 per RFC 5952', () => {
    const bytes = (groups: number[]): number[] => groups.flatMap((g) => [g >> 8, g & 0xff]);
    expect(formatIPv6(bytes([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1]))).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6(bytes([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1]))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIPv6(bytes([1, 0, 0, 0, 0, 0, 0, 0]))).toBe('1::');
    expect(formatIPv6(bytes([0, 0, 1, 0, 0, 0, 1, 0]))).toBe('0:0:1::1:0');
  });

  it('formats endpoints and loopback', () => {
    expect(formatEndpoint('127.0.0.1', 3000)).toBe('127.0.0.1:3000');
    expect(formatEndpoint('::1', 3000)).toBe('[::1]:3000');
    expect(isLoopbackAddress('127.0.0.53')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });
});

describe('parseInetTable', () => {
  it('parses /proc/net/tcp rows', () => {
    const rows = parseInetTable(TCP, 'tcp4');
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({
      family: 'tcp4',
      inode: 21445,
      localAddress: '127.0.0.1',
      localPort: 0x800d,
      remoteAddress: '0.0.0.0',
      remotePort: 0,
      state: 0x0a,
    });
    expect(rows[1]).toMatchObject({ localAddress: '0.0.0.0', localPort: 2024, state: 10 });
    expect(rows[3]).toMatchObject({ localPort: 56988, remotePort: 32781, state: 1, inode: 21446 });
    expect(rows[4]).toMatchObject({ state: 6, inode: 0 });
  });

  it('parses IPv6 tables', () => {
    const [row] = parseInetTable(UDP6, 'udp6');
    expect(row).toMatchObject({
      localAddress: '::1',
      localPort: 37040,
      remoteAddress: '::1',
      remotePort: 53,
      inode: 21359,
    });
  });

  it('skips the header and broken lines', () => {
    expect(parseInetTable('  sl  local_address\n   0: zz:zz 00000000:0000 0A\n', 'tcp4')).toEqual([]);
  });

  it('names TCP states', () => {
    expect(tcpStateName(1)).toBe('ESTABLISHED');
    expect(tcpStateName(8)).toBe('CLOSE_WAIT');
    expect(tcpStateName(0x0a)).toBe('LISTEN');
    expect(tcpStateName(0x42)).toBe('state 0x42');
  });
});

describe('parseUnixTable', () => {
  it('parses listening, connected, abstract and spaced paths', () => {
    const rows = parseUnixTable(UNIX);
    expect(rows).toEqual([
      { inode: 249, listening: false, type: 'stream', state: 3 },
      { inode: 24001, listening: true, type: 'stream', state: 1, path: '/tmp/app.sock' },
      { inode: 24002, listening: false, type: 'stream', state: 3, path: '/tmp/app.sock' },
      { inode: 24003, listening: true, type: 'seqpacket', state: 1, path: '@abstract-name' },
      { inode: 24004, listening: false, type: 'dgram', state: 1, path: '/run/my dir/with space.sock' },
    ]);
  });
});

describe('parseSsUnix', () => {
  it('maps inodes to peer inodes', () => {
    const out = `u_str ESTAB 0      0      * 249   * 250
u_str ESTAB 0      0      * 23098 * 23099 users:(("pnpm",pid=12240,fd=8))
u_str LISTEN 0     511    /tmp/app.sock 24001 * 0
u_str ESTAB 0      0      /tmp/app.sock 24002 * 24005
u_str ESTAB 0      0      * 24005 /tmp/app.sock 24002
u_dgr UNCONN 0     0      /run/my dir/x.sock 24004 * 0
`;
    const peers = parseSsUnix(out);
    expect(peers.get(249)).toBe(250);
    expect(peers.get(23098)).toBe(23099);
    expect(peers.get(24001)).toBe(0);
    expect(peers.get(24002)).toBe(24005);
    expect(peers.get(24005)).toBe(24002);
    expect(peers.get(24004)).toBe(0);
  });
});

describe('process files', () => {
  it('parses children, cmdline, environ and stat', () => {
    expect(parseChildren('11823 11900 \n')).toEqual([11823, 11900]);
    expect(parseChildren('')).toEqual([]);
    expect(parseCmdline('sleep\x0030\x00')).toEqual(['sleep', '30']);
    expect(parseEnviron('A=1\x00UV_USE_IO_URING=1\x00B=x=y\x00')).toEqual({
      A: '1',
      UV_USE_IO_URING: '1',
      B: 'x=y',
    });
    expect(parseProcStat('1234 (my (odd) name) S 1 1234 1234 0 -1')).toEqual({
      pid: 1234,
      comm: 'my (odd) name',
      state: 'S',
      ppid: 1,
    });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
});
