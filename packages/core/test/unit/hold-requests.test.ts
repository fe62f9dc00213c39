import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { holdRequests } from '../../src/lifecycle/hold-requests.js';

describe('holdRequests', () => {
  it('queues request events while held and replays them in order to the original listeners', () => {
    const server = new EventEmitter();
    const seen: string[] = [];
    server.on('request', (req: string) => seen.push(`a:${req}`));
    server.on('request', (req: string) => seen.push(`b:${req}`));
    const hold = holdRequests([server]);
    server.emit('request', '1');
    server.emit('request', '2');
    expect(seen).toEqual([]);
    expect(hold.held).toBe(2);
    hold.release();
    expect(seen).toEqual(['a:1', 'b:1', 'a:2', 'b:2']);
    server.emit('request', '3');
    expect(seen.slice(4)).toEqual(['a:3', 'b:3']);
    hold.release();
    expect(seen).toHaveLength(6);
  });

  it('leaves alone the events the server does not listen to, and keeps once-listeners one-shot', () => {
    const server = new EventEmitter();
    let upgrades = 0;
    server.once('upgrade', () => upgrades++);
    const hold = holdRequests([server]);
    expect(server.listenerCount('stream')).toBe(0);
    expect(server.listenerCount('request')).toBe(0);
    server.emit('upgrade');
    hold.release();
    expect(upgrades).toBe(1);
    server.emit('upgrade');
    expect(upgrades).toBe(1);
  });
});
