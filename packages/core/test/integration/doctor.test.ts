import { describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/doctor/index.js';

// This machine kind: Linux >= 6.16, CRIU 4.2.1 and libcriu2 installed (scripts/install-criu.sh), root.
describe('runDoctor on this machine', () => {
  it('passes the CRIU checks for real', async () => {
    const report = await runDoctor();
    const byId = (id: string) => report.checks.find((c) => c.id === id);
    for (const id of ['kernel', 'criu', 'libcriu', 'capabilities', 'criu-check', 'restore-tools']) {
      expect(byId(id)?.status, `${id}: ${byId(id)?.detail}`).toBe('pass');
    }
    expect(report.criu.version).toMatch(/^4\.(\d+)\.\d+$/);
    expect(report.needsCriuInstall).toBe(false);
    expect(report.ok).toBe(true);
    // Every non-pass says what to do.
    for (const c of report.checks) if (c.status !== 'pass') expect(c.fix, c.id).toBeTruthy();
  });
});
