/**
 * The distribution API calls defrost makes, with authentication: the Basic scheme, or the Bearer
 * token flow (a 401 names a token service in WWW-Authenticate; a token for `repository:NAME:pull`
 * or `pull,push` is fetched with the credentials of the auth file, or anonymously, and sent on
 * every request; an expired token is replaced once per request).
 */
import type { Readable } from 'node:stream';
import { type CredentialLookup, type Credentials, findCredentials } from './auth-file.js';
import { type Challenge, parseChallenges } from './challenge.js';
import { RegistryError } from './errors.js';
import { type HttpRequest, type HttpResponse, header, Transport, type TransportOptions } from './http.js';
import type { ImageReference } from './reference.js';

export type Access = 'pull' | 'push';

export interface ClientOptions extends TransportOptions {
  /** Where auth files are looked up (default: process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

const MAX_ERROR_BODY = 64 * 1024;

/** Reads at most `limit` bytes of a response body as text, then drops the rest. */
export async function readLimited(body: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw Object.assign(new Error(`more than ${limit} bytes`), { code: 'BODY_TOO_LARGE' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `CODE: message` of a registry's JSON error body ({"errors":[{code,message,detail}]}), if any. */
async function errorText(response: HttpResponse): Promise<string> {
  const text = (await readLimited(response.body, MAX_ERROR_BODY).catch(() => Buffer.alloc(0))).toString(
    'utf8',
  );
  try {
    const errors = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
    const shown = errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    if (shown.length > 0) return shown.join('; ');
  } catch {
    // not JSON: show the start of the text
  }
  return text.trim().replace(/\s+/g, ' ').slice(0, 200);
}

export class RegistryClient {
  private authorization: string | undefined;
  private lookup: CredentialLookup | undefined;

  private constructor(
    readonly ref: ImageReference,
    private readonly access: Access,
    private readonly transport: Transport,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Connects (`GET /v2/`), authenticating if the registry asks for it. */
  static async connect(ref: ImageReference, access: Access, o: ClientOptions = {}): Promise<RegistryClient> {
    const transport = await Transport.open(ref, o);
    const client = new RegistryClient(ref, access, transport, o.env ?? process.env);
    try {
      const ping = await transport.connect();
      await ping.body.dump();
      if (ping.status === 401) await client.authenticate(ping);
      else if (ping.status !== 200) {
        throw new RegistryError(
          'registry-not-oci',
          ref.registry,
          `GET /v2/ answered ${ping.status}: not an OCI distribution registry`,
          {
            hint: 'check the registry address and port in REF',
            status: ping.status,
          },
        );
      }
      return client;
    } catch (e) {
      await transport.close();
      throw e;
    }
  }

  get repositoryPath(): string {
    return `/v2/${this.ref.repository}`;
  }

  /** A request with the current authorization; on 401 it authenticates again and retries once. */
  async call(pathOrUrl: string, r: HttpRequest, ok: readonly number[], what: string): Promise<HttpResponse> {
    let response = await this.transport.request(pathOrUrl, this.withAuthorization(r));
    if (response.status === 401) {
      await response.body.dump();
      await this.authenticate(response);
      response = await this.transport.request(pathOrUrl, this.withAuthorization(r));
    }
    if (ok.includes(response.status)) return response;
    throw await this.failure(response, what);
  }

  /** An absolute URL from a Location header, checked like any URL defrost sends data to. */
  resolveLocation(location: string, base: URL): string {
    const url = new URL(location, base);
    this.transport.checkScheme(url);
    return url.href;
  }

  private withAuthorization(r: HttpRequest): HttpRequest {
    if (!this.authorization) return r;
    return { ...r, headers: { ...r.headers, authorization: this.authorization } };
  }

  private async credentials(): Promise<CredentialLookup> {
    this.lookup ??= await findCredentials(this.ref, this.env);
    return this.lookup;
  }

  private async authenticate(response: HttpResponse): Promise<void> {
    const challenges = parseChallenges(response.headers['www-authenticate']);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const { credentials } = await this.credentials();
    if (bearer) {
      this.authorization = `Bearer ${await this.token(bearer, credentials)}`;
    } else if (challenges.some((c) => c.scheme === 'basic')) {
      if (!credentials || this.authorization?.startsWith('Basic ')) throw await this.authFailure(credentials);
      const pair = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      this.authorization = `Basic ${pair}`;
    } else {
      const schemes = challenges.map((c) => c.scheme).join(', ') || 'none given';
      throw new RegistryError(
        'registry-auth-unsupported',
        this.ref.registry,
        `asks for authentication that defrost does not speak (${schemes})`,
        {
          hint: 'defrost speaks Basic and Bearer token authentication, as the distribution spec and docker do',
        },
      );
    }
  }

  /** The token flow of the distribution spec (GET realm?service&scope, optional Basic auth). */
  private async token(challenge: Challenge, credentials: Credentials | undefined): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) {
      throw new RegistryError(
        'registry-auth-unsupported',
        this.ref.registry,
        'sent a Bearer challenge without a realm (token service)',
      );
    }
    const url = new URL(realm);
    this.transport.checkScheme(url);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const ours = `repository:${this.ref.repository}:${this.access === 'push' ? 'pull,push' : 'pull'}`;
    url.searchParams.append('scope', ours);
    const asked = challenge.params.scope;
    if (asked && asked !== ours) url.searchParams.append('scope', asked);
    const headers: Record<string, string> = {};
    if (credentials) {
      headers.authorization = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
    }
    const response = await this.transport.request(url.href, { method: 'GET', headers });
    if (response.status === 401 || response.status === 403) {
      await response.body.dump();
      throw await this.authFailure(credentials);
    }
    if (response.status !== 200) throw await this.failure(response, `getting a token from ${url.origin}`);
    const body = JSON.parse((await readLimited(response.body, 1024 * 1024)).toString('utf8')) as {
      token?: string;
      access_token?: string;
    };
    const token = body.token || body.access_token;
    if (!token) {
      throw new RegistryError(
        'registry-auth-failed',
        this.ref.registry,
        `the token service ${url.origin} answered without a token`,
      );
    }
    return token;
  }

  private async authFailure(credentials: Credentials | undefined): Promise<RegistryError> {
    const { helper, identityTokenFile, searched } = await this.credentials();
    const registry = this.ref.registry;
    if (credentials) {
      return new RegistryError(
        'registry-auth-refused',
        registry,
        `refused the credentials of "${credentials.username}" (from ${credentials.file}) for ${this.ref.repository}`,
        {
          hint: `log in again (\`podman login ${registry}\` or \`docker login ${registry}\`), or fix the entry for ${registry} in ${credentials.file}`,
          status: 401,
        },
      );
    }
    const why = helper
      ? `; ${helper.file} names the credential helper docker-credential-${helper.name}, which defrost does not run`
      : identityTokenFile
        ? `; ${identityTokenFile} holds only an identity token (OAuth), which defrost does not exchange`
        : '';
    return new RegistryError(
      'registry-auth-required',
      registry,
      `needs credentials for ${this.ref.repository}, and none were found${why}`,
      {
        hint: `write them to an auth file: \`podman login --authfile FILE ${registry}\` then REGISTRY_AUTH_FILE=FILE (defrost looked in ${searched.join(', ')})`,
        status: 401,
      },
    );
  }

  /** The error for an unexpected status. */
  async failure(response: HttpResponse, what: string): Promise<RegistryError> {
    const status = response.status;
    const text = await errorText(response);
    const registry = this.ref.registry;
    const detail = text ? `: ${text}` : '';
    if (status === 401) return this.authFailure((await this.credentials()).credentials);
    if (status === 403) {
      return new RegistryError('registry-denied', registry, `denied ${what} (403)${detail}`, {
        hint: `the account in the auth file may not ${this.access} ${this.ref.repository}; check its permissions on the registry`,
        status,
      });
    }
    if (status === 413) {
      return new RegistryError(
        'registry-too-large',
        registry,
        `refused ${what}: the request is too large (413)${detail}`,
        { status },
      );
    }
    return new RegistryError('registry-error', registry, `${what} failed with HTTP ${status}${detail}`, {
      hint: status >= 500 ? 'the registry has a problem; try again later or ask its operator' : undefined,
      status,
    });
  }

  location(response: HttpResponse, what: string): string {
    const location = header(response.headers, 'location');
    if (!location) {
      throw new RegistryError(
        'registry-error',
        this.ref.registry,
        `${what}: the registry answered without a Location`,
      );
    }
    return this.resolveLocation(location, response.url);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
