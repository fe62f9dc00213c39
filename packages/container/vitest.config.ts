import { defineConfig } from 'vitest/config';

/**
 * `unit`: the deployment files in docs/deploy against Kubernetes' schema (fast, every Node).
 * `containers`: podman, buildah, network namespaces and real CRIU (build a container image,
 * restore it in containers, four hosts through a registry). Heavy: scripts/test.sh runs it once
 * per CI run, on the default Node, not once per Node version.
 */
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      {
        test: {
          name: 'containers',
          include: ['test/containers/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
