import { readFileSync } from 'node:fs';

/**
 * Starting a program so that libuv opens no io_uring ring. Since libuv 1.51 (Node 22 and later)
 * every event loop opens one, whatever UV_USE_IO_URING says, and CRIU cannot dump io_uring
 * (docs/criu-and-node.md, "io_uring"). A seccomp filter that makes io_uring_setup(2) fail with
 * ENOSYS makes libuv fall back to epoll. The filter is inherited by every thread and child and
 * CRIU restores it with the process, so a restored copy, a worker thread or a child process
 * behaves as the frozen process did.
 */

/** io_uring_setup(2) has this number in every ABI: syscalls added since Linux 5.1 share one table. */
export const IO_URING_SETUP = 425;
/** x86_64's x32 ABI sets this bit in the syscall number. */
const X32_SYSCALL_BIT = 0x4000_0000;
const ENOSYS = 38;

// Classic BPF and seccomp constants (linux/filter.h, linux/seccomp.h).
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JEQ_K = 0x15;
const BPF_RET_K = 0x06;
const SECCOMP_RET_ALLOW = 0x7fff_0000;
const SECCOMP_RET_ERRNO = 0x0005_0000;

interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

/**
 * The filter as `struct sock_filter[]` in host byte order (little-endian on x86_64 and arm64):
 * io_uring_setup, native or x32, fails with ENOSYS; every other call is allowed. It does not look
 * at the architecture because the number means io_uring_setup in each of them.
 */
export function ioUringFilterProgram(): Buffer {
  const program: BpfInstruction[] = [
    { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: 0 }, // seccomp_data.nr
    { code: BPF_JMP_JEQ_K, jt: 2, jf: 0, k: IO_URING_SETUP },
    { code: BPF_JMP_JEQ_K, jt: 1, jf: 0, k: (X32_SYSCALL_BIT | IO_URING_SETUP) >>> 0 },
    { code: BPF_RET_K, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
    { code: BPF_RET_K, jt: 0, jf: 0, k: (SECCOMP_RET_ERRNO | ENOSYS) >>> 0 },
  ];
  const bytes = Buffer.alloc(program.length * 8);
  program.forEach(({ code, jt, jf, k }, i) => {
    bytes.writeUInt16LE(code, i * 8);
    bytes.writeUInt8(jt, i * 8 + 2);
    bytes.writeUInt8(jf, i * 8 + 3);
    bytes.writeUInt32LE(k, i * 8 + 4);
  });
  return bytes;
}

/** prctl(2)'s syscall number: the one call that differs between the two architectures. */
const PRCTL_SYSCALL: Readonly<Record<string, number>> = { x64: 157, arm64: 167 };

/**
 * Installs the filter, then execs the command (execvp: a PATH lookup when it has no slash).
 * perl, not a Node helper: it is already required (the restore reaper), starts in ~2 ms instead
 * of ~40, and leaves the signal dispositions alone (Node would hand SIGPIPE and SIGXFSZ ignored
 * down to the command). prctl(PR_SET_NO_NEW_PRIVS) first when asked: the kernel demands it from
 * a caller without CAP_SYS_ADMIN. It uses no module (errno 2 is ENOENT), so a bare perl binary in a
 * container image is enough.
 */
const EXEC_UNDER_FILTER = `
my ($prctl, $no_new_privs, $hex, $program) = splice @ARGV, 0, 4;
my $filter = pack "H*", $hex;
my $fprog = pack "S x6 P", length($filter) / 8, $filter;
if ($no_new_privs) { syscall($prctl, 38, 1, 0, 0, 0) == 0 or die "defrost: prctl(PR_SET_NO_NEW_PRIVS) failed: $!\\n"; }
syscall($prctl, 22, 2, $fprog) == 0 or die "defrost: cannot install the seccomp filter that keeps io_uring out: $!\\n";
exec { $program } @ARGV;
print STDERR "defrost: cannot run $program: $!\\n";
exit($! + 0 == 2 ? 127 : 126);
`;

/** CAP_SYS_ADMIN in this process's effective set (/proc/self/status CapEff, bit 21). */
export function hasCapSysAdmin(status: string = readFileSync('/proc/self/status', 'utf8')): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex !== undefined && (BigInt(`0x${hex}`) & (1n << 21n)) !== 0n;
}

export interface FilteredCommand {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * The command line that runs `command` with io_uring_setup(2) failing (ENOSYS). `program` is the
 * file to execute (default: the command's first word, looked up on PATH); `command[0]` stays the
 * program's argv[0].
 */
export function withoutIoUring(
  command: readonly string[],
  o: { readonly arch?: string; readonly noNewPrivs?: boolean; readonly program?: string } = {},
): FilteredCommand {
  const arch = o.arch ?? process.arch;
  const prctl = PRCTL_SYSCALL[arch];
  if (prctl === undefined) throw new Error(`defrost supports x64 and arm64 Linux, not ${arch}`);
  if (command.length === 0) throw new Error('no command to run');
  const noNewPrivs = o.noNewPrivs ?? !hasCapSysAdmin();
  return {
    file: 'perl',
    args: [
      '-e',
      EXEC_UNDER_FILTER,
      String(prctl),
      noNewPrivs ? '1' : '0',
      ioUringFilterProgram().toString('hex'),
      o.program ?? command[0]!,
      ...command,
    ],
  };
}
