import { describe, expect, it } from 'vitest';
import { ArgsError, DEFAULT_RUNS, parseArgs, QUICK_RUNS } from '../../src/args.js';

describe('parseArgs', () => {
  it('has defaults: the blog, the default run count, a table', () => {
    const a = parseArgs([]);
    expect(a).toMatchObject({
      runs: DEFAULT_RUNS,
      app: undefined,
      json: false,
      out: undefined,
      quick: false,
      keep: false,
      help: false,
    });
    expect(a.warmupRounds).toBe(1);
    expect(a.steadyWarmupMs).toBeGreaterThanOrEqual(10_000);
  });

  it('reads every option, as "--x v" and "--x=v"', () => {
    expect(
      parseArgs(['--runs', '12', '--app', 'x/server.js', '--json', '--out', '/tmp/r', '--keep']),
    ).toMatchObject({
      runs: 12,
      app: 'x/server.js',
      json: true,
      out: '/tmp/r',
      keep: true,
    });
    expect(parseArgs(['--runs=3', '--app=a.js', '--out=o'])).toMatchObject({
      runs: 3,
      app: 'a.js',
      out: 'o',
    });
  });

  it('--quick means few runs and a short steady-state warm-up, unless --runs says otherwise', () => {
    const q = parseArgs(['--quick']);
    expect(q.quick).toBe(true);
    expect(q.runs).toBe(QUICK_RUNS);
    expect(q.steadyWarmupMs).toBeLessThan(parseArgs([]).steadyWarmupMs);
    expect(parseArgs(['--quick', '--runs', '5']).runs).toBe(5);
    expect(parseArgs(['--runs', '5', '--quick']).runs).toBe(5);
  });

  it('ignores the "--" pnpm passes through', () => {
    expect(parseArgs(['--', '--json']).json).toBe(true);
  });

  it('knows -h and --help', () => {
    expect(parseArgs(['-h']).help).toBe(true);
    expect(parseArgs(['--help']).help).toBe(true);
  });

  it.each([
    [['--runs'], /--runs needs a value/],
    [['--runs', '--json'], /--runs needs a value/],
    [['--runs', '0'], /from 1 to/],
    [['--runs', '2.5'], /positive integer/],
    [['--runs', '-3'], /needs a value|positive integer/],
    [['--runs', 'many'], /positive integer/],
    [['--app'], /--app needs a value/],
    [['--out', ''], /--out needs a value/],
    [['--json=yes'], /takes no value/],
    [['--frobnicate'], /unknown argument "--frobnicate"/],
    [['server.js'], /unknown argument/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(ArgsError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});
