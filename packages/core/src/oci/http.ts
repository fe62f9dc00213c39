/**
 * HTTP to one registry, through undici. Plain HTTP only where Docker allows it without being told:
 * loopback registries (127.0.0.0/8, ::1, localhost), which are tried over HTTPS first and over
 * HTTP when they do not speak TLS. Everything else is HTTPS with verified certificates (the
 * system's roots, plus `caFile`); `tlsVerify: false` is podman's `--tls-verify=false`: HTTPS
 * without certificate checks, or plain HTTP when the registry does not speak TLS.
 *
 * undici is loaded on first use: `defrost restore DIR` (the bundle's hot path) never pays for it.
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import * as tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { RegistryError } from './errors.js';
import { type ImageReference, isLoopbackHost } from './reference.js';

export interface TransportOptions {
  /** PEM file of CA certificates to trust for this registry, besides the system's. */
  readonly caFile?: string;
  /** false: accept any certificate, and plain HTTP when the registry does not speak TLS. */
  readonly tlsVerify?: boolean;
  readonly signal?: AbortSignal;
}

export type Headers = Record<string, string | string[] | undefined>;

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Dispatcher.ResponseData['body'];
  /** The URL that answered (after redirects). */
  readonly url: URL;
}

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly headers?: Record<string, string>;
  /** A fresh stream each call (so the request can be sent again after a new token), or bytes. */
  readonly body?: Buffer | (() => Readable);
}

const NOT_TLS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_|ALTNAME|ERR_TLS_/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
/** Registries log it, and some rate-limit anonymous clients by it. */
const USER_AGENT = `defrost (node ${process.version})`;

let undici: Promise<typeof import('undici')> | undefined;

function loadUndici(): Promise<typeof import('undici')> {
  undici ??= import('undici');
  return undici;
}

/** The CA list for `caFile`: the default roots (NODE_EXTRA_CA_CERTS included) plus the file. */
async function caList(caFile: string, registry: string): Promise<string[]> {
  let pem: string;
  try {
    pem = await readFile(caFile, 'utf8');
  } catch (e) {
    throw new RegistryError(
      'ca-file-unreadable',
      registry,
      `cannot read the CA file ${caFile}: ${(e as Error).message}`,
      {
        hint: 'pass a PEM file with the certificate of the CA that signed the registry certificate',
        cause: e,
      },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RegistryError('ca-file-invalid', registry, `the CA file ${caFile} holds no PEM certificate`, {
      hint: 'pass a PEM file (-----BEGIN CERTIFICATE-----), e.g. the ca.crt the registry certificate was made with',
    });
  }
  const getDefaults = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  return [...(getDefaults ? getDefaults('default') : tls.rootCertificates), pem];
}

export class Transport {
  /** `https://host:port` or `http://host:port`, once connect() found which one answers. */
  private origin: string | undefined;

  private constructor(
    readonly ref: ImageReference,
    private readonly dispatcher: Dispatcher,
    private readonly o: TransportOptions,
  ) {}

  static async open(ref: ImageReference, o: TransportOptions = {}): Promise<Transport> {
    const { Agent } = await loadUndici();
    const connect: tls.ConnectionOptions = {};
    if (o.tlsVerify === false) connect.rejectUnauthorized = false;
    else if (o.caFile !== undefined) connect.ca = await caList(o.caFile, ref.registry);
    return new Transport(ref, new Agent({ connect, connectTimeout: 15_000 }), o);
  }

  private get plainHttpAllowed(): boolean {
    return isLoopbackHost(this.ref.hostname) || this.o.tlsVerify === false;
  }

  /** `GET /v2/` over HTTPS, then (where allowed) over HTTP if the registry does not speak TLS. */
  async connect(headers: Record<string, string> = {}): Promise<HttpResponse> {
    const schemes = this.plainHttpAllowed ? ['https', 'http'] : ['https'];
    for (const [i, scheme] of schemes.entries()) {
      const url = new URL(`${scheme}://${this.ref.endpoint}/v2/`);
      try {
        const response = await this.send(url, { method: 'GET', headers });
        this.origin = url.origin;
        return response;
      } catch (e) {
        if (i + 1 < schemes.length && e instanceof RegistryError && e.code === 'registry-not-tls') continue;
        throw e;
      }
    }
    throw new Error('unreachable');
  }

  /** A path of the registry API (`/v2/...`) or an absolute URL (an upload Location). */
  url(pathOrUrl: string): URL {
    if (!this.origin) throw new Error('Transport.connect() must come first');
    return new URL(pathOrUrl, this.origin);
  }

  /** One request; GET and HEAD follow redirects (blob downloads often go to a CDN). */
  async request(pathOrUrl: string, r: HttpRequest): Promise<HttpResponse> {
    let url = this.url(pathOrUrl);
    let headers = r.headers ?? {};
    for (let hop = 0; ; hop++) {
      const response = await this.send(url, { ...r, headers });
      const location = response.headers.location;
      if (
        !REDIRECTS.has(response.status) ||
        typeof location !== 'string' ||
        (r.method !== 'GET' && r.method !== 'HEAD')
      ) {
        return response;
      }
      await response.body.dump();
      if (hop === MAX_REDIRECTS) {
        throw new RegistryError(
          'registry-redirects',
          this.ref.registry,
          `more than ${MAX_REDIRECTS} redirects for ${url.pathname}`,
        );
      }
      const next = new URL(location, url);
      this.checkScheme(next);
      // Credentials for the registry are not for the CDN it sends us to.
      if (next.origin !== url.origin) headers = withoutAuthorization(headers);
      url = next;
    }
  }

  /** Plain HTTP only where connect() would use it: a redirect cannot downgrade a registry. */
  checkScheme(url: URL): void {
    if (url.protocol === 'https:') return;
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'http:' && (isLoopbackHost(host) || this.o.tlsVerify === false)) return;
    throw new RegistryError(
      'registry-insecure-url',
      this.ref.registry,
      `refusing to follow ${url.origin}: plain HTTP is only used for loopback registries`,
      {
        hint: 'if you trust the network to that host, pass --tls-verify=false',
      },
    );
  }

  private async send(url: URL, r: HttpRequest): Promise<HttpResponse> {
    const { request } = await loadUndici();
    const body = typeof r.body === 'function' ? r.body() : r.body;
    try {
      const response = await request(url, {
        method: r.method,
        headers: { 'user-agent': USER_AGENT, ...r.headers },
        ...(body !== undefined ? { body } : {}),
        dispatcher: this.dispatcher,
        ...(this.o.signal ? { signal: this.o.signal } : {}),
      });
      return { status: response.statusCode, headers: response.headers as Headers, body: response.body, url };
    } catch (e) {
      if (typeof r.body === 'function') (body as Readable).destroy();
      throw this.networkError(url, e);
    }
  }

  private networkError(url: URL, e: unknown): unknown {
    if ((e as Error).name === 'AbortError' || this.o.signal?.aborted) return e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const where = `${url.host}`;
    const registry = this.ref.registry;
    if (NOT_TLS.has(code)) {
      return new RegistryError('registry-not-tls', registry, `${where} does not speak HTTPS`, {
        hint: 'plain HTTP is only used for loopback registries; pass --tls-verify=false to allow it for this one',
        cause: e,
      });
    }
    if (CERTIFICATE.test(code)) {
      return new RegistryError(
        'registry-certificate',
        registry,
        `the TLS certificate of ${where} is not trusted (${code}: ${(e as Error).message})`,
        {
          hint: "pass the CA that signed the registry's certificate with --ca-file FILE (or --tls-verify=false to skip the check)",
          cause: e,
        },
      );
    }
    const reason =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'the host name does not resolve'
          : code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT'
            ? 'the connection timed out'
            : `${(e as Error).message}${code ? ` (${code})` : ''}`;
    return new RegistryError('registry-unreachable', registry, `cannot reach ${where}: ${reason}`, {
      hint: 'check the registry address and port in REF, and that the registry is running',
      cause: e,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => undefined);
  }
}

function withoutAuthorization(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
}

/** A response header as one string (the first when repeated). */
export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
