import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hostSigningPolicy,
  readSigningKeyFile,
  resolveSigningKey,
  SigningKeyError,
} from '../../src/image/signing-key.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'defrost-keys-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('signing key files', () => {
  it('are bytes: binary and text keys of 32 bytes or more are read as they are', async () => {
    const binary = Buffer.from([0, 1, 2, 10, 13, 255, ...new Array(30).fill(7)]);
    await writeFile(join(dir, 'binary'), binary);
    expect(await readSigningKeyFile(join(dir, 'binary'))).toEqual(binary);
    await writeFile(join(dir, 'text'), 'a text key of more than thirty-two bytes\n');
    expect((await readSigningKeyFile(join(dir, 'text'))).toString()).toBe(
      'a text key of more than thirty-two bytes\n',
    );
  });

  it('refuses a short, missing or empty file with what to do', async () => {
    await writeFile(join(dir, 'short'), 'short');
    await expect(readSigningKeyFile(join(dir, 'short'))).rejects.toThrow(/5 bytes; a key needs at least 32/);
    await expect(readSigningKeyFile(join(dir, 'none'))).rejects.toThrow(/none: no such file/);
    await writeFile(join(dir, 'empty'), '');
    await expect(readSigningKeyFile(join(dir, 'empty'))).rejects.toBeInstanceOf(SigningKeyError);
  });
});

describe("the host's signing policy", () => {
  it('is DEFROST_SIGNING_KEY_FILE when set, else the host key file when it exists, else none', async () => {
    const hostKey = join(dir, 'host-key');
    expect(await hostSigningPolicy({}, hostKey)).toBeUndefined();
    expect(await hostSigningPolicy({ DEFROST_SIGNING_KEY_FILE: '/k' }, hostKey)).toEqual({
      keyFile: '/k',
      source: 'DEFROST_SIGNING_KEY_FILE',
    });
    await writeFile(hostKey, Buffer.alloc(32, 1), { mode: 0o600 });
    await chown(hostKey, 0, 0);
    expect(await hostSigningPolicy({}, hostKey)).toEqual({
      keyFile: hostKey,
      source: '/etc/defrost/signing-key',
    });
    const resolved = await resolveSigningKey(undefined, { DEFROST_SIGNING_KEY_FILE: hostKey });
    expect(resolved).toMatchObject({ keyFile: hostKey, required: true });
  });

  it('refuses a host key file that others could read or write, or that root does not own', async () => {
    const hostKey = join(dir, 'loose-key');
    await writeFile(hostKey, Buffer.alloc(32, 1));
    await chmod(hostKey, 0o644);
    await expect(hostSigningPolicy({}, hostKey)).rejects.toThrow(
      /owned by root with mode 0600 or 0400 .*mode 0644/,
    );
    await chmod(hostKey, 0o600);
    await chown(hostKey, 1000, 1000);
    await expect(hostSigningPolicy({}, hostKey)).rejects.toThrow(/owned by uid 1000/);
  });
});
