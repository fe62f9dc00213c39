/**
 * The command line that restores one copy of an image.
 *
 * - `unshare --pid --fork --mount-proc` gives every copy its own PID namespace, so one image can be
 *   restored many times at once (the frozen PIDs are free in each new namespace), and a private
 *   mount namespace. `--kill-child` takes the whole namespace down when unshare dies, and
 *   `setpriv --pdeathsig KILL` makes unshare die with the process that restored it: a supervisor
 *   that is killed never leaves an unsupervised server behind.
 * - CRIU probes kernel features on every run (~45-60 ms here) unless it finds its cache in
 *   /run/criu.kdat on a tmpfs. Inside the private mount namespace a small tmpfs is mounted on /run
 *   holding a copy of the cache kept in /var/cache/defrost; the host's /run is never touched. At
 *   `post-restore` (tasks restored, not yet resumed) an action script saves a fresh cache when
 *   asked and unmounts the tmpfs, so the restored server sees the host's /run as before.
 * - With lazy pages, a `criu lazy-pages` daemon is started inside the same namespace first (so it
 *   dies with it) and memory is filled through userfaultfd instead of before resuming.
 * - `criu restore` in the foreground does not pass on the server's exit status; `--exec-cmd`
 *   replaces it, after a successful restore, by a tiny reaper that waits for the restored server
 *   and exits with its status (128+N for signal N), which the namespace's shell passes on. perl is
 *   Essential on Debian and starts in ~2 ms.
 */
/**
 * What a copy inherits, by CRIU --inherit-fd key: descriptors 3-7 of the restore command (0 is
 * /dev/null, 1 and 2 CRIU's own output). The native launcher (packages/cli/native) sets up the
 * same layout. Undefined for images made before the images directory became a key.
 */
export function inheritedDescriptors(stdio: {
  readonly stdoutKey: string;
  readonly stderrKey: string;
  readonly controlInKey: string;
  readonly controlOutKey: string;
  readonly imagesDirKey?: string | undefined;
}): { fd: number; key: string }[] | undefined {
  if (!stdio.imagesDirKey) return undefined;
  return [
    { fd: 3, key: stdio.stdoutKey },
    { fd: 4, key: stdio.stderrKey },
    { fd: 5, key: stdio.controlInKey },
    { fd: 6, key: stdio.controlOutKey },
    { fd: 7, key: stdio.imagesDirKey },
  ];
}

export interface RestoreCommandInput {
  readonly imageDir: string;
  /** A private directory (0700) for logs, sockets and the action script. */
  readonly workDir: string;
  readonly logLevel: number;
  /** PID of the frozen server inside its namespace (the manifest's process.pid). */
  readonly serverPid: number;
  /** CRIU --inherit-fd keys from the manifest, and the launcher's descriptor numbers for each. */
  readonly inherit: readonly { readonly fd: number; readonly key: string }[];
  readonly criuBinary?: string;
  /** The kernel-feature cache to load (when present) and where to save a fresh one (when asked). */
  readonly kdat?: { readonly load?: string; readonly save?: string };
  readonly lazyPages?: boolean;
  /** The action script's path (written by the launcher with `ACTION_SCRIPT`). */
  readonly actionScript: string;
}

const REAPER =
  'my $root = shift; while ((my $p = wait) > 0) { next unless $p == $root; my $s = $?; exit($s & 127 ? 128 + ($s & 127) : $s >> 8); } exit 255';

/** Runs inside the namespace before criu: the /run tmpfs with the cache, the lazy-pages daemon. */
const PRELUDE = [
  'set -e',
  'mount -t tmpfs -o size=1m,mode=0755 defrost-kdat /run',
  'if [ -n "$DEFROST_KDAT_LOAD" ]; then cp "$DEFROST_KDAT_LOAD" /run/criu.kdat 2>/dev/null || true; fi',
  'if [ -n "$DEFROST_LAZY_PAGES" ]; then',
  '  [ -n "$DEFROST_LAZY_DAEMON" ] || DEFROST_LAZY_DAEMON=$DEFROST_CRIU',
  '  "$DEFROST_LAZY_DAEMON" lazy-pages --images-dir "$DEFROST_IMAGES" --work-dir "$DEFROST_WORK" --log-file "$DEFROST_WORK/lazy-pages.log" -v4 --daemon >/dev/null 2>&1 || exit 90',
  'fi',
  // Not exec: this shell stays PID 1 of the namespace, so orphans (the lazy-pages daemon once
  // it is done) are reparented to it. Were criu PID 1, it would take the daemon's exit for the
  // death of a restored task and fail the restore ("Task N is in unexpected state").
  '"$@"',
].join('\n');

/**
 * Runs first, outside the namespace: leaves a janitor behind that removes the copy's private
 * directory once the restorer is gone, however it went (SIGKILL included, when nothing of the
 * restorer runs any more). The janitor waits for end-of-file on descriptor 8, whose other end
 * only the restorer holds; a restorer that ends normally removes the directory itself and closes
 * its end, and the janitor finds nothing left to do. It keeps none of the copy's descriptors:
 * the restorer learns that the copy is gone from their end-of-file too.
 */
const JANITOR = [
  'dir=$1; shift',
  '(trap \'\' INT TERM HUP; read -r _ <&8; rm -rf -- "$dir") </dev/null >/dev/null 2>&1 3>&- 4>&- 5<&- 6>&- 7<&- &',
  'exec 8<&-',
  'exec "$@"',
].join('\n');

/** The descriptor of the restore command whose other end the restorer holds (see JANITOR). */
export const JANITOR_FD = 8;

/** Exit status of the prelude when the lazy-pages daemon did not start. */
export const LAZY_DAEMON_FAILED = 90;

/** CRIU action script: at post-restore, save the kernel-feature cache if asked and give /run back. */
export const ACTION_SCRIPT = `#!/bin/sh
[ "$CRTOOLS_SCRIPT_ACTION" = post-restore ] || exit 0
if [ -n "$DEFROST_KDAT_SAVE" ] && [ -s /run/criu.kdat ]; then
  cp /run/criu.kdat "$DEFROST_KDAT_SAVE.tmp.$$" && mv -f "$DEFROST_KDAT_SAVE.tmp.$$" "$DEFROST_KDAT_SAVE"
fi
umount -l /run
exit 0
`;

export interface RestoreCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** Variables the prelude and the action script read. */
  readonly env: Readonly<Record<string, string>>;
}

export function restoreCommand(input: RestoreCommandInput): RestoreCommand {
  const criu = input.criuBinary ?? 'criu';
  const criuArgs = [
    criu,
    'restore',
    '--images-dir',
    input.imageDir,
    '--work-dir',
    input.workDir,
    '--shell-job',
    '--log-file',
    `${input.workDir}/restore.log`,
    `-v${input.logLevel}`,
    '--action-script',
    input.actionScript,
  ];
  for (const { fd, key } of input.inherit) criuArgs.push('--inherit-fd', `fd[${fd}]:${key}`);
  if (input.lazyPages) criuArgs.push('--lazy-pages');
  criuArgs.push('--exec-cmd', '--', 'perl', '-e', REAPER, String(input.serverPid));
  return {
    file: '/bin/sh',
    args: [
      '-c',
      JANITOR,
      'defrost-janitor',
      input.workDir,
      'setpriv',
      '--pdeathsig',
      'KILL',
      'unshare',
      '--pid',
      '--fork',
      '--mount-proc',
      '--kill-child',
      '/bin/sh',
      '-c',
      PRELUDE,
      'defrost-restore',
      ...criuArgs,
    ],
    env: {
      DEFROST_CRIU: criu,
      DEFROST_IMAGES: input.imageDir,
      DEFROST_WORK: input.workDir,
      ...(input.kdat?.load ? { DEFROST_KDAT_LOAD: input.kdat.load } : {}),
      ...(input.kdat?.save ? { DEFROST_KDAT_SAVE: input.kdat.save } : {}),
      ...(input.lazyPages ? { DEFROST_LAZY_PAGES: '1' } : {}),
    },
  };
}

/** Exit status as a shell reports it: the code, or 128+N when ended by signal N. */
export function exitStatusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (signals[signal] ?? 1) : 1);
}
