import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import defrost, { DefrostOptionsError } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';

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

  it.each([
    [{ warmpu: {} }, /warmpu is not an option; did you mean warmup\? \(valid: checkpoint, warmup, audit/],
    [{ warmup: { round: 3 } }, /warmup\.round is not an option; did you mean warmup\.rounds\?/],
    [
      { audit: { tcpConection: 'warn' } },
      /audit\.tcpConection is not an option; did you mean audit\.tcpConnection\?/,
    ],
    [
      { audit: { tcpConnection: 'maybe' } },
      /audit\.tcpConnection must be "error" or "warn" or "ignore", got "maybe"/,
    ],
    [{ auditPolicy: { tcpConnection: 'warn' } }, /auditPolicy is not an option; did you mean audit\?/],
    [{ heap: { shrinks: false } }, /heap\.shrinks is not an option; did you mean heap\.shrink\?/],
    [
      { warmup: { requests: [{ url: '/', methd: 'GET' }] } },
      /warmup\.requests\[0\]\.methd is not an option; did you mean warmup\.requests\[0\]\.method\?/,
    ],
    [{ zzz: 1 }, /zzz is not an option \(valid: /],
  ])('names an unknown option %j and the nearest valid one', (options, message) => {
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
