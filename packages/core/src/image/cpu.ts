import { readFile } from 'node:fs/promises';

/**
 * The CPU features a frozen process may depend on. V8 compiles machine code for the CPU it runs on
 * (AVX2, BMI2, LZCNT... when present), and glibc picks its string and memory routines the same
 * way, once, at start-up; a copy restored on a CPU without one of them dies of SIGILL at the first
 * such instruction. So the manifest records them, and a restore on a CPU that lacks any is refused
 * before CRIU runs, naming what is missing (the same idea as CRaC's -XX:CPUFeatures and CRIU's
 * --cpu-cap, which compares raw cpuid words and cannot say which feature differs).
 */

/**
 * x86-64 instruction-set extensions: the /proc/cpuinfo flags whose instructions fault where they
 * are missing. Everything else there (bugs, power management, virtualisation hints, `erms`-style
 * speed hints) does not change which instructions run, and would only refuse restores for nothing.
 */
const X86_INSTRUCTION_SETS = new Set(
  `sse sse2 pni ssse3 sse4_1 sse4_2 popcnt cx16 lahf_lm abm lzcnt movbe bmi1 bmi2 adx avx avx2 fma f16c
  aes pclmulqdq vaes vpclmulqdq sha_ni gfni rdrand rdseed xsave xsaveopt xsavec xsaves clflushopt clwb
  avx_vnni avx_vnni_int8 avx_ifma avx_ne_convert avx512f avx512dq avx512cd avx512bw avx512vl
  avx512ifma avx512vbmi avx512_vbmi2 avx512_vnni avx512_bitalg avx512_vpopcntdq avx512_bf16
  avx512_fp16 amx_tile amx_int8 amx_bf16 movdiri movdir64b serialize waitpkg fsgsbase`
    .split(/\s+/)
    .filter(Boolean),
);

/** The features of the first processor in /proc/cpuinfo that a process may depend on, sorted. */
export function parseCpuFeatures(cpuinfo: string, arch: string = process.arch): string[] {
  if (arch === 'x64') {
    const flags = /^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
    return [...new Set(flags.split(/\s+/).filter((f) => X86_INSTRUCTION_SETS.has(f)))].sort();
  }
  // arm64's "Features" line lists hardware capabilities (HWCAPs) only: every one is an ISA feature.
  const features = /^Features\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '';
  return [...new Set(features.split(/\s+/).filter(Boolean))].sort();
}

/**
 * The line of /proc/cpuinfo that lists the first processor's features, as it is: the native
 * launcher compares a hash of it with the one its launch plan recorded, so that a host whose CPU
 * changed (a VM moved to other hardware) goes through the full check again.
 */
export function cpuFeaturesLine(cpuinfo: string): string {
  return /^(?:flags|Features)\s*:.*$/m.exec(cpuinfo)?.[0] ?? '';
}

export async function currentCpuFeatures(cpuinfoPath = '/proc/cpuinfo'): Promise<string[]> {
  return parseCpuFeatures(await readFile(cpuinfoPath, 'utf8'));
}

/** What the image's CPU had and this one has not. */
export function missingCpuFeatures(needed: readonly string[], here: readonly string[]): string[] {
  const available = new Set(here);
  return needed.filter((feature) => !available.has(feature));
}
