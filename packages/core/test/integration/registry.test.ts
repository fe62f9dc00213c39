/**
 * push and pull against a real registry (Debian's docker-registry, started here on loopback with
 * its own storage): round trips, dedup, tampering in the registry's storage, basic auth through
 * an auth file, signatures, TLS with a CA file, and the digest-keyed cache of `restore REF`.
 * The images are sealed fake images (real manifest and hashes; CRIU never reads them here).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cachedPull,
  createStagingDir,
  currentHostFacts,
  ImageError,
  type ImageManifest,
  KEPT_CACHED_IMAGES,
  pullImage,
  pushImage,
  RegistryError,
  sealImage,
  verifyImage,
} from '../../src/internal.js';
import { sha256Digest } from '../../src/oci/digest.js';
import {
  freePort,
  makeTestCertificates,
  startRegistry,
  stopAllStarted,
  type TestRegistry,
} from '../../src/testing/index.js';

let work: string;
let registry: TestRegistry;
const savedCacheDir = process.env.DEFROST_CACHE_DIR;
/** No auth file of this machine's user may leak into the tests: every lookup lands in `work`. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'defrost-registry-'));
  process.env.DEFROST_CACHE_DIR = join(work, 'cache');
  env = { HOME: join(work, 'home'), XDG_RUNTIME_DIR: join(work, 'run') };
  registry = await startRegistry({ dir: join(work, 'registry') });
});
afterAll(async () => {
  await registry?.stop();
  await stopAllStarted();
  if (savedCacheDir === undefined) delete process.env.DEFROST_CACHE_DIR;
  else process.env.DEFROST_CACHE_DIR = savedCacheDir;
  await rm(work, { recursive: true, force: true });
});

/** A sealed image: a 12 MB pages file (random and zero pages), a core file and a shared one. */
async function makeImage(
  dir: string,
  o: { signingKey?: string; shared?: Buffer } = {},
): Promise<ImageManifest> {
  const host = await currentHostFacts();
  const staging = await createStagingDir(dir);
  await writeFile(join(staging, 'pages-1.img'), Buffer.concat([randomBytes(4 << 20), Buffer.alloc(8 << 20)]));
  await writeFile(join(staging, 'core-4242.img'), randomBytes(3000));
  await writeFile(join(staging, 'mm-4242.img'), o.shared ?? Buffer.from('the same in every image'));
  return sealImage({
    stagingDir: staging,
    imageDir: dir,
    facts: {
      node: {
        version: host.nodeVersion,
        execPath: process.execPath,
        binarySha256: host.nodeBinarySha256,
        arch: process.arch,
        platform: process.platform,
      },
      kernel: host.kernel,
      criu: { version: '4.2.1' },
      process: { pid: 4242, argv: ['node', 'app.js'], execArgv: [], cwd: '/srv' },
      listening: [],
      stdio: { stdoutKey: 'o', stderrKey: 'e', controlInKey: 'ci', controlOutKey: 'co' },
      checkpoint: { durationMs: 1 },
    },
    ...(o.signingKey !== undefined ? { signingKey: o.signingKey } : {}),
  });
}

async function sameFiles(a: string, b: string): Promise<void> {
  const names = (await readdir(a)).sort();
  expect((await readdir(b)).sort()).toEqual(names);
  for (const name of names) {
    expect((await readFile(join(a, name))).equals(await readFile(join(b, name))), name).toBe(true);
    expect((await stat(join(b, name))).mode & 0o777, name).toBe(0o600);
  }
  expect((await stat(b)).mode & 0o777).toBe(0o700);
}

/** Nothing at `dir`, and no staging sibling left next to it. */
async function nothingAt(dir: string): Promise<void> {
  await expect(lstat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
  const parent = join(dir, '..');
  expect((await readdir(parent)).filter((n) => n.includes('.partial-'))).toEqual([]);
}

const uploads = (lines: string[]): string[] =>
  lines.filter((l) => /"(POST|PUT|PATCH) \/v2\/[^"]*\/blobs\/uploads/.test(l));
const blobGets = (lines: string[]): string[] =>
  lines.filter((l) => /"GET \/v2\/[^"]*\/blobs\/sha256:/.test(l));

/** The manifest of a pushed image, from the registry's storage. */
async function storedManifest(digest: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(registry.blobFile(digest), 'utf8')) as Record<string, unknown>;
}

describe('push and pull', () => {
  let image: string;
  let manifest: ImageManifest;
  let pushedDigest: string;

  beforeAll(async () => {
    image = join(work, 'image');
    manifest = await makeImage(image);
  });

  it('push, then pull into an empty directory: the same bytes, an image that verifies', async () => {
    const ref = `${registry.host}/team/app:1`;
    const pushed = await pushImage(image, ref, { env });
    pushedDigest = pushed.digest;
    expect(pushed.pinned).toBe(`${registry.host}/team/app@${pushed.digest}`);
    expect(pushed.files).toBe(3);
    expect(pushed.uploaded.blobs).toBe(5); // the empty config, defrost.json, three files
    expect(pushed.blobBytes).toBeLessThan(pushed.imageBytes / 2); // 8 of 12 MB are zero pages

    const stored = await storedManifest(pushed.digest);
    expect(stored).toMatchObject({ artifactType: 'application/vnd.defrost.image.v1+json' });

    const target = join(work, 'pulled-empty');
    await mkdir(target);
    const pulled = await pullImage(ref, target, { env });
    expect(pulled.digest).toBe(pushed.digest);
    await sameFiles(image, target);
    const verified = await verifyImage(target, { host: false });
    expect(verified.imageId).toBe(manifest.imageId);
  });

  it('a second push uploads no blob again; another image shares the blobs of identical files', async () => {
    const before = registry.requests().length;
    const again = await pushImage(image, `${registry.host}/team/app:1`, { env });
    expect(again.digest).toBe(pushedDigest);
    expect(again.uploaded).toEqual({ blobs: 0, bytes: 0 });
    expect(uploads(registry.requests().slice(before))).toEqual([]);

    const other = join(work, 'other');
    await makeImage(other);
    const mark = registry.requests().length;
    const second = await pushImage(other, `${registry.host}/team/app:2`, { env });
    // New pages, core and defrost.json; the empty config and mm-4242.img were there.
    expect(second.uploaded.blobs).toBe(3);
    expect(second.present.blobs).toBe(2);
    expect(uploads(registry.requests().slice(mark))).toHaveLength(6); // POST + PUT per blob
  });

  it('chunked upload (--chunk-size) gives the same image', async () => {
    const chunked = join(work, 'chunked');
    await makeImage(chunked);
    const ref = `${registry.host}/team/chunked:1`;
    const mark = registry.requests().length;
    await pushImage(chunked, ref, { env, chunkSize: 1024 * 1024 });
    expect(
      registry
        .requests()
        .slice(mark)
        .filter((l) => l.includes('"PATCH ')).length,
    ).toBeGreaterThan(3);
    const target = join(work, 'chunked-pulled');
    await pullImage(ref, target, { env });
    await sameFiles(chunked, target);
  });

  it('a proxy that refuses large requests (413): the blob goes up in chunks instead, with a warning', async () => {
    // In front of the registry, like an nginx with client_max_body_size 1m.
    const upstream = Number(registry.host.split(':')[1]);
    const proxy = createServer((req, res) => {
      if (Number(req.headers['content-length'] ?? 0) > 1024 * 1024) {
        req.resume();
        res.writeHead(413, { 'content-type': 'text/html' }).end('<html>413 Request Entity Too Large</html>');
        return;
      }
      const forward = httpRequest(
        { host: '127.0.0.1', port: upstream, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode!, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const proxied = `127.0.0.1:${(proxy.address() as AddressInfo).port}/team/proxied:1`;
      const warnings: string[] = [];
      const mark = registry.requests().length;
      await pushImage(join(work, 'image'), proxied, { env, onWarning: (w) => warnings.push(w.message) });
      expect(warnings).toEqual([
        expect.stringMatching(/refused a request as too large \(413\); uploading in 4096 KiB chunks/),
        expect.stringMatching(/uploading in 1024 KiB chunks/),
      ]);
      expect(
        registry
          .requests()
          .slice(mark)
          .some((l) => l.includes('"PATCH ')),
      ).toBe(true);
      const target = join(work, 'proxied-pulled');
      await pullImage(proxied, target, { env });
      await sameFiles(join(work, 'image'), target);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('pull refuses an existing image unless --force, and --force replaces it', async () => {
    const target = join(work, 'pulled-empty');
    await expect(pullImage(`${registry.host}/team/app:2`, target, { env })).rejects.toMatchObject({
      code: 'image-exists',
    });
    const replaced = await pullImage(`${registry.host}/team/app:2`, target, { env, force: true });
    await sameFiles(join(work, 'other'), target);
    expect(replaced.manifest.imageId).not.toBe(manifest.imageId);
  });

  it('a blob damaged in the registry storage is refused, and nothing appears at DIR', async () => {
    const damaged = join(work, 'damaged');
    await makeImage(damaged);
    const ref = `${registry.host}/team/damaged:1`;
    const pushed = await pushImage(damaged, ref, { env });
    const layers = (await storedManifest(pushed.digest)).layers as {
      digest: string;
      annotations: Record<string, string>;
    }[];
    const pages = layers.find((l) => l.annotations['org.opencontainers.image.title'] === 'pages-1.img')!;
    const file = registry.blobFile(pages.digest);
    const bytes = await readFile(file);
    bytes[bytes.length >> 1]! ^= 0x01;
    await writeFile(file, bytes);

    const target = join(work, 'from-damaged');
    const error = await pullImage(ref, target, { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageError);
    expect((error as ImageError).code).toBe('blob-corrupt');
    expect((error as Error).message).toMatch(
      /the blob of pages-1.img (does not match its digest|is not valid zstd)/,
    );
    expect((error as Error).message).toContain(`nothing was written to ${target}`);
    await nothingAt(target);
  });

  it('a manifest changed in the registry (so its digest no longer matches) is refused, by tag and by digest', async () => {
    const changed = join(work, 'changed');
    await makeImage(changed);
    const ref = `${registry.host}/team/changed:1`;
    const pushed = await pushImage(changed, ref, { env });
    const file = registry.blobFile(pushed.digest);
    const text = await readFile(file, 'utf8');
    // Still valid JSON, still a defrost artifact: only the digest gives it away.
    await writeFile(file, text.replace('"dev.defrost.node.arch":"', '"dev.defrost.node.arch":"x'));
    expect(sha256Digest(await readFile(file))).not.toBe(pushed.digest);

    for (const which of [ref, pushed.pinned]) {
      const target = join(work, 'from-changed');
      const error = await pullImage(which, target, { env }).catch((e: unknown) => e);
      expect((error as ImageError).code, which).toBe('manifest-digest-mismatch');
      expect((error as Error).message).toContain(`its sha256 is sha256:`);
      await nothingAt(target);
    }
  });

  it('a container image (not a defrost artifact) is refused with what it is', async () => {
    const config = Buffer.from(
      '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}',
    );
    const ref = `${registry.host}/team/container:1`;
    const base = `http://${registry.host}/v2/team/container`;
    const put = async (bytes: Buffer): Promise<string> => {
      const digest = sha256Digest(bytes);
      const post = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const location = new URL(post.headers.get('location')!, base);
      location.searchParams.set('digest', digest);
      expect((await fetch(location, { method: 'PUT', body: bytes })).status).toBe(201);
      return digest;
    };
    const manifestBody = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: await put(config),
        size: config.length,
      },
      layers: [],
    });
    const res = await fetch(`${base}/manifests/1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifestBody,
    });
    expect(res.status).toBe(201);
    const error = await pullImage(ref, join(work, 'container'), { env }).catch((e: unknown) => e);
    expect((error as ImageError).code).toBe('artifact-invalid');
    expect((error as Error).message).toMatch(
      /is not a defrost image \(config "application\/vnd.oci.image.config.v1\+json"/,
    );
  });

  it('a missing tag, an unreachable registry: clear errors', async () => {
    await expect(pullImage(`${registry.host}/team/app:nope`, join(work, 'x'), { env })).rejects.toMatchObject(
      {
        code: 'image-missing',
      },
    );
    const closed = `127.0.0.1:${await freePort()}`;
    const e = await pullImage(`${closed}/team/app:1`, join(work, 'x'), { env }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as Error).message).toMatch(/cannot reach .*connection refused/);
  });
});

describe('signatures travel with the image', () => {
  it('a signed image verifies after the round trip; a wrong key is refused before the big blobs', async () => {
    const key = 'k'.repeat(32);
    const signed = join(work, 'signed');
    await makeImage(signed, { signingKey: key });
    const ref = `${registry.host}/team/signed:1`;
    await pushImage(signed, ref, { env });

    const target = join(work, 'signed-pulled');
    const pulled = await pullImage(ref, target, { env, signingKey: key, requireSignature: true });
    expect(pulled.manifest.signature?.algorithm).toBe('hmac-sha256');
    await verifyImage(target, { host: false, signingKey: key, requireSignature: true });

    const mark = registry.requests().length;
    const wrong = join(work, 'signed-wrong');
    const error = await pullImage(ref, wrong, { env, signingKey: 'another key' }).catch((e: unknown) => e);
    expect((error as ImageError).code).toBe('signature-mismatch');
    expect(blobGets(registry.requests().slice(mark))).toHaveLength(1); // defrost.json only
    await nothingAt(wrong);

    const unsigned = join(work, 'image');
    await pushImage(unsigned, `${registry.host}/team/unsigned:1`, { env });
    await expect(
      pullImage(`${registry.host}/team/unsigned:1`, join(work, 'unsigned-pulled'), { env, signingKey: key }),
    ).rejects.toMatchObject({ code: 'image-unsigned' });
    await expect(
      pullImage(`${registry.host}/team/unsigned:1`, join(work, 'unsigned-pulled'), {
        env,
        requireSignature: true,
      }),
    ).rejects.toMatchObject({ code: 'signing-key-missing' });

    // A host that requires signatures (DEFROST_SIGNING_KEY_FILE) pulls only images signed with its key.
    const keyFile = join(work, 'host-key');
    await writeFile(keyFile, key, { mode: 0o600 });
    const hostEnv = { ...env, DEFROST_SIGNING_KEY_FILE: keyFile };
    await expect(
      pullImage(`${registry.host}/team/unsigned:1`, join(work, 'unsigned-pulled'), { env: hostEnv }),
    ).rejects.toMatchObject({ code: 'image-unsigned' });
    await nothingAt(join(work, 'unsigned-pulled'));
    await pullImage(ref, join(work, 'signed-by-host-key'), { env: hostEnv });
  });
});

describe('a registry with basic auth (htpasswd, bcrypt) and TLS', () => {
  let secured: TestRegistry;
  let certs: { caFile: string; certFile: string; keyFile: string };

  beforeAll(async () => {
    const dir = join(work, 'secured');
    await mkdir(dir, { recursive: true });
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, execFileSync('htpasswd', ['-Bbn', 'ci', 'hunter2']));
    certs = makeTestCertificates(dir, ['127.0.0.1']);
    secured = await startRegistry({
      dir,
      htpasswdFile: htpasswd,
      tls: { certFile: certs.certFile, keyFile: certs.keyFile },
    });
  });
  afterAll(async () => {
    await secured?.stop();
  });

  const authFile = async (name: string, user: string, password: string): Promise<string> => {
    const file = join(work, name);
    const auth = Buffer.from(`${user}:${password}`).toString('base64');
    await writeFile(file, JSON.stringify({ auths: { [secured.host]: { auth } } }), { mode: 0o600 });
    return file;
  };

  it('over TLS with --ca-file, credentials from REGISTRY_AUTH_FILE: push and pull', async () => {
    const file = await authFile('auth.json', 'ci', 'hunter2');
    const ref = `${secured.host}/team/app:1`;
    const o = { env: { ...env, REGISTRY_AUTH_FILE: file }, caFile: certs.caFile };
    await pushImage(join(work, 'image'), ref, o);
    const target = join(work, 'secured-pulled');
    await pullImage(ref, target, o);
    await sameFiles(join(work, 'image'), target);
  });

  it('without credentials, with wrong ones, with a credential helper only: refused, saying why', async () => {
    const ref = `${secured.host}/team/app:1`;
    const none = await pullImage(ref, join(work, 'n'), { env, caFile: certs.caFile }).catch(
      (e: unknown) => e,
    );
    expect((none as RegistryError).code).toBe('registry-auth-required');
    expect((none as Error).message).toContain(join(work, 'run/containers/auth.json'));

    const wrong = await authFile('wrong.json', 'ci', 'nope');
    const refused = await pullImage(ref, join(work, 'n'), {
      env: { ...env, REGISTRY_AUTH_FILE: wrong },
      caFile: certs.caFile,
    }).catch((e: unknown) => e);
    expect((refused as RegistryError).code).toBe('registry-auth-refused');
    expect((refused as Error).message).toContain(`refused the credentials of "ci" (from ${wrong})`);

    const docker = join(work, 'docker');
    await mkdir(docker, { recursive: true });
    await writeFile(join(docker, 'config.json'), JSON.stringify({ credsStore: 'secretservice' }));
    const helper = await pullImage(ref, join(work, 'n'), {
      env: { ...env, DOCKER_CONFIG: docker },
      caFile: certs.caFile,
    }).catch((e: unknown) => e);
    expect((helper as Error).message).toMatch(
      /names the credential helper docker-credential-secretservice, which defrost does not run/,
    );
    await nothingAt(join(work, 'n'));
  });

  it('an untrusted certificate is refused unless --ca-file or --tls-verify=false', async () => {
    const file = await authFile('auth2.json', 'ci', 'hunter2');
    const ref = `${secured.host}/team/app:1`;
    const untrusted = await pullImage(ref, join(work, 't'), {
      env: { ...env, REGISTRY_AUTH_FILE: file },
    }).catch((e: unknown) => e);
    expect((untrusted as RegistryError).code).toBe('registry-certificate');
    expect((untrusted as Error).message).toMatch(/--ca-file/);
    await pullImage(ref, join(work, 't'), { env: { ...env, REGISTRY_AUTH_FILE: file }, tlsVerify: false });
    await sameFiles(join(work, 'image'), join(work, 't'));
  });
});

describe('the cache of restore REF', () => {
  it('pulls once per manifest digest; by digest it needs no registry at all', async () => {
    const ref = `${registry.host}/team/app:1`;
    const first = await cachedPull(ref, { env });
    expect(first.pulled).not.toBeNull();
    expect(first.imageDir).toBe(join(work, 'cache', 'oci', `sha256-${first.digest.slice(7)}`));
    await verifyImage(first.imageDir, { host: false });

    const mark = registry.requests().length;
    const second = await cachedPull(ref, { env });
    expect(second.pulled).toBeNull();
    expect(second.imageDir).toBe(first.imageDir);
    expect(blobGets(registry.requests().slice(mark))).toEqual([]);

    // Pinned by digest: no request at all (the registry is not even asked).
    const byDigest = await cachedPull(first.pinned, { env });
    expect(byDigest.imageDir).toBe(first.imageDir);
    expect(registry.requests().length).toBe(mark + 2); // the tag lookup above: GET /v2/ and the manifest
  });

  it('keeps the newest images (and the one in use), and removes stale staging directories', async () => {
    const root = join(work, 'cache', 'oci');
    const stale = join(root, `.sha256-${'0'.repeat(64)}.partial-abcdef`);
    await mkdir(stale);
    await utimes(stale, new Date(Date.now() - 2 * 3600_000), new Date(Date.now() - 2 * 3600_000));
    const fresh = join(root, `.sha256-${'1'.repeat(64)}.partial-abcdef`);
    await mkdir(fresh); // a pull going on right now
    const dirs: string[] = [];
    for (let i = 0; i < KEPT_CACHED_IMAGES + 2; i++) {
      const dir = join(work, `kept-${i}`);
      await makeImage(dir);
      await pushImage(dir, `${registry.host}/team/kept:${i}`, { env });
      dirs.push((await cachedPull(`${registry.host}/team/kept:${i}`, { env })).imageDir);
    }
    const left = (await readdir(root)).filter((n) => n.startsWith('sha256-')).map((n) => join(root, n));
    expect(left.sort()).toEqual(dirs.slice(-(KEPT_CACHED_IMAGES + 1)).sort());
    await expect(lstat(stale)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await lstat(fresh)).isDirectory()).toBe(true);
  });

  it('refuses a cache directory others can write to', async () => {
    const cache = join(work, 'open-cache');
    await mkdir(cache, { mode: 0o777 });
    execFileSync('chmod', ['0777', cache]);
    const saved = process.env.DEFROST_CACHE_DIR;
    process.env.DEFROST_CACHE_DIR = cache;
    try {
      await expect(cachedPull(`${registry.host}/team/app:1`, { env })).rejects.toMatchObject({
        code: 'cache-untrusted',
      });
    } finally {
      process.env.DEFROST_CACHE_DIR = saved;
    }
  });
});
