/**
 * Registry references: `registry.example:5000/team/blog:1`, `…/blog@sha256:…`. The grammar is the
 * one Docker and the OCI distribution spec use. Unlike Docker, the registry must be named: a bare
 * `team/blog` could as well be a mistyped directory (`defrost restore` takes both), and guessing
 * Docker Hub for it would send a request, credentials included, where the user did not mean to.
 */
import { isIP } from 'node:net';
import { ReferenceSyntaxError } from './errors.js';

export interface ImageReference {
  /** The registry as written, host lowercased: `registry.example:5000`, `[::1]:5000`, `docker.io`. */
  readonly registry: string;
  /** host[:port] of the HTTP API (Docker Hub's is registry-1.docker.io). */
  readonly endpoint: string;
  /** The host alone, without port or brackets: for the loopback check and TLS. */
  readonly hostname: string;
  /** `team/blog` (Docker Hub's one-part names get `library/`). */
  readonly repository: string;
  readonly tag: string | undefined;
  /** `sha256:<64 hex>`; when given it wins over the tag, as in Docker. */
  readonly digest: string | undefined;
}

const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*|\\[[0-9a-fA-F:.]+\\])(?::(\\d{1,5}))?$`);
const PATH_PART = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Whether the first part of a name is a registry (as Docker decides: a dot, a port, localhost). */
function isRegistryPart(part: string): boolean {
  return part.includes('.') || part.includes(':') || part.startsWith('[') || part === 'localhost';
}

/**
 * Whether `text` is written as a registry reference (registry named), without checking the rest.
 * `defrost restore` uses it to tell a REF from a missing directory; paths starting with / or .
 * are never references.
 */
export function looksLikeReference(text: string): boolean {
  if (text.startsWith('/') || text.startsWith('.') || !text.includes('/')) return false;
  return isRegistryPart(text.slice(0, text.indexOf('/')));
}

function splitDigest(text: string): [string, string | undefined] {
  const at = text.lastIndexOf('@');
  if (at === -1) return [text, undefined];
  const digest = text.slice(at + 1);
  if (!SHA256_DIGEST.test(digest)) {
    throw new ReferenceSyntaxError(
      text,
      `the digest after @ must be sha256: and 64 lowercase hex digits (got ${JSON.stringify(digest)})`,
    );
  }
  return [text.slice(0, at), digest];
}

function splitTag(text: string, original: string): [string, string | undefined] {
  const slash = text.lastIndexOf('/');
  const colon = text.lastIndexOf(':');
  if (colon <= slash) return [text, undefined];
  const tag = text.slice(colon + 1);
  if (!TAG.test(tag)) {
    throw new ReferenceSyntaxError(
      original,
      `the tag ${JSON.stringify(tag)} must be 1-128 letters, digits, _, . or - (not starting with . or -)`,
    );
  }
  return [text.slice(0, colon), tag];
}

export function parseReference(text: string): ImageReference {
  if (text.trim() !== text || text === '') throw new ReferenceSyntaxError(text, 'it is empty or has spaces');
  const [withoutDigest, digest] = splitDigest(text);
  const [name, tag] = splitTag(withoutDigest, text);
  const slash = name.indexOf('/');
  if (slash === -1 || !isRegistryPart(name.slice(0, slash))) {
    throw new ReferenceSyntaxError(
      text,
      'it does not name a registry',
      `put the registry first, e.g. registry.example:5000/${name} or docker.io/${name.includes('/') ? name : `library/${name}`}`,
    );
  }
  const domain = name.slice(0, slash);
  const match = DOMAIN.exec(domain);
  const port = match?.[1];
  if (!match || (port !== undefined && Number(port) > 65535)) {
    throw new ReferenceSyntaxError(
      text,
      `${JSON.stringify(domain)} is not a host name with an optional :PORT`,
    );
  }
  const hostPart = port === undefined ? domain : domain.slice(0, domain.length - port.length - 1);
  const hostname = hostPart.startsWith('[') ? hostPart.slice(1, -1).toLowerCase() : hostPart.toLowerCase();
  if (hostPart.startsWith('[') && isIP(hostname) !== 6) {
    throw new ReferenceSyntaxError(text, `${hostPart} is not an IPv6 address`);
  }
  const registry = domain.toLowerCase();
  let repository = name.slice(slash + 1);
  for (const part of repository.split('/')) {
    if (!PATH_PART.test(part)) {
      throw new ReferenceSyntaxError(
        text,
        `the name part ${JSON.stringify(part)} must be lowercase letters and digits, separated by . _ __ or -`,
      );
    }
  }
  const hub = DOCKER_HUB.has(registry);
  if (hub && !repository.includes('/')) repository = `library/${repository}`;
  if (registry.length + 1 + repository.length > 255) {
    throw new ReferenceSyntaxError(text, 'the registry and name are longer than 255 characters');
  }
  const endpoint = hub ? 'registry-1.docker.io' : registry;
  return { registry, endpoint, hostname: hub ? endpoint : hostname, repository, tag, digest };
}

/** What to ask the registry for: the digest if given, else the tag, else `latest`. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** `registry/name:tag`, `registry/name@sha256:…` (the digest given wins over the tag). */
export function formatReference(ref: ImageReference, digest = ref.digest): string {
  const base = `${ref.registry}/${ref.repository}`;
  return digest !== undefined ? `${base}@${digest}` : `${base}:${ref.tag ?? 'latest'}`;
}

/**
 * Loopback hosts: the only ones spoken to over plain HTTP without being told (as Docker does):
 * `localhost`, 127.0.0.0/8 and ::1 (also as an IPv4-mapped address).
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./.test(host) || /^(0+:){7}0*1$/.test(host);
  return false;
}
