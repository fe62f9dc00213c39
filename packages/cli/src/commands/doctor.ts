import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DoctorCheck, type DoctorReport, INSTALL_COMMAND, runDoctor } from '@defrost/core/internal';
import type { Command } from 'commander';
import { childEnd } from '../child.js';
import { EXIT } from '../exit-codes.js';
import { examples, type Run } from '../help.js';
import { colorEnabled, type Io, type Styles, stylesFor } from '../output.js';

export interface DoctorArgs {
  readonly json?: boolean;
  readonly fix?: boolean;
}

/**
 * scripts/install-criu.sh of the defrost repository this CLI belongs to: searched upwards from
 * the package (packages/cli/dist/commands -> repository root). DEFROST_INSTALL_CRIU_SCRIPT overrides.
 */
export function findInstallScript(env: NodeJS.ProcessEnv): string | undefined {
  if (env.DEFROST_INSTALL_CRIU_SCRIPT) {
    return existsSync(env.DEFROST_INSTALL_CRIU_SCRIPT) ? resolve(env.DEFROST_INSTALL_CRIU_SCRIPT) : undefined;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'scripts', 'install-criu.sh');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** dist/defrost-fast-restore, next to this module (bundled: dist/bin.js; unbundled: dist/commands/). */
export function fastRestoreBinary(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const dist = basename(here) === 'commands' ? dirname(here) : here;
  return join(dist, 'defrost-fast-restore');
}

const MARK: Record<DoctorCheck['status'], (s: Styles) => string> = {
  pass: (s) => s.green('pass'),
  warn: (s) => s.yellow('warn'),
  fail: (s) => s.red('FAIL'),
};

export function formatReport(report: DoctorReport, s: Styles): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`[${MARK[c.status](s)}] ${s.bold(c.title)}: ${c.detail}`);
    if (c.fix && c.status !== 'pass') lines.push(`       ${s.dim('fix:')} ${c.fix}`);
  }
  const { pass, warn, fail } = report.counts;
  const verdict = report.ok
    ? s.green(warn > 0 ? 'ready (with warnings)' : 'ready')
    : s.red('not ready: fix the failed checks above');
  lines.push('', `${pass} passed, ${warn} warnings, ${fail} failed: ${verdict}`);
  return `${lines.join('\n')}\n`;
}

async function installCriu(io: Io, s: Styles): Promise<boolean> {
  const script = findInstallScript(io.env);
  if (!script) {
    io.stderr.write(
      `defrost: cannot find scripts/install-criu.sh near this defrost installation; install CRIU >= 4.2 by hand: \`${INSTALL_COMMAND}\` in a checkout of the defrost repository (Debian 12), or your distribution's criu >= 4.2 and libcriu2\n`,
    );
    return false;
  }
  const bash = existsSync('/bin/bash') ? '/bin/bash' : 'bash';
  io.stderr.write(`${s.bold(`defrost: running ${bash} ${script}`)}\n`);
  const child = spawn(bash, [script], { stdio: ['ignore', 'inherit', 'inherit'], env: io.env });
  const end = await childEnd(child);
  if (end.status !== 0) {
    io.stderr.write(
      s.red(
        `defrost: ${script} ${end.error ? `could not start (${end.error.code})` : `failed (exit ${end.status})`}\n`,
      ),
    );
    return false;
  }
  return true;
}

export async function doctorCommand(args: DoctorArgs, io: Io): Promise<number> {
  const s = stylesFor(colorEnabled(io.stdout, io.env));
  const doctor = () => runDoctor({ env: io.env, fastRestoreBinary: fastRestoreBinary() });
  let report = await doctor();
  if (args.fix) {
    if (report.needsCriuInstall) {
      if (!args.json) io.stdout.write(formatReport(report, s));
      const installed = await installCriu(io, s);
      if (installed) {
        io.stderr.write('defrost: checking again\n');
        report = await doctor();
      }
    } else if (!args.json) {
      io.stderr.write(
        'defrost: --fix: CRIU is installed and recent; nothing to install (other fixes are listed below)\n',
      );
    }
  }
  io.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, s));
  return report.ok ? EXIT.OK : EXIT.ENV_NOT_READY;
}

export function registerDoctorCommand(program: Command, io: Io, run: Run): void {
  program
    .command('doctor')
    .description('check that this machine can checkpoint and restore (CRIU, kernel, privileges, Node)')
    .option('--json', 'print the report as JSON')
    .option('--fix', 'install CRIU >= 4.2 (scripts/install-criu.sh) when it is missing or too old')
    .addHelpText(
      'after',
      `${examples(['$ defrost doctor', '$ defrost doctor --json | jq \'.checks[] | select(.status != "pass")\'', '$ sudo defrost doctor --fix'])}

Exits 3 when a check fails, 0 otherwise (warnings included).`,
    )
    .action((o: { json?: boolean; fix?: boolean }) => run(doctorCommand(o, io)));
}
