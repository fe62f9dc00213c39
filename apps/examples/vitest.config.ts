import { defrostTestProjects } from '../../vitest.shared.js';

// Each integration file freezes one real app once (warm-up, rehearsal, dump) and restores it a
// few times; the PostgreSQL file also starts a database server.
export default defrostTestProjects({
  unit: { testTimeout: 30_000 },
  integration: { testTimeout: 120_000, hookTimeout: 240_000 },
});
