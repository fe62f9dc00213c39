/**
 * The command line that restores one copy of an image.
 *
 * `unshare --pid --fork --mount-proc` gives every copy its own PID namespace, so one image can be
 * restored many times at once (the frozen PIDs are free in each new namespace). `--kill-child`
 * takes the whole namespace down when the launcher dies. `criu restore` without
 * `--restore-detached` would stay PID 1 of the namespace but does not pass on the server's exit
 * status; `--exec-cmd` replaces it, after a successful restore, by a tiny reaper that waits for
 * the restored server and exits with its status (128+N for signal N). perl is Essential on
 * Debian, starts in ~2 ms, and its wait() reaps any child, which is what PID 1 must do.
 */
export interface RestoreCommandInput {
  readonly imageDir: string;
  readonly logFile: string;
  readonly logLevel: number;
  /** PID of the frozen server inside its namespace (the manifest's process.pid). */
  readonly serverPid: number;
  /** CRIU --inherit-fd keys from the manifest, and the launcher's descriptor numbers for each. */
  readonly inherit: readonly { readonly fd: number; readonly key: string }[];
  readonly criuBinary?: string;
  readonly lazyPages?: boolean;
}

const REAPER =
  'my $root = shift; while ((my $p = wait) > 0) { next unless $p == $root; my $s = $?; exit($s & 127 ? 128 + ($s & 127) : $s >> 8); } exit 255';

export interface RestoreCommand {
  readonly file: string;
  readonly args: readonly string[];
}

export function restoreCommand(input: RestoreCommandInput): RestoreCommand {
  const args = [
    '--pid',
    '--fork',
    '--mount-proc',
    '--kill-child',
    input.criuBinary ?? 'criu',
    'restore',
    '--images-dir',
    input.imageDir,
    '--shell-job',
    '--log-file',
    input.logFile,
    `-v${input.logLevel}`,
  ];
  for (const { fd, key } of input.inherit) args.push('--inherit-fd', `fd[${fd}]:${key}`);
  if (input.lazyPages) args.push('--lazy-pages');
  args.push('--exec-cmd', '--', 'perl', '-e', REAPER, String(input.serverPid));
  return { file: 'unshare', args };
}

/** Exit status as a shell reports it: the code, or 128+N when ended by signal N. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (signals[signal] ?? 1) : 1);
}
