/** What every command's help shares, and how a command's action hands its exit code back. */
import type { Command } from 'commander';
import type { Io } from './output.js';

/** Runs a command's promise; main() takes its exit code. */
export type Run = (code: Promise<number>) => Promise<void>;

/** A command adds itself to the program. */
export type RegisterCommand = (program: Command, io: Io, run: Run) => void;

export function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0  done
  1  failure (the message says what happened and what to do)
  2  usage error (unknown option, missing or bad argument)
  3  environment not ready (a \`defrost doctor\` check failed, e.g. CRIU missing or < 4.2)
  4  image refused (missing, exists already, corrupt, wrongly signed, incompatible)
  5  checkpoint failed (the app failed, exited early or timed out)
  restore, run and checkpoint --keep-running exit with the server's own status once it runs
  (128+N when it was ended by signal N); restore --fallback with the cold command's.

Environment:
  NO_COLOR=1        no colour (colour is used only on a terminal anyway)
  DEFROST_DEBUG=1   stack traces with errors
  DEFROST_SIGNING_KEY_FILE   this host's signing key: every checkpoint is signed with it, and every
                    restore requires it (also /etc/defrost/signing-key, root-owned, mode 0600)
  REGISTRY_AUTH_FILE, DOCKER_CONFIG   registry credentials, as podman and docker take them`;
