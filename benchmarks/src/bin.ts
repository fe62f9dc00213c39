#!/usr/bin/env node
/**
 * `pnpm bench`: cold start against defrost. Progress and the report go to stderr/stdout; with
 * --json, stdout carries exactly one JSON document and nothing else. A failed run aborts the whole
 * bench with its reason, and no number is printed or written. Every process started is stopped on
 * the way out, including on SIGINT/SIGTERM.
 */
import { rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArgsError, parseArgs, USAGE } from './args.js';
import { ProcessControl } from './process/control.js';
import { chartInput, renderChart } from './report/svg.js';
import { renderReport } from './report/table.js';
import { runBench } from './run.js';
import { PACKAGE_DIR } from './setup.js';

const err = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function timestamp(d: Date): string {
  return d.toISOString().replace(/[:.]/g, '-').replace('T', '_').slice(0, 19);
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof ArgsError) {
      err(`bench: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }

  const started = Date.now();
  const pc = new ProcessControl((m) => err(`bench: warning: ${m}`));
  let interrupted: NodeJS.Signals | undefined;
  let workDir: string | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    process.exitCode = code;
    if (interrupted) {
      pc.killAllSync();
      process.exit(code);
    }
    interrupted = signal;
    err(`\nbench: ${signal}: stopping every process it started (again to force)`);
    void pc.stopAll().finally(() => {
      if (workDir && !args.keep) rmSync(workDir, { recursive: true, force: true });
      err('bench: interrupted: every process it started is gone; no results were written');
      process.exit(code);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => pc.killAllSync());

  try {
    const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s`;
    const { document } = await runBench(args, {
      pc,
      onWorkDir: (dir) => {
        workDir = dir;
      },
      progress: (m) => err(`bench ${elapsed()} ${m}`),
      warn: (m) => err(`bench ${elapsed()} warning: ${m}`),
    });
    if (interrupted) return 128 + (interrupted === 'SIGINT' ? 2 : 15);
    const out = resolve(args.out ?? join(PACKAGE_DIR, 'results', timestamp(new Date(document.startedAt))));
    await mkdir(out, { recursive: true });
    const json = `${JSON.stringify(document, null, 2)}\n`;
    await writeFile(join(out, 'results.json'), json);
    await writeFile(join(out, 'chart.svg'), renderChart(chartInput(document)));
    if (args.json) {
      process.stdout.write(json);
    } else {
      process.stdout.write(`\n${renderReport(document)}\n\n`);
    }
    err(
      `bench: results in ${out}/results.json and chart.svg (${((Date.now() - started) / 1000).toFixed(0)} s in all)`,
    );
    if (args.keep) err(`bench: work directory kept: ${workDir}`);
    return 0;
  } catch (error) {
    // After a signal, what fails next is the consequence of stopping the servers, not a finding.
    if (interrupted) return 128 + (interrupted === 'SIGINT' ? 2 : 15);
    err(`\nbench: FAILED: ${(error as Error).message}`);
    if (!(error instanceof Error && /^(BenchError|ProbeError)$/.test(error.name)))
      err((error as Error).stack ?? '');
    err('bench: no results were written: numbers from a failed run are never reported');
    return 1;
  } finally {
    await pc.stopAll();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    err(`bench: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  },
);
