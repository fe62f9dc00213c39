import { describe, expect, it } from 'vitest';
import { missingCpuFeatures, parseCpuFeatures } from '../../src/image/cpu.js';
import { checkCompatibility } from '../../src/image/host.js';
import type { ImageManifest } from '../../src/image/manifest.js';

const X86 = `processor\t: 0
vendor_id\t: GenuineIntel
flags\t\t: fpu vme de pse tsc msr sse sse2 ht syscall nx lm constant_tsc pni ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm abm bmi1 avx2 bmi2 erms avx512f avx512bw arch_capabilities
bugs\t\t: spectre_v1
processor\t: 1
flags\t\t: fpu sse sse2
`;
const ARM = `processor\t: 0
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer\t: 0x41
`;

describe('CPU features', () => {
  it('x86-64: the instruction-set flags of the first processor, sorted, without hints and bugs', () => {
    expect(parseCpuFeatures(X86, 'x64')).toEqual(
      'abm aes avx avx2 avx512bw avx512f bmi1 bmi2 cx16 f16c fma lahf_lm movbe pni popcnt rdrand sse sse2 sse4_1 sse4_2 ssse3 xsave'.split(
        ' ',
      ),
    );
  });

  it('arm64: every HWCAP of the Features line', () => {
    expect(parseCpuFeatures(ARM, 'arm64')).toEqual([
      'aes',
      'asimd',
      'atomics',
      'crc32',
      'evtstrm',
      'fp',
      'pmull',
      'sha1',
      'sha2',
    ]);
  });

  it('names what the image CPU had and this one has not', () => {
    expect(missingCpuFeatures(['avx2', 'bmi2', 'sse2'], ['sse2'])).toEqual(['avx2', 'bmi2']);
    expect(missingCpuFeatures(['sse2'], ['sse2', 'avx2'])).toEqual([]);
  });

  it('refuses, at the boundary, a host that lacks one feature; passes one that has them all, or more', () => {
    const manifest = {
      node: {
        version: 'v24.22.3',
        execPath: '/n',
        binarySha256: 'a'.repeat(64),
        arch: 'x64',
        platform: 'linux',
      },
      kernel: '6.18',
      cpu: { features: ['avx2', 'bmi2', 'sse2'] },
      criu: { version: '4.2.1' },
    } as unknown as ImageManifest;
    const host = { nodeVersion: 'v24.22.3', nodeBinarySha256: 'a'.repeat(64), arch: 'x64', kernel: '6.18' };
    expect(checkCompatibility(manifest, { ...host, cpuFeatures: ['avx2', 'bmi2', 'sse2'] }).fatal).toEqual(
      [],
    );
    expect(
      checkCompatibility(manifest, { ...host, cpuFeatures: ['avx2', 'avx512f', 'bmi2', 'sse2'] }).fatal,
    ).toEqual([]);
    const [refusal] = checkCompatibility(manifest, { ...host, cpuFeatures: ['avx2', 'sse2'] }).fatal;
    expect(refusal).toMatch(
      /^made on a CPU with bmi2, which this CPU lacks: .*SIGILL.*rebuild the image on this CPU type/,
    );
    const { cpu: _none, ...older } = manifest;
    expect(checkCompatibility(older as ImageManifest, { ...host, cpuFeatures: [] }).fatal).toEqual([]);
  });
});
