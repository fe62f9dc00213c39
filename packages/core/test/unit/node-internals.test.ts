/**
 * What defrost reaches inside the node binary, checked on the Node that runs the tests (CI runs
 * them on every supported version): V8's memory-pressure call for the heap shrink, OpenSSL's
 * RAND_poll for the per-copy reseed. A missing symbol must degrade, never fail a checkpoint.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ioUringFilterProgram, withoutIoUring } from '../../src/launch/io-uring-filter.js';
import { bindMemoryPressure, shrinkHeap } from '../../src/native/v8-heap.js';

describe(`node internals on ${process.version}`, () => {
  it("exports V8's Isolate::GetCurrent and MemoryPressureNotification (the heap shrink)", () => {
    expect(bindMemoryPressure()).not.toHaveProperty('missing');
  });

  it('a missing V8 symbol degrades the shrink to a plain collection with a warning', async () => {
    const missing = bindMemoryPressure({
      getCurrent: '_ZN2v87Isolate10GetCurrentEv',
      memoryPressure: 'no_such_v8_symbol',
    });
    expect(missing).toHaveProperty('missing');
    let collected = 0;
    const result = await shrinkHeap(() => collected++, missing);
    expect(collected).toBe(1);
    expect(result.shrunk).toBe(false);
    expect(result.warning).toMatch(/does not export V8's memory-pressure call .*no_such_v8_symbol/);
  });

  it('the real shrink runs and reports it shrank', async () => {
    expect(await shrinkHeap()).toEqual({ shrunk: true });
  });

  it("reaches OpenSSL's RAND_poll in the node binary (the per-copy reseed)", () => {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const poll = koffi.load(null as unknown as string).func('int RAND_poll()') as () => number;
    expect(poll()).toBe(1);
  });
});

describe('the io_uring filter program', () => {
  it('denies io_uring_setup (425, native and x32) with ENOSYS and allows everything else', () => {
    const program = ioUringFilterProgram();
    const at = (i: number) => ({
      code: program.readUInt16LE(i * 8),
      jt: program.readUInt8(i * 8 + 2),
      jf: program.readUInt8(i * 8 + 3),
      k: program.readUInt32LE(i * 8 + 4),
    });
    expect(program.length).toBe(5 * 8);
    expect(at(0)).toEqual({ code: 0x20, jt: 0, jf: 0, k: 0 });
    expect(at(1)).toEqual({ code: 0x15, jt: 2, jf: 0, k: 425 });
    expect(at(2)).toEqual({ code: 0x15, jt: 1, jf: 0, k: 0x4000_01a9 });
    expect(at(3)).toEqual({ code: 0x06, jt: 0, jf: 0, k: 0x7fff_0000 });
    expect(at(4)).toEqual({ code: 0x06, jt: 0, jf: 0, k: 0x0005_0026 });
  });

  it('runs the command through perl with the prctl number of the architecture', () => {
    expect(
      withoutIoUring(['node', 'app.js'], {
        arch: 'x64',
        noNewPrivs: false,
        program: '/usr/bin/node',
      }).args.slice(2),
    ).toEqual(['157', '0', ioUringFilterProgram().toString('hex'), '/usr/bin/node', 'node', 'app.js']);
    expect(withoutIoUring(['node'], { arch: 'arm64', noNewPrivs: true }).args.slice(2, 4)).toEqual([
      '167',
      '1',
    ]);
    expect(() => withoutIoUring(['node'], { arch: 'ia32' })).toThrow(/x64 and arm64 Linux, not ia32/);
    expect(() => withoutIoUring([])).toThrow(/no command/);
  });
});
