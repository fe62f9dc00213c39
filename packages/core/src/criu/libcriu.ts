import { createRequire } from 'node:module';
import { CriuUnavailableError } from '../errors.js';
import { type CriuOptions, type CriuSetterCall, criuSetterCalls } from './options.js';
import {
  type CriuVersion,
  compareVersions,
  criuRequirementMessage,
  decodeLibcriuVersion,
  INSTALL_HINT,
  MIN_CRIU,
} from './version.js';

type KoffiModule = typeof import('koffi');
type CFunction = (...args: unknown[]) => unknown;

/** The C prototypes of the libcriu functions defrost calls (criu/lib/c/criu.h). */
const PROTOTYPES = {
  criu_init_opts: 'int criu_init_opts()',
  criu_free_opts: 'void criu_free_opts()',
  criu_get_version: 'int criu_get_version()',
  criu_set_service_address: 'void criu_set_service_address(const char *path)',
  criu_set_images_dir_fd: 'void criu_set_images_dir_fd(int fd)',
  criu_set_log_file: 'int criu_set_log_file(const char *log_file)',
  criu_set_log_level: 'void criu_set_log_level(int log_level)',
  criu_set_leave_running: 'void criu_set_leave_running(bool leave_running)',
  criu_set_shell_job: 'void criu_set_shell_job(bool shell_job)',
  criu_set_tcp_established: 'void criu_set_tcp_established(bool tcp_established)',
  criu_set_tcp_close: 'void criu_set_tcp_close(bool tcp_close)',
  criu_set_ext_unix_sk: 'void criu_set_ext_unix_sk(bool ext_unix_sk)',
  criu_set_file_locks: 'void criu_set_file_locks(bool file_locks)',
  criu_set_network_lock: 'int criu_set_network_lock(int method)',
  criu_set_ghost_limit: 'void criu_set_ghost_limit(unsigned int limit)',
  criu_add_inherit_fd: 'int criu_add_inherit_fd(int fd, const char *key)',
  criu_dump: 'int criu_dump()',
} as const;

type LibcriuFunctionName = keyof typeof PROTOTYPES;

export interface Libcriu {
  readonly version: CriuVersion;
  /** Resets libcriu's options and applies these ones (criu_init_opts first, always). */
  configure(options: CriuOptions): void;
  /** 0: dumped and still running; 1: this is the restored process; < 0: failure (see the log). */
  dump(): number;
}

let loaded: Libcriu | undefined;

/** The library name; overridable so tests can prove a missing library gives a typed error. */
export const LIBCRIU_SONAME = 'libcriu.so.2';

/**
 * Loads libcriu lazily, once per process. koffi is imported here and not at module load so that
 * importing @defrost/core never requires CRIU (normal, non-checkpoint runs must not depend on it).
 */
export function loadLibcriu(soname: string = LIBCRIU_SONAME): Libcriu {
  if (loaded && soname === LIBCRIU_SONAME) return loaded;
  const require = createRequire(import.meta.url);
  let koffi: KoffiModule;
  let fns: Record<LibcriuFunctionName, CFunction>;
  try {
    koffi = require('koffi') as KoffiModule;
    const lib = koffi.load(soname);
    fns = Object.fromEntries(
      Object.entries(PROTOTYPES).map(([name, proto]) => [name, lib.func(proto) as CFunction]),
    ) as Record<LibcriuFunctionName, CFunction>;
  } catch (cause) {
    throw new CriuUnavailableError(
      'libcriu-missing',
      `cannot load ${soname} (the C library of CRIU): ${(cause as Error).message}`,
      { hint: INSTALL_HINT, cause },
    );
  }
  // criu_get_version() before criu_init_opts() dereferences unset options and crashes the process.
  if ((fns.criu_init_opts() as number) < 0) {
    throw new CriuUnavailableError('libcriu-init', `${soname}: criu_init_opts() failed (out of memory?)`);
  }
  const code = fns.criu_get_version() as number;
  // libcriu asks the criu binary for its version: a negative code means it could not run it.
  if (code < 0) {
    throw new CriuUnavailableError(
      'criu-missing',
      `${soname} could not run criu to ask its version (error ${code}): ${criuRequirementMessage(undefined)}`,
      { hint: INSTALL_HINT },
    );
  }
  const version = decodeLibcriuVersion(code);
  if (compareVersions(version, MIN_CRIU) < 0) {
    throw new CriuUnavailableError('criu-too-old', `${criuRequirementMessage(version)} (${soname})`, {
      hint: INSTALL_HINT,
    });
  }
  const callSetter = ([name, ...args]: CriuSetterCall): void => {
    const fn = fns[name as LibcriuFunctionName];
    if (!fn) throw new Error(`libcriu binding has no setter ${name}`);
    const result = fn(...args);
    if (typeof result === 'number' && result < 0) {
      throw new CriuUnavailableError('libcriu-option', `${name}(${args.join(', ')}) failed with ${result}`);
    }
  };
  const binding: Libcriu = {
    version,
    configure(options) {
      fns.criu_free_opts();
      if ((fns.criu_init_opts() as number) < 0)
        throw new CriuUnavailableError('libcriu-init', 'criu_init_opts() failed');
      for (const call of criuSetterCalls(options)) callSetter(call);
    },
    dump: () => fns.criu_dump() as number,
  };
  if (soname === LIBCRIU_SONAME) loaded = binding;
  return binding;
}
