import { defrostTestProjects } from '../../vitest.shared.js';

// A real server process and a real browser per integration file.
export default defrostTestProjects({
  unit: { testTimeout: 30_000, hookTimeout: 60_000 },
  integration: { testTimeout: 120_000, hookTimeout: 120_000 },
});
