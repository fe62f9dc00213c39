/** Registry references, WWW-Authenticate challenges and where credentials are looked up. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  authFileCandidates,
  findCredentials,
  formatReference,
  isLoopbackHost,
  looksLikeReference,
  parseChallenges,
  parseReference,
  ReferenceSyntaxError,
  RegistryError,
} from '../../src/oci/index.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('parseReference', () => {
  it.each([
    [
      'registry.example:5000/team/blog:1',
      'registry.example:5000',
      'registry.example',
      'team/blog',
      '1',
      undefined,
    ],
    ['localhost/blog', 'localhost', 'localhost', 'blog', undefined, undefined],
    ['127.0.0.1:5000/a/b/c:v1.2-rc_3', '127.0.0.1:5000', '127.0.0.1', 'a/b/c', 'v1.2-rc_3', undefined],
    [`[::1]:5000/blog@${DIGEST}`, '[::1]:5000', '::1', 'blog', undefined, DIGEST],
    [`ghcr.io/team/blog:1@${DIGEST}`, 'ghcr.io', 'ghcr.io', 'team/blog', '1', DIGEST],
    ['Registry.Example/x__y/a-b.c:T', 'registry.example', 'registry.example', 'x__y/a-b.c', 'T', undefined],
  ])('%s', (text, registry, hostname, repository, tag, digest) => {
    const ref = parseReference(text);
    expect(ref).toMatchObject({ registry, hostname, repository, tag, digest, endpoint: registry });
  });

  it('Docker Hub: the API host is registry-1.docker.io and one-part names get library/', () => {
    expect(parseReference('docker.io/blog:1')).toMatchObject({
      registry: 'docker.io',
      endpoint: 'registry-1.docker.io',
      repository: 'library/blog',
    });
    expect(parseReference('docker.io/team/blog').repository).toBe('team/blog');
  });

  it.each([
    ['team/blog:1', /does not name a registry/],
    ['blog', /does not name a registry/],
    ['registry.example/Team/blog', /lowercase/],
    ['registry.example/team/blog:-x', /tag/],
    ['registry.example/team/blog@sha256:abc', /digest/],
    [`registry.example/team/blog@md5:${'a'.repeat(32)}`, /digest/],
    ['registry.example:99999/blog', /host name/],
    ['registry.example/', /name part/],
    [' registry.example/blog', /spaces/],
    ['[zz]:5000/blog', /host name|IPv6/],
  ])('refuses %j', (text, why) => {
    expect(() => parseReference(text)).toThrow(ReferenceSyntaxError);
    expect(() => parseReference(text)).toThrow(why);
  });

  it('formatReference: the tag (latest by default) or the digest', () => {
    const ref = parseReference('registry.example:5000/team/blog');
    expect(formatReference(ref)).toBe('registry.example:5000/team/blog:latest');
    expect(formatReference(ref, DIGEST)).toBe(`registry.example:5000/team/blog@${DIGEST}`);
  });

  it('looksLikeReference: only with a registry named, never a path', () => {
    expect(looksLikeReference('registry.example:5000/team/blog:1')).toBe(true);
    expect(looksLikeReference('localhost/blog')).toBe(true);
    expect(looksLikeReference('images/app')).toBe(false);
    expect(looksLikeReference('./registry.example/app')).toBe(false);
    expect(looksLikeReference('/var/lib/registry.example/app')).toBe(false);
    expect(looksLikeReference('app')).toBe(false);
  });

  it('isLoopbackHost: 127.0.0.0/8, ::1, localhost; nothing else', () => {
    for (const h of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      'localhost',
      'LOCALHOST',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(h), h).toBe(true);
    }
    for (const h of [
      '203.0.113.5',
      '10.0.0.1',
      'registry.example',
      '::2',
      'localhost.example',
      '128.0.0.1',
    ]) {
      expect(isLoopbackHost(h), h).toBe(false);
    }
  });
});

describe('parseChallenges', () => {
  it('a Bearer challenge with quoted parameters', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ]);
  });

  it('several challenges, plain tokens, escapes, repeated headers', () => {
    const got = parseChallenges([
      'Basic realm="a \\"b\\"", Bearer realm=https://x/token,error=insufficient_scope',
      'Negotiate',
    ]);
    expect(got.map((c) => c.scheme)).toEqual(['basic', 'bearer', 'negotiate']);
    expect(got[0]!.params.realm).toBe('a "b"');
    expect(got[1]!.params).toEqual({ realm: 'https://x/token', error: 'insufficient_scope' });
    expect(parseChallenges(undefined)).toEqual([]);
  });
});

describe('credentials from auth files', () => {
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'defrost-auth-'));
  });
  afterEach(async () => {
    await rm(home, { recursive: true, force: true });
  });
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const write = async (path: string, value: unknown): Promise<string> => {
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const ref = parseReference('registry.example:5000/team/blog:1');

  it('the order podman and docker use', () => {
    const env = { HOME: home, XDG_RUNTIME_DIR: '/run/user/7', DOCKER_CONFIG: '/etc/docker-cfg' };
    expect(authFileCandidates(env)).toEqual([
      '/run/user/7/containers/auth.json',
      join(home, '.config/containers/auth.json'),
      '/etc/docker-cfg/config.json',
    ]);
    expect(
      authFileCandidates({ HOME: home, REGISTRY_AUTH_FILE: '/x/auth.json', XDG_CONFIG_HOME: '/cfg' }, 0),
    ).toEqual(['/x/auth.json', '/cfg/containers/auth.json', join(home, '.docker/config.json')]);
    // podman's primary file for root without XDG_RUNTIME_DIR
    expect(authFileCandidates({ HOME: home }, 0)[0]).toBe('/run/containers/0/auth.json');
  });

  it('the first file with an entry wins; the most specific key wins within a file', async () => {
    const podman = await write(join(home, 'run/containers/auth.json'), {
      auths: {
        'registry.example:5000': { auth: b64('wide:one') },
        'registry.example:5000/team': { auth: b64('team:two:with:colons') },
        'other.example': { auth: b64('x:y') },
      },
    });
    await write(join(home, '.docker/config.json'), {
      auths: { 'registry.example:5000': { auth: b64('docker:no') } },
    });
    const env = { HOME: home, XDG_RUNTIME_DIR: join(home, 'run') };
    const got = await findCredentials(ref, env);
    expect(got.credentials).toEqual({ username: 'team', password: 'two:with:colons', file: podman });
    const other = await findCredentials(parseReference('registry.example:5000/solo/app'), env);
    expect(other.credentials?.username).toBe('wide');
  });

  it("docker's config.json: URL keys, username/password entries, DOCKER_CONFIG", async () => {
    const file = await write(join(home, 'dcfg/config.json'), {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:secret') },
        'http://registry.example:5000/v2/': { username: 'old', password: 'style' },
      },
    });
    const env = { HOME: home, XDG_RUNTIME_DIR: join(home, 'none'), DOCKER_CONFIG: join(home, 'dcfg') };
    expect((await findCredentials(parseReference('docker.io/team/app'), env)).credentials).toEqual({
      username: 'hub',
      password: 'secret',
      file,
    });
    expect((await findCredentials(ref, env)).credentials?.username).toBe('old');
  });

  it('a credential helper or an identity token alone is reported, not run', async () => {
    const file = await write(join(home, '.docker/config.json'), {
      auths: { 'registry.example:5000': {} },
      credHelpers: { 'registry.example:5000': 'ecr-login' },
    });
    const got = await findCredentials(ref, { HOME: home, XDG_RUNTIME_DIR: join(home, 'none') });
    expect(got.credentials).toBeUndefined();
    expect(got.helper).toEqual({ name: 'ecr-login', file });
    await write(file, {
      auths: { 'registry.example:5000': { identitytoken: 'tok' } },
      credsStore: 'desktop',
    });
    const again = await findCredentials(ref, { HOME: home, XDG_RUNTIME_DIR: join(home, 'none') });
    expect(again.identityTokenFile).toBe(file);
    expect(again.helper?.name).toBe('desktop');
  });

  it('no files: nothing found, and the files searched are named', async () => {
    const got = await findCredentials(ref, { HOME: home, XDG_RUNTIME_DIR: join(home, 'none') });
    expect(got.credentials).toBeUndefined();
    expect(got.searched).toHaveLength(3);
  });

  it('a broken file, a missing REGISTRY_AUTH_FILE or a bad auth value is an error that names the file', async () => {
    const broken = await write(join(home, 'broken.json'), '{"auths": ');
    await expect(findCredentials(ref, { HOME: home, REGISTRY_AUTH_FILE: broken })).rejects.toThrow(
      new RegExp(`auth file ${broken} is not valid JSON`),
    );
    const missing = join(home, 'missing.json');
    const e = await findCredentials(ref, { HOME: home, REGISTRY_AUTH_FILE: missing }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as Error).message).toContain(missing);
    const bad = await write(join(home, 'bad.json'), {
      auths: { 'registry.example:5000': { auth: b64('nocolon') } },
    });
    await expect(findCredentials(ref, { HOME: home, REGISTRY_AUTH_FILE: bad })).rejects.toThrow(
      /not base64 of USER:PASSWORD/,
    );
  });
});
