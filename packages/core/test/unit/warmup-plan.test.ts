import { describe, expect, it } from 'vitest';
import { defaultRequests, isExpectedStatus, warmupPlan } from '../../src/warmup/plan.js';

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
