import type { Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../src/agent/config.js';
import { warmupFirst } from '../../src/agent/targets.js';
import { OptionError } from '../../src/options/validate.js';

const listeningOn = (port: number) => ({
  server: { address: () => ({ address: '127.0.0.1', family: 'IPv4', port }) } as unknown as Server,
  secure: false,
});

describe('the zero-code agent', () => {
  it('warms up the last server to listen, or the one on --warmup-port', () => {
    const servers = [listeningOn(4000), listeningOn(3000)];
    expect(warmupFirst(servers, undefined).map((s) => s.server.address())).toEqual([
      servers[1]!.server.address(),
      servers[0]!.server.address(),
    ]);
    expect(warmupFirst(servers, 4000)[0]).toBe(servers[0]);
    expect(() => warmupFirst(servers, 5000)).toThrow(
      '--warmup-port 5000: the app listens on 4000, 3000, not on 5000',
    );
  });

  it('reads its settings from DEFROST_AGENT, with defaults, and names what is wrong', () => {
    expect(parseAgentConfig(undefined)).toEqual({
      warmup: {},
      audit: undefined,
      listenTimeoutMs: 30_000,
      drainTimeoutMs: 10_000,
      warmupPort: undefined,
    });
    expect(parseAgentConfig('{"warmup":false,"listenTimeoutMs":2000}')).toMatchObject({
      warmup: false,
      listenTimeoutMs: 2000,
    });
    expect(() => parseAgentConfig('{"warmup":{"rounds":0}}')).toThrow(
      /warmup\.rounds must be a positive integer/,
    );
    expect(() => parseAgentConfig('{"listenTimeout":5}')).toThrow(OptionError);
    expect(() => parseAgentConfig('{"listenTimeout":5}')).toThrow(/did you mean listenTimeoutMs/);
  });
});
