import { defrostTestProjects } from '../../vitest.shared.js';

// These tests run the built CLI (dist/bin.js) as child processes; the setup builds it.
export default defrostTestProjects({
  unit: { globalSetup: ['test/global-setup.ts'], testTimeout: 30_000 },
  integration: { globalSetup: ['test/global-setup.ts'], testTimeout: 120_000 },
  soak: { globalSetup: ['test/global-setup.ts'] },
});
