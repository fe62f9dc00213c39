import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkCapabilities,
  checkCriuCheck,
  checkCriuVersion,
  checkFastRestore,
  checkIoUring,
  checkKdatCache,
  checkNodeVersion,
  checkThp,
  checkUserfaultfd,
  fsTypeAt,
  parseCapEff,
  parseMounts,
  runDoctor,
  satisfiesRange,
} from '../../src/doctor/index.js';
import { findOnPath } from '../../src/process/find-executable.js';

const ROOT_CAPS = 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\n';
const NO_CAPS = 'CapEff:\t0000000000000000\n';
// bits 40 (CAP_CHECKPOINT_RESTORE) and 19 (CAP_SYS_PTRACE)
const CR_PTRACE = `CapEff:\t${((1n << 40n) | (1n << 19n)).toString(16).padStart(16, '0')}\n`;

describe('satisfiesRange', () => {
  it.each([
    ['v20.20.2', '^20.19.0', true],
    ['v20.18.0', '^20.19.0', false],
    ['v22.12.0', '^20.19.0', false],
    ['v22.12.0', '^20.19.0 || >=22.12', true],
    ['v24.1.0', '>=20 <23', false],
    ['v21.0.0', '>=20 <23', true],
    ['v20.1.5', '~20.1.2', true],
    ['v20.2.0', '~20.1.2', false],
    ['v20.5.0', '20.x', true],
    ['v20.5.0', '*', true],
  ])('%s in %s: %s', (version, range, expected) => {
    expect(satisfiesRange(version, range)).toBe(expected);
  });
  it('says undefined for ranges it cannot read', () => {
    expect(satisfiesRange('v20.1.0', 'latest')).toBeUndefined();
  });
});

describe('capabilities', () => {
  it('reads CapEff bits', () => {
    expect(parseCapEff(CR_PTRACE)).toBe((1n << 40n) | (1n << 19n));
    expect(parseCapEff('nothing')).toBeUndefined();
  });
  it('passes for root with all capabilities', () => {
    expect(checkCapabilities(0, ROOT_CAPS).status).toBe('pass');
  });
  it('fails for a user without capabilities and says to use root', () => {
    const c = checkCapabilities(1000, NO_CAPS);
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('CAP_CHECKPOINT_RESTORE and CAP_SYS_PTRACE');
    expect(c.fix).toContain('root');
  });
  it('warns for a user with CAP_CHECKPOINT_RESTORE + CAP_SYS_PTRACE', () => {
    expect(checkCapabilities(1000, CR_PTRACE).status).toBe('warn');
  });
  it('fails for root whose container dropped the capabilities', () => {
    const c = checkCapabilities(0, NO_CAPS);
    expect(c.status).toBe('fail');
    expect(c.fix).toContain('CHECKPOINT_RESTORE');
  });
});

describe('CRIU version', () => {
  it('names "found no CRIU", the version needed and the install command', () => {
    const c = checkCriuVersion(undefined, undefined, undefined, '6.18.0', '/nowhere');
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('found no CRIU');
    expect(c.detail).toContain('>= 4.2');
    expect(c.detail).toContain('6.16');
    expect(c.fix).toContain('sudo bash scripts/install-criu.sh');
  });
  it('names an old version', () => {
    const v = { major: 3, minor: 17, patch: 1, text: '3.17.1' };
    const c = checkCriuVersion(
      '/usr/sbin/criu',
      { code: 0, stdout: 'Version: 3.17.1\n', stderr: '' },
      v,
      '6.18.0',
      '',
    );
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('found CRIU 3.17.1');
    expect(c.detail).toContain('Linux 6.18.0');
  });
});

describe('criu check', () => {
  it('passes on "Looks good."', () => {
    expect(checkCriuCheck('criu', { code: 0, stdout: 'Looks good.\n', stderr: '' }).status).toBe('pass');
  });
  it('warns and shows the warnings when features are missing', () => {
    const c = checkCriuCheck('criu', {
      code: 0,
      stdout: 'Looks good but some kernel features are missing\n',
      stderr: 'Warn  (criu/cr-check.c:824): Dirty tracking is OFF. Memory snapshot will not work.\n',
    });
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('Dirty tracking is OFF');
  });
  it('fails with the tail of the output', () => {
    const c = checkCriuCheck('criu', {
      code: 1,
      stdout: '',
      stderr: 'Error (criu/vdso.c:333): vdso: Unexpected rt vDSO area bounds\n',
    });
    expect(c.status).toBe('fail');
    expect(c.detail).toContain('Unexpected rt vDSO area bounds');
  });
});

describe('kernel-feature cache', () => {
  const ext4 = '/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0\n';
  const tmpfsRun = `${ext4}tmpfs /run tmpfs rw,nosuid 0 0\n`;
  it('finds the file system of a path', () => {
    expect(fsTypeAt(parseMounts(tmpfsRun), '/run')?.type).toBe('tmpfs');
    expect(fsTypeAt(parseMounts(ext4), '/run')?.type).toBe('ext4');
    expect(parseMounts('a /with\\040space tmpfs rw 0 0')[0]?.target).toBe('/with space');
  });
  it('warns about the per-restore cost when /run is not a tmpfs', () => {
    const c = checkKdatCache(ext4, { exists: false }, { exists: false }, '/run/criu.kdat');
    expect(c.status).toBe('warn');
    expect(c.detail).toContain(
      'adds tens of milliseconds to each restore (45-60 ms on the machines defrost is tested on: docs/criu-and-node.md)',
    );
    expect(c.fix).toContain('tmpfs');
  });
  it('passes when defrost restore keeps its own copy of the cache', () => {
    const c = checkKdatCache(ext4, { exists: false }, { exists: false }, '/run/criu.kdat', {
      dir: '/var/cache/defrost',
      files: 1,
    });
    expect(c.status).toBe('pass');
    expect(c.detail).toContain('defrost restore keeps its own copy of the cache in /var/cache/defrost');
  });
  it('passes on a tmpfs, and warns about a stale .tmp file', () => {
    expect(
      checkKdatCache(tmpfsRun, { exists: true, size: 900 }, { exists: false }, '/run/criu.kdat').status,
    ).toBe('pass');
    const stale = checkKdatCache(tmpfsRun, { exists: false }, { exists: true, size: 0 }, '/run/criu.kdat');
    expect(stale.status).toBe('warn');
    expect(stale.fix).toBe('rm /run/criu.kdat.tmp');
  });
});

describe('userfaultfd, THP, io_uring, node', () => {
  const supported = { code: 0, stdout: 'uffd-noncoop is supported\n', stderr: '' };
  it('userfaultfd', () => {
    expect(checkUserfaultfd('0\n', supported, 0).status).toBe('pass');
    expect(checkUserfaultfd('0\n', supported, 1000).status).toBe('warn');
    expect(checkUserfaultfd(undefined, undefined, 0).status).toBe('warn');
    expect(
      checkUserfaultfd('1\n', { code: 1, stdout: 'UFFD is not supported\n', stderr: '' }, 0).status,
    ).toBe('warn');
  });
  it('THP reports the mode', () => {
    expect(checkThp('always [madvise] never\n').detail).toContain('mode madvise');
  });
  it('io_uring: what the probe of the node on PATH saw, and what defrost does about it', () => {
    const node = { node: '/usr/bin/node', nodeVersion: 'v24.22.3', uvVersion: '1.52.1' };
    const handled = checkIoUring({ ...node, plainRings: 3, filteredRings: 0, sysctl: '0' });
    expect(handled.status).toBe('pass');
    expect(handled.detail).toContain('opens 3 io_uring ring(s) at start');
    expect(handled.detail).toContain('seccomp filter that makes io_uring_setup fail');
    expect(handled.detail).toContain('kernel.io_uring_disabled=2');
    const off = checkIoUring({ ...node, plainRings: 0, filteredRings: 0, sysctl: '2' });
    expect(off).toMatchObject({ status: 'pass' });
    expect(off.detail).toContain('switched off on this host');
    const broken = checkIoUring({ ...node, plainRings: 3, filteredRings: 3, sysctl: '0' });
    expect(broken.status).toBe('fail');
    expect(broken.fix).toContain('kernel.io_uring_disabled=2');
    const unknown = checkIoUring({ node: '/nope/node', error: 'ENOENT' });
    expect(unknown.status).toBe('warn');
    expect(unknown.detail).toContain('/nope/node: ENOENT');
  });
  it('node version against the tested range', () => {
    const range = '^22.23.5 || ^24.22.3 || ^26.12.1';
    expect(checkNodeVersion('v24.22.3', range, '/usr/bin/node').status).toBe('pass');
    const out = checkNodeVersion('v20.20.2', range, '/usr/bin/node');
    expect(out.status).toBe('warn');
    expect(out.detail).toContain(range);
  });
});

describe('runDoctor with fake binaries on PATH', () => {
  let dir: string;
  let empty: string;
  let old: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'defrost-doctor-'));
    empty = join(dir, 'empty');
    old = join(dir, 'old');
    await import('node:fs/promises').then(async (fs) => {
      await fs.mkdir(empty);
      await fs.mkdir(old);
    });
    await writeFile(join(old, 'criu'), '#!/bin/sh\necho "Version: 3.17.1"\n');
    await chmod(join(old, 'criu'), 0o755);
    await writeFile(join(dir, 'status'), NO_CAPS);
    await writeFile(join(dir, 'mounts'), '/dev/vda / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds executables on a given PATH only', async () => {
    expect(await findOnPath('criu', old)).toBe(join(old, 'criu'));
    expect(await findOnPath('criu', empty)).toBeUndefined();
    expect(await findOnPath('criu', `relative:${empty}`)).toBeUndefined();
  });

  it('no criu at all: fails and asks for the install', async () => {
    const report = await runDoctor({ env: { PATH: empty } });
    expect(report.ok).toBe(false);
    expect(report.needsCriuInstall).toBe(true);
    const criu = report.checks.find((c) => c.id === 'criu')!;
    expect(criu.status).toBe('fail');
    expect(criu.detail).toContain('found no CRIU');
    expect(report.checks.find((c) => c.id === 'criu-check')?.status).toBe('fail');
    expect(report.checks.find((c) => c.id === 'restore-tools')?.detail).toContain('unshare');
  });

  it('an old criu: names its version', async () => {
    const report = await runDoctor({ env: { PATH: old } });
    const criu = report.checks.find((c) => c.id === 'criu')!;
    expect(criu.status).toBe('fail');
    expect(criu.detail).toContain('found CRIU 3.17.1');
    expect(report.criu.version).toBe('3.17.1');
    expect(report.checks.find((c) => c.id === 'criu-check')?.status).toBe('fail');
    expect(report.needsCriuInstall).toBe(true);
  });

  it('reads faked kernel files and a missing libcriu', async () => {
    const report = await runDoctor({
      env: { PATH: empty },
      euid: 1000,
      libcriuSoname: 'libcriu-defrost-test-missing.so.2',
      paths: {
        procStatus: join(dir, 'status'),
        mounts: join(dir, 'mounts'),
        kdat: join(dir, 'run', 'criu.kdat'),
      },
    });
    const byId = (id: string) => report.checks.find((c) => c.id === id)!;
    expect(byId('capabilities').status).toBe('fail');
    expect(byId('libcriu').status).toBe('fail');
    expect(byId('libcriu').detail).toContain('libcriu-defrost-test-missing.so.2');
    expect(report.counts.fail).toBe(report.checks.filter((c) => c.status === 'fail').length);
  });
});

describe('checkFastRestore', () => {
  const built = { path: '/x/dist/defrost-fast-restore', executable: true };
  it('passes when built and the cache can be trusted (or does not exist yet)', () => {
    for (const state of ['trusted', 'missing'] as const) {
      const c = checkFastRestore(built, { dir: '/var/cache/defrost', state });
      expect(c.status).toBe('pass');
      expect(c.detail).toContain('without Node');
    }
  });
  it('warns, with what it costs and how to fix it, when not built', () => {
    const c = checkFastRestore({ ...built, executable: false }, { dir: '/c', state: 'trusted' });
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('every restore starts Node and loads the command line first');
    expect(c.fix).toContain('gcc');
  });
  it('warns when the cache is writable by others: plans are not used', () => {
    const c = checkFastRestore(built, { dir: '/c', state: 'untrusted' });
    expect(c.status).toBe('warn');
    expect(c.fix).toContain('chmod 0700 /c');
  });
  it('is reported by runDoctor only when asked (the CLI asks)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'defrost-doctor-fast-'));
    try {
      const without = await runDoctor({ env: { PATH: empty } });
      expect(without.checks.some((c) => c.id === 'fast-restore')).toBe(false);
      const asked = await runDoctor({ env: { PATH: empty }, fastRestoreBinary: join(empty, 'nothing') });
      expect(asked.checks.find((c) => c.id === 'fast-restore')?.status).toBe('warn');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
