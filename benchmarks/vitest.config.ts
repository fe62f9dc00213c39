import { defrostTestProjects } from '../vitest.shared.js';

// The whole bench runs in the integration test: minutes rather than seconds.
export default defrostTestProjects({ integration: { testTimeout: 600_000, hookTimeout: 120_000 } });
