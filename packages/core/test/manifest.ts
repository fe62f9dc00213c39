/** A manifest for tests of what reads it beyond its validation (launch plans): the fields those use, the rest fixed. */
import type { ImageManifest } from '../src/image/index.js';

const STDIO: ImageManifest['stdio'] = {
  stdoutKey: 'out',
  stderrKey: 'err',
  controlInKey: 'in',
  controlOutKey: 'ctl',
  imagesDirKey: 'images',
};

export function testManifest(
  files: readonly string[],
  o: { pid?: number; stdio?: ImageManifest['stdio'] } = {},
): ImageManifest {
  return {
    formatVersion: 1,
    imageId: 'id',
    createdAt: '2026-01-01T00:00:00.000Z',
    node: {
      version: process.version,
      execPath: process.execPath,
      binarySha256: 'x',
      arch: 'x64',
      platform: 'linux',
    },
    kernel: 'k',
    criu: { version: '4.2.1' },
    process: { pid: o.pid ?? 4242, argv: [], execArgv: [], cwd: '/' },
    listening: [],
    stdio: o.stdio ?? STDIO,
    checkpoint: { durationMs: 1 },
    files: Object.fromEntries(files.map((f) => [f, { size: 1, sha256: 'x' }])),
    totalBytes: files.length,
  };
}
