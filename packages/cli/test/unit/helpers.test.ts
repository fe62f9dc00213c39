import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../src/child.js';
import { appEnv, withExposeGc } from '../../src/commands/checkpoint/env.js';
import { combinedStatus } from '../../src/commands/restore.js';
import { envPair, port, positiveInt, restoreEnv, seconds } from '../../src/options.js';
import { colorEnabled, shellQuote } from '../../src/output.js';
import { describeEvent, parseProgressLine } from '../../src/progress.js';

describe('checkpoint environment', () => {
  it('adds --expose-gc to NODE_OPTIONS once', () => {
    expect(withExposeGc(undefined)).toBe('--expose-gc');
    expect(withExposeGc('--max-old-space-size=512')).toBe('--max-old-space-size=512 --expose-gc');
    expect(withExposeGc('--expose-gc --trace-warnings')).toBe('--expose-gc --trace-warnings');
    expect(withExposeGc('--expose_gc')).toBe('--expose_gc');
  });
  it('sets the variables the plugin and the agent read, preloads the agent, and drops inherited ones', () => {
    const env = appEnv(
      {
        PATH: '/bin',
        DEFROST_CHECKPOINT_FORCE: '1',
        DEFROST_SIGNING_KEY: 'stray',
        DEFROST_RUN_DIR: '/x',
        UV_USE_IO_URING: '1',
      },
      {
        checkpoint: { imageDir: 'images/app', keepRunning: false, force: false },
        progressFile: '/tmp/p.jsonl',
        agent: '{"warmup":{}}',
        agentFile: '/opt/defrost/dist/agent.js',
      },
    );
    expect(env.DEFROST_CHECKPOINT_IMAGE).toMatch(/^\/.*images\/app$/);
    expect(env.DEFROST_CHECKPOINT_MODE).toBe('exit');
    expect(env.DEFROST_CHECKPOINT_FORCE).toBeUndefined();
    expect(env.DEFROST_SIGNING_KEY).toBeUndefined();
    expect(env.DEFROST_RUN_DIR).toBeUndefined();
    expect(env.DEFROST_PROGRESS_FILE).toBe('/tmp/p.jsonl');
    expect(env.DEFROST_AGENT).toBe('{"warmup":{}}');
    // io_uring is kept out by the launch (a seccomp filter), not by a variable libuv >= 1.51 ignores.
    expect(env.UV_USE_IO_URING).toBe('1');
    expect(env.NODE_OPTIONS).toBe('--import /opt/defrost/dist/agent.js --expose-gc');
    expect(env.PATH).toBe('/bin');
    const cont = appEnv(
      { NODE_OPTIONS: '--max-old-space-size=512' },
      {
        checkpoint: { imageDir: '/i', keepRunning: true, force: true },
        agent: '{}',
        agentFile: '/my dir/agent.js',
      },
    );
    expect(cont.DEFROST_CHECKPOINT_MODE).toBe('continue');
    expect(cont.DEFROST_CHECKPOINT_FORCE).toBe('1');
    expect(cont.NODE_OPTIONS).toBe('--import "/my dir/agent.js" --max-old-space-size=512 --expose-gc');
    const run = appEnv({}, { runDir: '/run/d', agent: '{}' });
    expect(run.DEFROST_RUN_DIR).toBe('/run/d');
    expect(run.DEFROST_CHECKPOINT_IMAGE).toBeUndefined();
  });
});

describe('option values', () => {
  it('parses numbers or says what was expected', () => {
    expect(positiveInt('3')).toBe(3);
    expect(() => positiveInt('0')).toThrow(InvalidArgumentError);
    expect(() => positiveInt('2.5')).toThrow(/positive whole number/);
    expect(port('0')).toBe(0);
    expect(() => port('70000')).toThrow(/0 to 65535/);
    expect(seconds('1.5')).toBe(1.5);
    expect(() => seconds('-1')).toThrow(/greater than 0/);
  });
  it('collects KEY=VALUE pairs', () => {
    expect(envPair('B=x=y', envPair('A=1'))).toEqual([
      ['A', '1'],
      ['B', 'x=y'],
    ]);
    expect(envPair('EMPTY=')).toEqual([['EMPTY', '']]);
    expect(() => envPair('novalue')).toThrow(/KEY=VALUE/);
    expect(() => envPair('1BAD=x')).toThrow(/KEY=VALUE/);
  });
});

describe('progress lines', () => {
  it('parses known events and ignores the rest', () => {
    expect(parseProgressLine('{"step":"freezing","at":1}')).toEqual({ step: 'freezing', at: 1 });
    expect(parseProgressLine('{"step":"nonsense"}')).toBeUndefined();
    expect(parseProgressLine('not json')).toBeUndefined();
    expect(parseProgressLine('{"step":"failed"}')).toEqual({
      step: 'failed',
      message: 'the app reported a failure without a message',
    });
  });
  it('describes them', () => {
    expect(describeEvent({ step: 'warmup', requests: 50, rounds: 25, totalRounds: 300 })).toBe(
      'warming up: 50 requests, round 25/300',
    );
    expect(
      describeEvent({
        step: 'checkpointed',
        imageDir: '/i',
        durationMs: 150,
        totalBytes: 45 * 2 ** 20,
        files: 20,
      }),
    ).toBe('image written: 45.0 MiB in 20 files, dump took 150 ms');
  });
});

describe('output and statuses', () => {
  it('uses colour only on a TTY, NO_COLOR wins, FORCE_COLOR forces', () => {
    expect(colorEnabled({ isTTY: true }, {})).toBe(true);
    expect(colorEnabled({ isTTY: false }, {})).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
    expect(colorEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });
  it('quotes commands for display', () => {
    expect(shellQuote(['node', 'app.js'])).toBe('node app.js');
    expect(shellQuote(['node', '-e', "console.log('hi')"])).toBe(`node -e 'console.log('\\''hi'\\'')'`);
  });
  it('exit statuses', () => {
    expect(statusOf(3, null)).toBe(3);
    expect(statusOf(null, 'SIGTERM')).toBe(143);
    expect(statusOf(null, 'SIGKILL')).toBe(137);
    expect(combinedStatus([0, 0])).toBe(0);
    expect(combinedStatus([0, 42, 1])).toBe(42);
  });
});

describe('--env-file', () => {
  it('reads dotenv files as dotenv does, escaped quotes included (which util.parseEnv cuts short)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'defrost-env-'));
    try {
      const file = join(dir, '.env');
      await writeFile(file, '# comment\nexport A=1\nB="two words # not a comment"\nM="a \\"quote\\""\n');
      expect(await restoreEnv(file, [['B', 'flag wins']])).toEqual({
        A: '1',
        B: 'flag wins',
        M: 'a \\"quote\\"',
      });
      expect(parseEnv('M="a \\"quote\\""\n').M).toBe('a \\');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
