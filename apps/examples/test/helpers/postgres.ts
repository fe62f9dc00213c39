/**
 * A real PostgreSQL server for one test file (Debian's postgresql-15, installed by
 * scripts/install-test-tools.sh): initdb into a temporary directory, `postgres` on a free port of
 * 127.0.0.1 with its socket in that directory, stopped by PID and removed at the end. PostgreSQL
 * refuses to run as root, so as root it runs as the `postgres` user (spawn's uid/gid).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitForPidGone } from '@defrost/core/internal';
import { freePort, track } from '@defrost/core/testing';
import pg from 'pg';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly pid: number;
  /** A fast shutdown (SIGINT); resolves once the server is gone and its directory removed. */
  stop(): Promise<void>;
}

/** The uid and gid to run as: postgres's when this is root, else this process's. */
async function runAs(): Promise<{ uid: number; gid: number }> {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const [uid, gid] = await Promise.all(['-u', '-g'].map((flag) => run('id', [flag, 'postgres'])));
  return { uid: Number(uid!.stdout), gid: Number(gid!.stdout) };
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited (${server.exitCode}):\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`postgres does not accept connections: ${error}\n${log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startPostgres(): Promise<Postgres> {
  if (!existsSync(join(BIN, 'postgres'))) {
    throw new Error(
      `PostgreSQL 15 is not installed (${BIN}/postgres): run scripts/install-test-tools.sh as root`,
    );
  }
  const user = await runAs();
  const dir = await mkdtemp(join(tmpdir(), 'defrost-pg-'));
  await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const env = { ...process.env, LC_ALL: 'C', HOME: dir };
  await run(
    join(BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--no-locale', '-E', 'UTF8', '--no-sync'],
    {
      ...user,
      env,
    },
  ).catch((error: { stderr?: string }) => {
    throw new Error(`initdb failed: ${error.stderr ?? error}`);
  });
  const port = await freePort();
  const server = spawn(
    join(BIN, 'postgres'),
    ['-D', data, '-k', dir, '-h', '127.0.0.1', '-p', String(port), '-c', 'fsync=off'],
    { ...user, env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  if (server.pid === undefined) throw new Error(`could not start ${BIN}/postgres`);
  track(server.pid);
  let log = '';
  server.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pid = server.pid;
  const stop = async (): Promise<void> => {
    if (server.exitCode === null) server.kill('SIGINT');
    if (!(await waitForPidGone(pid, 20_000))) throw new Error(`postgres (pid ${pid}) did not stop:\n${log}`);
    await rm(dir, { recursive: true, force: true });
  };
  await waitUntilReady(url, server, () => log).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, pid, stop };
}
