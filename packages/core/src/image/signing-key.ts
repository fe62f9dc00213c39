import { lstat, open } from 'node:fs/promises';
import { DefrostError } from '../errors.js';

/**
 * Signing keys are files of bytes: any file of MIN_KEY_BYTES or more, binary (`openssl rand 32 >
 * key`) or text, read the same way by every command, with nothing trimmed or decoded.
 *
 * A host can require signatures for every restore: when DEFROST_SIGNING_KEY_FILE names a key, or
 * when HOST_KEY_FILE exists, every restore on that host refuses an image that is not signed with
 * that key (a stripped signature included), whether or not the command line names a key; and
 * `defrost checkpoint` signs with it.
 */
export const MIN_KEY_BYTES = 32;
/** The host's key when DEFROST_SIGNING_KEY_FILE is unset; trusted only root-owned and private. */
export const HOST_KEY_FILE = '/etc/defrost/signing-key';
export const KEY_FILE_ENV = 'DEFROST_SIGNING_KEY_FILE';
const MAX_KEY_BYTES = 1 << 16;

export class SigningKeyError extends DefrostError {
  constructor(path: string, why: string, hint: string) {
    super('signing-key-file', `signing key ${path}: ${why}`, { hint });
  }
}

const MAKE_ONE =
  'make one with `openssl rand 32 > KEYFILE` (or `head -c 32 /dev/urandom > KEYFILE`), mode 0600';

/** The key's bytes; refuses a missing, unreadable, short or oversized file with what to do. */
export async function readSigningKeyFile(path: string): Promise<Buffer> {
  let key: Buffer;
  try {
    const file = await open(path, 'r');
    try {
      key = await file.readFile();
    } finally {
      await file.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new SigningKeyError(path, why, MAKE_ONE);
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new SigningKeyError(path, `${key.length} bytes; a key needs at least ${MIN_KEY_BYTES}`, MAKE_ONE);
  }
  if (key.length > MAX_KEY_BYTES) {
    throw new SigningKeyError(path, `${key.length} bytes: that is not a key file`, MAKE_ONE);
  }
  return key;
}

/** Where a host's required key comes from, when it has one. */
export interface HostSigningPolicy {
  readonly keyFile: string;
  readonly source: typeof KEY_FILE_ENV | typeof HOST_KEY_FILE;
}

/**
 * The host's signing policy: DEFROST_SIGNING_KEY_FILE when set, else HOST_KEY_FILE when it exists
 * (it must then be a regular file owned by root that nobody else can read or write: whoever could
 * write it could make this host accept their images).
 */
export async function hostSigningPolicy(
  env: NodeJS.ProcessEnv = process.env,
  hostKeyFile: string = HOST_KEY_FILE,
): Promise<HostSigningPolicy | undefined> {
  const fromEnv = env[KEY_FILE_ENV];
  if (fromEnv) return { keyFile: fromEnv, source: KEY_FILE_ENV };
  const st = await lstat(hostKeyFile).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile() || st.uid !== 0 || (st.mode & 0o077) !== 0) {
    throw new SigningKeyError(
      hostKeyFile,
      `must be a regular file owned by root with mode 0600 or 0400 (it is ${st.isFile() ? `owned by uid ${st.uid}, mode 0${(st.mode & 0o777).toString(8)}` : 'not a regular file'})`,
      `sudo chown root:root ${hostKeyFile} && sudo chmod 0600 ${hostKeyFile}`,
    );
  }
  return { keyFile: hostKeyFile, source: HOST_KEY_FILE };
}

/** The key a command uses: the one it was given, else the host's (then required), else none. */
export async function resolveSigningKey(
  keyFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ readonly key: Buffer; readonly keyFile: string; readonly required: boolean } | undefined> {
  if (keyFile !== undefined) return { key: await readSigningKeyFile(keyFile), keyFile, required: true };
  const policy = await hostSigningPolicy(env);
  if (!policy) return undefined;
  return { key: await readSigningKeyFile(policy.keyFile), keyFile: policy.keyFile, required: true };
}
