import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ImageManifest, MANIFEST_FILE, readManifest, signManifest } from './manifest.js';
import { rememberVerified, verifyImage } from './verify.js';

/**
 * Signs a sealed image after the fact. This is how `defrost checkpoint` signs: the key stays in
 * the signing process and never enters the memory of the process being frozen (the image holds
 * that whole memory, so a key inside it could be read back and used to sign forged images).
 * The image is verified first (sizes and hashes), so a signature only ever vouches for what the
 * manifest lists. defrost.json is replaced atomically.
 */
export async function signImage(
  imageDir: string,
  key: Buffer | string,
  keyId?: string,
): Promise<ImageManifest> {
  const verified = await verifyImage(imageDir, { host: false });
  const { signature: _old, ...unsigned } = verified;
  const manifest: ImageManifest = {
    ...unsigned,
    signature: signManifest(unsigned as ImageManifest, key, keyId),
  };
  const temp = join(imageDir, `.${MANIFEST_FILE}.${randomBytes(6).toString('hex')}`);
  try {
    const fh = await open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(temp, join(imageDir, MANIFEST_FILE));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await rememberVerified(imageDir, manifest);
  return readManifest(imageDir);
}
