import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import defrost, { DefrostOptionsError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { defaultRequests, isExpectedStatus, warmupPlan } from '../../src/warmup/plan.js';

describe('plugin options', () => {
  it('does nothing unless a checkpoint is asked for', () => {
    expect(resolveOptions({ env: {} }).checkpoint).toBeUndefined();
  });

  it('takes the checkpoint request from the environment `defrost checkpoint` sets', () => {
    const resolved = resolveOptions({
      env: {
        DEFROST_CHECKPOINT_IMAGE: '/img',
        DEFROST_CHECKPOINT_MODE: 'continue',
        DEFROST_CHECKPOINT_FORCE: '1',
        DEFROST_PROGRESS_FILE: '/p',
      },
    });
    expect(resolved.checkpoint).toEqual({ imageDir: '/img', mode: 'continue', force: true });
    expect(resolved.progressFile).toBe('/p');
  });

  it('prefers explicit options over the environment', () => {
    const resolved = resolveOptions({
      checkpoint: { imageDir: '/mine' },
      env: { DEFROST_CHECKPOINT_IMAGE: '/env' },
    });
    expect(resolved.checkpoint?.imageDir).toBe('/mine');
    expect(resolved.checkpoint?.mode).toBe('exit');
  });

  it('rehearses the freeze unless told not to, by option or by DEFROST_REHEARSE=0', () => {
    expect(resolveOptions({ env: {} }).rehearse).toBe(true);
    expect(resolveOptions({ env: { DEFROST_REHEARSE: '0' } }).rehearse).toBe(false);
    expect(resolveOptions({ rehearse: false, env: {} }).rehearse).toBe(false);
    expect(resolveOptions({ rehearse: true, env: { DEFROST_REHEARSE: '0' } }).rehearse).toBe(true);
  });

  it('never takes a signing key into the process being frozen', () => {
    const resolved = resolveOptions({
      env: { DEFROST_CHECKPOINT_IMAGE: '/img', DEFROST_SIGNING_KEY: 'secret' },
    });
    expect(JSON.stringify(resolved)).not.toContain('secret');
  });

  it.each([
    [{ warmup: { rounds: 0 } }, /warmup\.rounds must be a positive integer, got 0/],
    [{ warmup: { concurrency: 1.5 } }, /warmup\.concurrency must be a positive integer/],
    [
      { warmup: { requests: [{ url: 'posts/1' }] } },
      /warmup\.requests\[0\]\.url must be a path starting with "\/", got "posts\/1"/,
    ],
    [{ warmup: { requests: 'all' } }, /warmup\.requests must be an array or a function/],
    [{ warmup: { expectStatus: [] } }, /warmup\.expectStatus must be a non-empty array/],
    [{ checkpoint: { imageDir: '' } }, /checkpoint\.imageDir must be a non-empty path/],
    [
      { checkpoint: { imageDir: '/i', mode: 'later' } },
      /checkpoint\.mode must be "exit" or "continue", got "later"/,
    ],
    [{ heap: { rewarmRounds: -1 } }, /heap\.rewarmRounds must be an integer >= 0/],
    [{ drainTimeoutMs: -5 }, /drainTimeoutMs must be a positive integer/],
    [{ rehearse: 'yes' }, /rehearse must be true or false, got "yes"/],
    [{ warmup: { clientHeaders: [] } }, /warmup\.clientHeaders must be a non-empty array of header objects/],
    [{ warmup: { clientHeaders: [{ accept: 1 }] } }, /warmup\.clientHeaders must be a non-empty array/],
  ])('refuses %j with a specific message', (options, message) => {
    expect(() => resolveOptions({ env: {}, ...(options as object) })).toThrow(message);
  });

  it('fails registration with the options error, not a stack from deep inside', async () => {
    const app = Fastify();
    app.register(defrost, { warmup: { rounds: -1 }, env: {} });
    await expect(app.ready()).rejects.toThrow(DefrostOptionsError);
    await app.close();
  });

  it('decorates the instance and leaves a normal app alone', async () => {
    const app = Fastify();
    await app.register(defrost, { env: {} });
    app.get('/', async () => 'ok');
    await app.ready();
    expect(app.defrost.restored).toBe(false);
    await expect(app.defrost.done).resolves.toBeUndefined();
    expect((await app.inject('/')).body).toBe('ok');
    await app.close();
  });
});

describe('warm-up plan', () => {
  it('by default warms every parameterless GET route', () => {
    expect(
      defaultRequests([
        { method: 'GET', url: '/' },
        { method: ['GET', 'HEAD'], url: '/feed.xml' },
        { method: 'GET', url: '/posts/:slug' },
        { method: 'GET', url: '/static/*' },
        { method: 'POST', url: '/comments' },
        { method: 'GET', url: '/' },
      ]),
    ).toEqual([
      { method: 'GET', url: '/' },
      { method: 'GET', url: '/feed.xml' },
    ]);
  });

  it('runs a few hundred rounds unless told otherwise, or a time budget', () => {
    expect(warmupPlan({}, [{ method: 'GET', url: '/' }]).rounds).toBe(300);
    const timed = warmupPlan({ durationMs: 2000 }, []);
    expect(timed.rounds).toBe(Number.POSITIVE_INFINITY);
    expect(timed.durationMs).toBe(2000);
  });

  it('accepts a function of the round', () => {
    const plan = warmupPlan({ requests: (round) => [{ url: `/page/${round}` }] }, []);
    expect(plan.requestsFor(3)).toEqual([{ url: '/page/3' }]);
  });

  it('counts 2xx and 3xx as success unless told which statuses', () => {
    expect(isExpectedStatus(200, undefined)).toBe(true);
    expect(isExpectedStatus(304, undefined)).toBe(true);
    expect(isExpectedStatus(404, undefined)).toBe(false);
    expect(isExpectedStatus(404, [404])).toBe(true);
  });
});
