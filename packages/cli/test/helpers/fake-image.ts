/** A sealed image of fake CRIU files: real manifest, real hashes, nothing CRIU could restore. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  createStagingDir,
  currentHostFacts,
  type ImageManifest,
  type ManifestFacts,
  sealImage,
} from '@defrost/core/internal';

export async function fakeImage(imageDir: string, o: { signingKey?: Buffer } = {}): Promise<ImageManifest> {
  const host = await currentHostFacts();
  const staging = await createStagingDir(imageDir);
  await writeFile(join(staging, 'core-4242.img'), Buffer.from('not really a CRIU core image'));
  await writeFile(join(staging, 'pages-1.img'), Buffer.alloc(8192, 0x5a));
  await writeFile(join(staging, 'pagemap-4242.img'), Buffer.from('fake pagemap'));
  const facts: ManifestFacts = {
    node: {
      version: host.nodeVersion,
      execPath: process.execPath,
      binarySha256: host.nodeBinarySha256,
      arch: process.arch,
      platform: process.platform,
    },
    kernel: host.kernel,
    criu: { version: '4.2.1' },
    process: { pid: 4242, argv: [process.execPath, '/srv/app/server.js'], execArgv: [], cwd: '/srv/app' },
    listening: [{ fd: 21, family: 'tcp4', address: '127.0.0.1', port: 3000 }],
    stdio: {
      stdoutKey: 'tmp/defrost-stdio-test/stdout',
      stderrKey: 'tmp/defrost-stdio-test/stderr',
      controlInKey: 'tmp/defrost-stdio-test/control-in',
      controlOutKey: 'tmp/defrost-stdio-test/control-out',
    },
    warmup: { requests: 600, rounds: 300, durationMs: 420, firstRoundP50Ms: 2.5, lastRoundP50Ms: 0.4 },
    checkpoint: { durationMs: 150, pages: 2 },
  };
  return sealImage({
    stagingDir: staging,
    imageDir,
    facts,
    ...(o.signingKey !== undefined ? { signingKey: o.signingKey } : {}),
  });
}
