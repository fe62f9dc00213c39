import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmod,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import {
  assertImageTarget,
  checkCompatibility,
  createStagingDir,
  currentHostFacts,
  discardStaging,
  type HostFacts,
  hashFile,
  IMAGE_FORMAT_VERSION,
  type ImageManifest,
  type ImageWarning,
  imageSizes,
  MANIFEST_FILE,
  type ManifestFacts,
  readManifest,
  sealImage,
  type VerifyOptions,
  verifyImage,
} from '../../src/image/index.js';

const HOST: HostFacts = {
  nodeVersion: 'v20.20.2',
  nodeBinarySha256: 'ab12'.repeat(16),
  arch: 'x64',
  kernel: '6.1.0-test',
  criuVersion: '4.2.1',
  execPath: '/usr/bin/node',
};

function facts(): ManifestFacts {
  return {
    node: {
      version: HOST.nodeVersion,
      execPath: '/usr/bin/node',
      binarySha256: HOST.nodeBinarySha256,
      arch: HOST.arch,
      platform: 'linux',
    },
    kernel: HOST.kernel,
    criu: { version: '4.2.1' },
    process: { pid: 1234, argv: ['/usr/bin/node', 'app.js'], execArgv: ['--expose-gc'], cwd: '/srv/app' },
    listening: [{ fd: 21, family: 'IPv4', address: '127.0.0.1', port: 3000 }],
    stdio: {
      stdoutKey: 'pipe:[1]',
      stderrKey: 'pipe:[2]',
      controlInKey: 'pipe:[3]',
      controlOutKey: 'pipe:[4]',
    },
    warmup: { requests: 100, routes: ['/'] },
    checkpoint: { durationMs: 321, pages: 64 },
  };
}

/** What CRIU would leave in a staging directory, with random contents. */
const FAKE_FILES: Record<string, number> = {
  'inventory.img': 64,
  'core-1234.img': 2048,
  'mm-1234.img': 4096,
  'pagemap-1234.img': 512,
  'pages-1.img': 256 * 1024,
  'dump.log': 300,
};

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'defrost-image-test-'));
}

async function removeRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

async function fillStaging(stagingDir: string, files = FAKE_FILES): Promise<void> {
  for (const [name, size] of Object.entries(files)) {
    await writeFile(join(stagingDir, name), randomBytes(size), { mode: 0o644 });
  }
}

async function makeImage(
  imageDir: string,
  o: { signingKey?: Buffer | string; keyId?: string; force?: boolean; files?: Record<string, number> } = {},
): Promise<ImageManifest> {
  const stagingDir = await createStagingDir(imageDir);
  await fillStaging(stagingDir, o.files);
  return sealImage({ stagingDir, imageDir, facts: facts(), ...o });
}

/** Awaits a rejection and checks it is an ImageError with `code`. */
async function imageError(p: Promise<unknown>, code: string): Promise<ImageError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ImageError ${code}`).toBeInstanceOf(ImageError);
  expect((e as ImageError).code, (e as Error).message).toBe(code);
  return e as ImageError;
}

let root: string;
let imageDir: string;
beforeEach(async () => {
  root = await tempRoot();
  imageDir = join(root, 'app.image');
});
afterEach(async () => {
  await removeRoot(root);
});

function verify(dir: string, o: VerifyOptions = {}): Promise<ImageManifest> {
  return verifyImage(dir, { host: HOST, onWarning: () => {}, ...o });
}

async function writeManifest(dir: string, m: unknown): Promise<void> {
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(m), { mode: 0o600 });
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('sealImage', () => {
  it('writes a manifest listing every file, and verifies', async () => {
    const sealed = await makeImage(imageDir);
    expect(sealed.formatVersion).toBe(IMAGE_FORMAT_VERSION);
    expect(sealed.imageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(sealed.createdAt))).toBe(false);
    expect(Object.keys(sealed.files).sort()).toEqual(Object.keys(FAKE_FILES).sort());
    const total = Object.values(FAKE_FILES).reduce((a, b) => a + b, 0);
    expect(sealed.totalBytes).toBe(total);
    const pages = await readFile(join(imageDir, 'pages-1.img'));
    expect(sealed.files['pages-1.img']).toEqual({
      size: pages.length,
      sha256: createHash('sha256').update(pages).digest('hex'),
    });
    expect(sealed.process.argv).toEqual(facts().process.argv);
    expect(sealed.warmup).toEqual(facts().warmup);
    expect(sealed.signature).toBeUndefined();

    expect(await readManifest(imageDir)).toEqual(sealed);
    expect(await verify(imageDir)).toEqual(sealed);
    // the staging directory became the image: nothing left next to it
    expect(await readdir(root)).toEqual(['app.image']);
  });

  it('makes the directory 0700 and every file 0600', async () => {
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    await chmod(stagingDir, 0o755);
    await sealImage({ stagingDir, imageDir, facts: facts() });
    expect(await mode(imageDir)).toBe(0o700);
    for (const name of await readdir(imageDir)) expect(await mode(join(imageDir, name)), name).toBe(0o600);
  });

  it('refuses an existing image directory without force, keeping both old image and staging', async () => {
    const old = await makeImage(imageDir);
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    const e = await imageError(sealImage({ stagingDir, imageDir, facts: facts() }), 'image-exists');
    expect(e.hint).toMatch(/--force/);
    expect((await verify(imageDir)).imageId).toBe(old.imageId);
    expect(await readdir(stagingDir)).not.toContain(MANIFEST_FILE);
    await imageError(assertImageTarget(imageDir), 'image-exists');
    await discardStaging(stagingDir);
  });

  it('replaces an existing image with force, leaving nothing behind', async () => {
    const old = await makeImage(imageDir);
    const next = await makeImage(imageDir, {
      force: true,
      files: { 'inventory.img': 10, 'pages-1.img': 1000 },
    });
    expect(next.imageId).not.toBe(old.imageId);
    expect((await verify(imageDir)).imageId).toBe(next.imageId);
    expect((await readdir(imageDir)).sort()).toEqual([MANIFEST_FILE, 'inventory.img', 'pages-1.img']);
    expect(await readdir(root)).toEqual(['app.image']);
  });

  it('with force, still refuses to replace something that is not an image', async () => {
    await mkdir(imageDir);
    await writeFile(join(imageDir, 'thesis.tex'), 'precious');
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    const e = await imageError(
      sealImage({ stagingDir, imageDir, facts: facts(), force: true }),
      'image-exists',
    );
    expect(e.message).toMatch(/not a defrost image/);
    expect(await readFile(join(imageDir, 'thesis.tex'), 'utf8')).toBe('precious');
    // an empty directory may be replaced
    await rm(join(imageDir, 'thesis.tex'));
    await sealImage({ stagingDir, imageDir, facts: facts(), force: true });
    await verify(imageDir);
  });

  it('on a failure while sealing, installs nothing and leaves no manifest', async () => {
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    await symlink('/etc/passwd', join(stagingDir, 'evil.img'));
    await imageError(sealImage({ stagingDir, imageDir, facts: facts() }), 'seal-failed');
    await rm(join(stagingDir, 'evil.img'));
    await mkdir(join(stagingDir, 'subdir'));
    await imageError(sealImage({ stagingDir, imageDir, facts: facts() }), 'seal-failed');
    await rm(join(stagingDir, 'subdir'), { recursive: true });
    execFileSync('mkfifo', [join(stagingDir, 'fifo.img')]);
    await imageError(sealImage({ stagingDir, imageDir, facts: facts() }), 'seal-failed');
    await expect(stat(imageDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(stagingDir)).not.toContain(MANIFEST_FILE);
  });

  it('refuses invalid facts before writing anything', async () => {
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    const bad = { ...facts(), process: { ...facts().process, pid: 0 } };
    const e = await imageError(sealImage({ stagingDir, imageDir, facts: bad }), 'manifest-invalid');
    expect(e.message).toMatch(/process\.pid/);
    await expect(stat(imageDir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(stagingDir)).not.toContain(MANIFEST_FILE);
  });

  it('refuses a staging directory without CRIU files', async () => {
    const stagingDir = await createStagingDir(imageDir);
    await writeFile(join(stagingDir, 'dump.log'), 'Error: something');
    await imageError(sealImage({ stagingDir, imageDir, facts: facts() }), 'seal-failed');
    await expect(stat(imageDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('staging directories', () => {
  it('creates a private sibling of the image directory, creating the parent', async () => {
    const nested = join(root, 'a', 'b', 'img');
    const dir = await createStagingDir(nested);
    expect(dirname(dir)).toBe(dirname(nested));
    expect(basename(dir)).toMatch(/^\.img\.partial-[A-Za-z0-9]{6}$/);
    expect(await mode(dir)).toBe(0o700);
    expect(await createStagingDir(nested)).not.toBe(dir);
  });

  it('discards a staging directory and everything in it, and only that', async () => {
    const dir = await createStagingDir(imageDir);
    await fillStaging(dir);
    await discardStaging(dir);
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    await discardStaging(dir); // idempotent
    await mkdir(join(root, 'keep'));
    await imageError(discardStaging(join(root, 'keep')), 'staging-invalid');
    expect((await stat(join(root, 'keep'))).isDirectory()).toBe(true);
  });
});

describe('verifyImage: the directory and the manifest', () => {
  it('refuses a missing directory with how to build one', async () => {
    const e = await imageError(verify(join(root, 'nope')), 'image-missing');
    expect(e.hint).toContain('defrost checkpoint --image DIR -- node app.js');
    expect(e.imageDir).toBe(join(root, 'nope'));
  });

  it('refuses a file that is not a directory', async () => {
    await writeFile(imageDir, 'x');
    await imageError(verify(imageDir), 'image-not-directory');
  });

  it('refuses a directory without manifest', async () => {
    await mkdir(imageDir);
    await fillStaging(imageDir);
    const e = await imageError(verify(imageDir), 'manifest-missing');
    expect(e.message).toMatch(/did not finish/);
  });

  it('refuses a truncated manifest, naming the JSON error', async () => {
    await makeImage(imageDir);
    const path = join(imageDir, MANIFEST_FILE);
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.slice(0, Math.floor(text.length / 2)));
    const e = await imageError(verify(imageDir), 'manifest-invalid');
    expect(e.message).toMatch(/not valid JSON/);
    expect(e.message).toMatch(/JSON|Unexpected|Expected/);
    await writeFile(path, '');
    expect((await imageError(verify(imageDir), 'manifest-invalid')).message).toMatch(/empty/);
  });

  it('refuses another format version', async () => {
    const m = await makeImage(imageDir);
    await writeManifest(imageDir, { ...m, formatVersion: 2 });
    const e = await imageError(verify(imageDir), 'format-unsupported');
    expect(e.hint).toMatch(/newer defrost/);
    await writeManifest(imageDir, { ...m, formatVersion: undefined });
    await imageError(verify(imageDir), 'manifest-invalid');
    await writeManifest(imageDir, [1, 2]);
    await imageError(verify(imageDir), 'manifest-invalid');
  });

  it('refuses a manifest of the wrong shape, naming the field', async () => {
    const m = await makeImage(imageDir);
    const cases: [unknown, RegExp][] = [
      [{ ...m, process: { ...m.process, pid: '1234' } }, /process\.pid/],
      [{ ...m, node: { ...m.node, binarySha256: 'abc' } }, /node\.binarySha256/],
      [{ ...m, totalBytes: m.totalBytes + 1 }, /totalBytes/],
      [{ ...m, files: { ...m.files, '../../etc/passwd': m.files['dump.log'] } }, /etc\/passwd/],
      [{ ...m, listening: [{ fd: 3, family: 'IPv4', address: '::', port: 70000 }] }, /listening\[0\]\.port/],
      [{ ...m, stdio: { ...m.stdio, stdoutKey: 1 } }, /stdio\.stdoutKey/],
      [{ ...m, signature: { algorithm: 'md5', value: 'x' } }, /signature\.algorithm/],
    ];
    for (const [bad, field] of cases) {
      await writeManifest(imageDir, bad);
      expect((await imageError(verify(imageDir), 'manifest-invalid')).message).toMatch(field);
    }
  });

  it('accepts an image directory reached through a symlink', async () => {
    await makeImage(imageDir);
    await symlink(imageDir, join(root, 'current'));
    await verify(join(root, 'current'));
  });

  it('refuses a symlinked manifest', async () => {
    const m = await makeImage(imageDir);
    await writeManifest(root, m);
    await rm(join(imageDir, MANIFEST_FILE));
    await symlink(join(root, MANIFEST_FILE), join(imageDir, MANIFEST_FILE));
    await imageError(verify(imageDir), 'manifest-invalid');
  });
});

describe('verifyImage: the files', () => {
  beforeEach(async () => {
    await makeImage(imageDir);
  });

  it('refuses a flipped byte in a pages file, naming it', async () => {
    const fh = await open(join(imageDir, 'pages-1.img'), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 12345);
    byte[0] = byte[0]! ^ 0x01;
    await fh.write(byte, 0, 1, 12345);
    await fh.close();
    const e = await imageError(verify(imageDir), 'image-corrupt');
    expect(e.message).toContain('pages-1.img');
    expect(e.message).not.toContain('inventory.img');
  });

  it('skipHashes still checks sizes but not contents', async () => {
    const fh = await open(join(imageDir, 'pages-1.img'), 'r+');
    await fh.write(Buffer.from('X'), 0, 1, 0);
    await fh.close();
    await verify(imageDir, { skipHashes: true });
    await truncate(join(imageDir, 'pages-1.img'), 10);
    await imageError(verify(imageDir, { skipHashes: true }), 'image-truncated');
  });

  it('refuses a truncated file', async () => {
    await truncate(join(imageDir, 'pages-1.img'), 4096);
    const e = await imageError(verify(imageDir), 'image-truncated');
    expect(e.message).toContain('pages-1.img is 4096 bytes');
  });

  it('refuses a missing file', async () => {
    await rm(join(imageDir, 'mm-1234.img'));
    const e = await imageError(verify(imageDir), 'image-incomplete');
    expect(e.message).toContain('mm-1234.img');
  });

  it('refuses an unexpected CRIU file, tolerates other extra files', async () => {
    await writeFile(join(imageDir, 'restore.log'), 'criu wrote this at restore', { mode: 0o600 });
    await writeFile(join(imageDir, 'stats-restore'), 'x', { mode: 0o600 });
    await verify(imageDir);
    await writeFile(join(imageDir, 'pages-2.img'), 'x', { mode: 0o600 });
    const e = await imageError(verify(imageDir), 'image-unexpected-file');
    expect(e.message).toContain('pages-2.img');
  });

  it('refuses a listed file that became a symlink', async () => {
    const target = join(root, 'elsewhere.img');
    await writeFile(target, await readFile(join(imageDir, 'core-1234.img')));
    await rm(join(imageDir, 'core-1234.img'));
    await symlink(target, join(imageDir, 'core-1234.img'));
    const e = await imageError(verify(imageDir), 'image-unexpected-file');
    expect(e.message).toMatch(/core-1234\.img is a symbolic link/);
  });

  it('refuses group/other-writable files and warns on readable ones', async () => {
    await chmod(join(imageDir, 'pages-1.img'), 0o666);
    const e = await imageError(verify(imageDir), 'image-permissions');
    expect(e.message).toMatch(/pages-1\.img \(0666\)/);
    expect(e.message).toMatch(/swapped/);
    await chmod(join(imageDir, 'pages-1.img'), 0o600);
    await chmod(imageDir, 0o770);
    await imageError(verify(imageDir), 'image-permissions');
    await chmod(imageDir, 0o755);
    await chmod(join(imageDir, 'pages-1.img'), 0o644);
    const warnings: ImageWarning[] = [];
    await verify(imageDir, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'image-permissions' });
    expect(warnings[0]!.message).toMatch(/secrets/);
  });
});

describe('signatures', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef');

  it('a signed image verifies with its key, and without a key', async () => {
    const m = await makeImage(imageDir, { signingKey: key, keyId: 'prod-2026' });
    expect(m.signature).toMatchObject({ algorithm: 'hmac-sha256', keyId: 'prod-2026' });
    expect(m.signature!.value).toMatch(/^[0-9a-f]{64}$/);
    await verify(imageDir, { signingKey: key, requireSignature: true });
    await verify(imageDir);
  });

  it('the signature survives re-formatting of the manifest but not a changed value', async () => {
    const m = await makeImage(imageDir, { signingKey: 'a string key' });
    const reordered = Object.fromEntries(Object.entries(m).reverse());
    await writeFile(join(imageDir, MANIFEST_FILE), JSON.stringify(reordered, null, 7), { mode: 0o600 });
    await verify(imageDir, { signingKey: 'a string key' });
    await writeManifest(imageDir, { ...m, process: { ...m.process, argv: ['node', 'evil.js'] } });
    await imageError(verify(imageDir, { signingKey: 'a string key' }), 'signature-mismatch');
  });

  it('a forged file hash in a signed manifest is refused', async () => {
    const m = await makeImage(imageDir, { signingKey: key });
    const evil = Buffer.alloc(m.files['pages-1.img']!.size, 0x90);
    await writeFile(join(imageDir, 'pages-1.img'), evil, { mode: 0o600 });
    const forged = {
      ...m,
      files: {
        ...m.files,
        'pages-1.img': { size: evil.length, sha256: createHash('sha256').update(evil).digest('hex') },
      },
    };
    await writeManifest(imageDir, forged);
    await verify(imageDir); // without the key, the forgery is consistent
    await imageError(verify(imageDir, { signingKey: key }), 'signature-mismatch');
  });

  it('refuses an unsigned image when a key is given', async () => {
    await makeImage(imageDir);
    const e = await imageError(verify(imageDir, { signingKey: key }), 'image-unsigned');
    expect(e.hint).toMatch(/signing-key/);
  });

  it('refuses the wrong key', async () => {
    await makeImage(imageDir, { signingKey: key });
    const e = await imageError(verify(imageDir, { signingKey: Buffer.from('wrong') }), 'signature-mismatch');
    expect(e.message).toMatch(/different key/);
  });

  it('requireSignature without a key is a clear error', async () => {
    await makeImage(imageDir, { signingKey: key });
    const e = await imageError(verify(imageDir, { requireSignature: true }), 'signing-key-missing');
    expect(e.hint).toMatch(/key the image was signed with/);
  });

  it('an empty key is refused when sealing and verifying', async () => {
    const stagingDir = await createStagingDir(imageDir);
    await fillStaging(stagingDir);
    await imageError(
      sealImage({ stagingDir, imageDir, facts: facts(), signingKey: '' }),
      'signing-key-invalid',
    );
    await sealImage({ stagingDir, imageDir, facts: facts(), signingKey: key });
    await imageError(verify(imageDir, { signingKey: Buffer.alloc(0) }), 'signing-key-invalid');
  });
});

describe('compatibility', () => {
  let m: ImageManifest;
  beforeEach(async () => {
    m = await makeImage(imageDir);
  });

  it('the same host is compatible', () => {
    expect(checkCompatibility(m, HOST)).toEqual({ fatal: [], warnings: [] });
  });

  it('another node version or binary is fatal, and says what to do', () => {
    const other = { ...HOST, nodeVersion: 'v22.11.0', nodeBinarySha256: 'cd34'.repeat(16) };
    const { fatal, warnings } = checkCompatibility(m, other);
    expect(warnings).toEqual([]);
    expect(fatal).toHaveLength(1);
    expect(fatal[0]).toContain('made by node v20.20.2 at /usr/bin/node (sha256 ab12ab12ab12…)');
    expect(fatal[0]).toContain('this is v22.11.0');
    expect(fatal[0]).toContain('rebuild the image on this machine');
    const rebuilt = checkCompatibility(m, { ...HOST, nodeBinarySha256: 'ef'.repeat(32) });
    expect(rebuilt.fatal[0]).toMatch(/same version but a different binary/);
  });

  it('another arch is fatal; another kernel and an older CRIU are warnings', () => {
    expect(checkCompatibility(m, { ...HOST, arch: 'arm64' }).fatal[0]).toMatch(/made for x64.*arm64/);
    const { fatal, warnings } = checkCompatibility(m, { ...HOST, kernel: '6.17.0', criuVersion: '4.1' });
    expect(fatal).toEqual([]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/6\.1\.0-test.*6\.17\.0/);
    expect(warnings[1]).toMatch(/CRIU 4\.2\.1.*older CRIU 4\.1/);
    expect(checkCompatibility(m, { ...HOST, criuVersion: '4.3.0' }).warnings).toEqual([]);
    const { criuVersion: _, ...noCriu } = HOST;
    expect(checkCompatibility(m, noCriu).warnings).toEqual([]);
  });

  it('verifyImage refuses an incompatible host before hashing, and passes warnings on', async () => {
    const e = await imageError(
      verify(imageDir, { host: { ...HOST, nodeVersion: 'v24.0.0' } }),
      'image-incompatible',
    );
    expect(e.message).toContain('rebuild the image on this machine');
    const warnings: ImageWarning[] = [];
    await verify(imageDir, { host: { ...HOST, kernel: '7.0.0' }, onWarning: (w) => warnings.push(w) });
    expect(warnings.map((w) => w.code)).toEqual(['image-incompatible']);
    await verify(imageDir, { host: false });
  });

  it('by default checks against this process (whose node did not make the fake image)', async () => {
    await imageError(verifyImage(imageDir, { onWarning: () => {} }), 'image-incompatible');
  });
});

describe('host facts and sizes', () => {
  it('currentHostFacts describes this process and hashes its node binary once', async () => {
    const t0 = performance.now();
    const a = await currentHostFacts();
    const first = performance.now() - t0;
    const t1 = performance.now();
    const b = await currentHostFacts();
    const second = performance.now() - t1;
    expect(a).toEqual(b);
    expect(a.nodeVersion).toBe(process.version);
    expect(a.arch).toBe(process.arch);
    expect(a.nodeBinarySha256).toBe((await hashFile(process.execPath)).sha256);
    expect(second).toBeLessThan(Math.max(first, 5));
  });

  it('imageSizes counts every file and the pages part', async () => {
    await makeImage(imageDir);
    const sizes = await imageSizes(imageDir);
    const manifestBytes = (await stat(join(imageDir, MANIFEST_FILE))).size;
    const total = Object.values(FAKE_FILES).reduce((a, b) => a + b, 0);
    expect(sizes).toEqual({
      totalBytes: total + manifestBytes,
      pagesBytes: FAKE_FILES['pages-1.img'],
      files: Object.keys(FAKE_FILES).length + 1,
    });
    await imageError(imageSizes(join(root, 'nope')), 'image-missing');
  });
});
