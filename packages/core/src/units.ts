/**
 * How defrost writes quantities, everywhere (command line, logs, benchmark): one way each.
 * Sizes in binary units (MiB), as the kernel and CRIU count pages.
 */

/** 3 significant-ish digits: 1234 -> "1234", 12.34 -> "12.3", 1.234 -> "1.23", 20 -> "20.0". */
export function formatQuantity(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  return magnitude >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** "340 ms", or "12.3 s" from 10 s on. */
export function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export const MIB = 2 ** 20;

/** "512 B", "12.0 KiB", "103.4 MiB", "1.20 GiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}
