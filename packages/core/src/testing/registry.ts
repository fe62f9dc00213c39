/**
 * A real OCI registry for tests: Debian's docker-registry (the reference distribution registry,
 * installed by scripts/install-test-tools.sh), with its own storage directory, on a free port,
 * optionally with TLS and htpasswd (bcrypt) basic auth. Stopped by its PID.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { stopPid } from '../process/pid.js';
import { type Spawned, spawnTracked } from './processes.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistryOptions {
  /** A directory of the test's own: config and storage go there. */
  readonly dir: string;
  /** Listen address (default 127.0.0.1); a port is picked unless given. */
  readonly address?: string;
  readonly port?: number;
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** An htpasswd file (bcrypt entries): the registry then asks for basic auth. */
  readonly htpasswdFile?: string;
  /** Run the registry through this command prefix (e.g. `ip netns exec B`). */
  readonly launcher?: readonly string[];
}

export interface TestRegistry {
  /** host:port, as a REF names it. */
  readonly host: string;
  readonly storage: string;
  readonly process: Spawned;
  /** Where the filesystem driver keeps a blob (manifests are blobs too). */
  blobFile(digest: string): string;
  /** The access log: one line per request (`"GET /v2/... HTTP/1.1" 200 ...`). */
  requests(): string[];
  stop(): Promise<void>;
}

export async function freePort(address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, address, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function config(o: TestRegistryOptions, storage: string, addr: string): string {
  const lines = [
    'version: 0.1',
    'log: { level: warn, accesslog: { disabled: false } }',
    `storage: { filesystem: { rootdirectory: ${JSON.stringify(storage)} }, delete: { enabled: true } }`,
    `http:`,
    `  addr: ${JSON.stringify(addr)}`,
    `  secret: ${JSON.stringify(`test-${process.pid}-${Date.now()}`)}`,
  ];
  if (o.tls) {
    lines.push(
      `  tls: { certificate: ${JSON.stringify(o.tls.certFile)}, key: ${JSON.stringify(o.tls.keyFile)} }`,
    );
  }
  if (o.htpasswdFile) {
    lines.push(`auth: { htpasswd: { realm: defrost-test, path: ${JSON.stringify(o.htpasswdFile)} } }`);
  }
  return `${lines.join('\n')}\n`;
}

async function waitUntilServing(url: string, registry: Spawned, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    for (;;) {
      const answered = await request(url, { dispatcher: agent, reset: true })
        .then(async (r) => {
          await r.body.dump();
          return r.statusCode === 200 || r.statusCode === 401;
        })
        .catch(() => false);
      if (answered) return;
      const exited = await Promise.race([
        registry.exited.then(() => true),
        new Promise((r) => setTimeout(r, 50, false)),
      ]);
      if (exited) throw new Error(`docker-registry exited before serving:\n${registry.stderr()}`);
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer ${url} in ${timeoutMs} ms:\n${registry.stderr()}`);
    }
  } finally {
    await agent.close();
  }
}

export async function startRegistry(o: TestRegistryOptions): Promise<TestRegistry> {
  const address = o.address ?? '127.0.0.1';
  const port = o.port ?? (await freePort(address));
  const storage = join(o.dir, 'storage');
  await mkdir(storage, { recursive: true });
  const host = address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
  const configFile = join(o.dir, 'config.yml');
  await writeFile(configFile, config(o, storage, host));
  const [command, ...prefix] = [...(o.launcher ?? []), REGISTRY_BINARY];
  const registry = await spawnTracked(command!, [...prefix, 'serve', configFile], {}, { launch: 'plain' });
  try {
    await waitUntilServing(`${o.tls ? 'https' : 'http'}://${host}/v2/`, registry, 15_000);
  } catch (e) {
    await stopPid(registry.pid);
    throw e;
  }
  return {
    host,
    storage,
    process: registry,
    blobFile: (digest) => {
      const hex = digest.replace(/^sha256:/, '');
      return join(storage, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
    requests: () => registry.lines.filter((l) => /"[A-Z]+ \/v2\//.test(l)),
    stop: async () => {
      await stopPid(registry.pid);
    },
  };
}

/**
 * A throwaway CA and a server certificate for `hosts` (IP addresses or names) signed by it, made
 * with openssl: for registries spoken to over verified TLS.
 */
export function makeTestCertificates(
  dir: string,
  hosts: readonly string[],
): { caFile: string; certFile: string; keyFile: string } {
  const caKey = join(dir, 'ca.key');
  const caFile = join(dir, 'ca.crt');
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=defrost test CA',
    '-keyout',
    caKey,
    '-out',
    caFile,
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${hosts[0]}`,
    '-keyout',
    keyFile,
    '-out',
    csr,
  );
  writeFileSync(ext, `subjectAltName=${san}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    caFile,
    '-CAkey',
    caKey,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    ext,
    '-out',
    certFile,
  );
  return { caFile, certFile, keyFile };
}
