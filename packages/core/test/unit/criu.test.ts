import { describe, expect, it } from 'vitest';
import { extractLogExcerpt } from '../../src/criu/log.js';
import { criuSetterCalls } from '../../src/criu/options.js';
import {
  compareVersions,
  criuRequirementMessage,
  decodeLibcriuVersion,
  MIN_CRIU,
  parseCriuVersion,
} from '../../src/criu/version.js';
import { exitStatusOf, restoreCommand } from '../../src/restore/criu-restore-command.js';

describe('CRIU versions', () => {
  it('parses `criu --version` output', () => {
    expect(parseCriuVersion('Version: 4.2.1\nGitID: v4.2.1\n')).toMatchObject({
      major: 4,
      minor: 2,
      patch: 1,
      text: '4.2.1',
    });
    expect(parseCriuVersion('Version: 3.17\n')).toMatchObject({ major: 3, minor: 17, patch: 0 });
    expect(parseCriuVersion('criu: command not found')).toBeUndefined();
  });

  it('decodes libcriu version numbers', () => {
    expect(decodeLibcriuVersion(40201).text).toBe('4.2.1');
    expect(decodeLibcriuVersion(31701).text).toBe('3.17.1');
  });

  it('orders versions against the minimum', () => {
    expect(compareVersions(parseCriuVersion('Version: 4.1.1')!, MIN_CRIU)).toBeLessThan(0);
    expect(compareVersions(parseCriuVersion('Version: 4.2')!, MIN_CRIU)).toBe(0);
    expect(compareVersions(parseCriuVersion('Version: 5.0.0')!, MIN_CRIU)).toBeGreaterThan(0);
  });

  it('explains the requirement in one line, with what was found and why', () => {
    const none = criuRequirementMessage(undefined, '6.18.0');
    expect(none).toMatch(/needs CRIU >= 4\.2/);
    expect(none).toMatch(/found no CRIU/);
    expect(none).toMatch(/6\.18\.0/);
    expect(none).toMatch(/6\.16/);
    expect(criuRequirementMessage(parseCriuVersion('Version: 3.17.1'), '6.18.0')).toMatch(
      /found CRIU 3\.17\.1/,
    );
    expect(none).not.toContain('\n');
  });
});

describe('libcriu option mapping', () => {
  it('maps the typed options to setter calls, service address first', () => {
    expect(
      criuSetterCalls({
        imagesDirFd: 7,
        serviceAddress: '/tmp/s.sock',
        logFile: 'dump.log',
        logLevel: 4,
        leaveRunning: true,
        shellJob: true,
        tcpEstablished: false,
        networkLock: 'nftables',
        inheritFds: [{ fd: 5, key: 'tmp/x/stdout' }],
      }),
    ).toEqual([
      ['criu_set_service_address', '/tmp/s.sock'],
      ['criu_set_images_dir_fd', 7],
      ['criu_set_log_file', 'dump.log'],
      ['criu_set_log_level', 4],
      ['criu_set_leave_running', true],
      ['criu_set_shell_job', true],
      ['criu_set_tcp_established', false],
      ['criu_set_network_lock', 2],
      ['criu_add_inherit_fd', 5, 'tmp/x/stdout'],
    ]);
  });

  it('leaves unset options to libcriu defaults', () => {
    expect(criuSetterCalls({ imagesDirFd: 3 })).toEqual([['criu_set_images_dir_fd', 3]]);
  });
});

describe('CRIU log excerpts', () => {
  const log = [
    '(00.000100) Version: 4.2.1',
    "(00.010000) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
    '(00.020000) sockets: Searching for socket 0xa8de family 2',
    '(00.020001) Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option.',
    '(00.020010) ----------------------------------------',
    '(00.030000) Error (criu/cr-dump.c:1975): Dumping FAILED.',
    '(00.030001) Unseizing 123 into 1',
  ].join('\n');

  it('keeps error lines with their context and drops the noise CRIU always prints here', () => {
    expect(extractLogExcerpt(log)).toEqual([
      '(00.020000) sockets: Searching for socket 0xa8de family 2',
      '(00.020001) Error (criu/sk-inet.c:200): inet: Connected TCP socket, consider using --tcp-established option.',
      '(00.020010) ----------------------------------------',
      '(00.030000) Error (criu/cr-dump.c:1975): Dumping FAILED.',
    ]);
  });

  it('falls back to the last lines when nothing is marked as an error', () => {
    expect(extractLogExcerpt('a\nb\nc\nd\ne\nf\ng')).toEqual(['c', 'd', 'e', 'f', 'g']);
  });

  it('caps the excerpt', () => {
    const many = Array.from({ length: 40 }, (_, i) => `Error ${i}`).join('\n');
    expect(extractLogExcerpt(many, 12)).toHaveLength(12);
  });
});

describe('the restore command', () => {
  it('restores in a fresh PID namespace with inherited descriptors and the exit-status reaper', () => {
    const { file, args } = restoreCommand({
      imageDir: '/img',
      workDir: '/tmp/r',
      actionScript: '/tmp/r/action.sh',
      logLevel: 4,
      serverPid: 4242,
      inherit: [
        { fd: 3, key: 'tmp/a/stdout' },
        { fd: 7, key: 'tmp/.img.partial' },
      ],
    });
    // First a shell that leaves the janitor of the private directory behind, then the namespace.
    expect(file).toBe('/bin/sh');
    expect(args[1]).toContain('read -r _ <&8; rm -rf -- "$dir"');
    expect(args.slice(2, 4)).toEqual(['defrost-janitor', '/tmp/r']);
    expect(args.slice(4, 12)).toEqual([
      'setpriv',
      '--pdeathsig',
      'KILL',
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
    ]);
    expect(args).toContain('restore');
    expect(args.join(' ')).toContain('--inherit-fd fd[3]:tmp/a/stdout --inherit-fd fd[7]:tmp/.img.partial');
    expect(args.slice(-5, -2)).toEqual(['--', 'perl', '-e']);
    expect(args.at(-1)).toBe('4242');
  });

  it('reports exit statuses as a shell does', () => {
    expect(exitStatusOf(3, null)).toBe(3);
    expect(exitStatusOf(null, 'SIGTERM')).toBe(143);
    expect(exitStatusOf(null, 'SIGKILL')).toBe(137);
  });
});

describe('loading libcriu', () => {
  it('turns a missing library into a typed error with the fix', async () => {
    const { loadLibcriu } = await import('../../src/criu/libcriu.js');
    const { CriuUnavailableError } = await import('../../src/errors.js');
    let error: unknown;
    try {
      loadLibcriu('libcriu-does-not-exist.so.9');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CriuUnavailableError);
    expect((error as Error).message).toMatch(/cannot load libcriu-does-not-exist\.so\.9/);
    expect((error as Error).message).toMatch(/install-criu\.sh/);
  });
});
