/**
 * Registry credentials, found where podman, skopeo and docker keep them (containers-auth.json(5)):
 * REGISTRY_AUTH_FILE, else podman's ${XDG_RUNTIME_DIR}/containers/auth.json; then
 * ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json; then $DOCKER_CONFIG/config.json or
 * ~/.docker/config.json. The first file with an entry for the registry wins; an entry may name a
 * repository namespace (`registry.example/team`), the most specific one wins.
 *
 * Credential helpers (`credHelpers`, `credsStore`) are not run: running a program named in a file
 * is a trust decision of its own. When one is all there is, the caller says so in its error.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from './errors.js';
import type { ImageReference } from './reference.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** The file they came from, for messages. */
  readonly file: string;
}

export interface CredentialLookup {
  readonly credentials: Credentials | undefined;
  /** A credential helper some file names for this registry (defrost does not run helpers). */
  readonly helper: { readonly name: string; readonly file: string } | undefined;
  /** An entry with only an OAuth identity token, which defrost does not exchange. */
  readonly identityTokenFile: string | undefined;
  /** Every file looked at, in order (present or not). */
  readonly searched: readonly string[];
}

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
}

/** The files to search, in order, for this environment. */
export function authFileCandidates(env: NodeJS.ProcessEnv, uid = process.geteuid?.() ?? 0): string[] {
  const home = env.HOME || homedir();
  const primary = env.REGISTRY_AUTH_FILE
    ? env.REGISTRY_AUTH_FILE
    : env.XDG_RUNTIME_DIR
      ? join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json')
      : join('/run/containers', String(uid), 'auth.json');
  const config = env.XDG_CONFIG_HOME || join(home, '.config');
  const docker = env.DOCKER_CONFIG || join(home, '.docker');
  return [...new Set([primary, join(config, 'containers', 'auth.json'), join(docker, 'config.json')])];
}

const HUB_KEYS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** `https://index.docker.io/v1/` and `docker.io` are one key; so are `http://h:5000` and `h:5000`. */
export function normalizeAuthKey(key: string): string {
  let k = key.trim().replace(/^[a-z]+:\/\//i, '');
  k = k.replace(/\/v[12]\/?$/, '').replace(/\/+$/, '');
  const slash = k.indexOf('/');
  const host = (slash === -1 ? k : k.slice(0, slash)).toLowerCase();
  const rest = slash === -1 ? '' : k.slice(slash);
  return `${HUB_KEYS.has(host) ? 'docker.io' : host}${rest}`;
}

/** Keys that match this reference, most specific first: `reg/team/blog`, `reg/team`, `reg`. */
export function authKeysFor(ref: ImageReference): string[] {
  const registry = normalizeAuthKey(ref.registry);
  const parts = ref.repository.split('/');
  const keys: string[] = [];
  for (let n = parts.length; n > 0; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`);
  keys.push(registry);
  return keys;
}

function decodeEntry(entry: AuthEntry, file: string, key: string): Omit<Credentials, 'file'> | undefined {
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon <= 0) {
      throw new RegistryError(
        'auth-file-invalid',
        key,
        `the "auth" of ${key} in ${file} is not base64 of USER:PASSWORD`,
        {
          hint: `log in again (\`podman login ${key}\`), or write auth as $(printf %s USER:PASSWORD | base64 -w0)`,
        },
      );
    }
    return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string' && entry.username !== '') {
    return { username: entry.username, password: entry.password };
  }
  return undefined;
}

async function readAuthFile(file: string, explicit: boolean): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && !explicit) return undefined;
    throw new RegistryError(
      'auth-file-unreadable',
      'credentials',
      `cannot read the auth file ${file}: ${(e as Error).message}`,
      {
        hint: explicit
          ? 'point REGISTRY_AUTH_FILE at an existing auth.json, or unset it'
          : `fix the permissions of ${file}, or move it away`,
        cause: e,
      },
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw new Error('not a JSON object');
    return parsed as AuthFile;
  } catch (e) {
    throw new RegistryError(
      'auth-file-invalid',
      'credentials',
      `the auth file ${file} is not valid JSON: ${(e as Error).message}`,
      {
        hint: `log in again to rewrite it (\`podman login REGISTRY\`), or fix ${file}`,
        cause: e,
      },
    );
  }
}

function helperFor(auth: AuthFile, keys: readonly string[]): string | undefined {
  for (const [key, name] of Object.entries(auth.credHelpers ?? {})) {
    if (typeof name === 'string' && keys.includes(normalizeAuthKey(key))) return name;
  }
  return typeof auth.credsStore === 'string' && auth.credsStore !== '' ? auth.credsStore : undefined;
}

export async function findCredentials(
  ref: ImageReference,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CredentialLookup> {
  const keys = authKeysFor(ref);
  const searched = authFileCandidates(env);
  let helper: CredentialLookup['helper'];
  let identityTokenFile: string | undefined;
  for (const [index, file] of searched.entries()) {
    const auth = await readAuthFile(file, index === 0 && Boolean(env.REGISTRY_AUTH_FILE));
    if (!auth) continue;
    const entries = new Map(Object.entries(auth.auths ?? {}).map(([k, v]) => [normalizeAuthKey(k), v]));
    for (const key of keys) {
      const entry = entries.get(key);
      if (!entry || typeof entry !== 'object') continue;
      const found = decodeEntry(entry, file, key);
      if (found) return { credentials: { ...found, file }, helper, identityTokenFile, searched };
      if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') identityTokenFile ??= file;
    }
    const name = helperFor(auth, keys);
    if (name && !helper) helper = { name, file };
  }
  return { credentials: undefined, helper, identityTokenFile, searched };
}
